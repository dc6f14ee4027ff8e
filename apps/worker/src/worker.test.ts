import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@strata/config';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from './worker.ts';

let test: TestDatabase;
const logger = createLogger('worker-test', 'silent');
const children: ChildProcess[] = [];

beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => {
  // A worker process a failed test left running.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await test?.drop();
});

describe('worker', () => {
  it('creates the pg-boss schema and finishes in-flight jobs when stopped', async () => {
    let finished = false;
    let started!: () => void;
    const jobStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const worker = await startWorker({
      databaseUrl: test.url,
      logger,
      shutdownTimeoutMs: 10_000,
      register: async (boss) => {
        await boss.createQueue('slow', { notify: true });
        await boss.work('slow', async () => {
          started();
          await new Promise((r) => setTimeout(r, 700));
          finished = true;
        });
      },
    });
    const [schema] = await test.sql`select count(*)::int as n from information_schema.schemata where schema_name = 'pgboss'`;
    expect(schema?.n).toBe(1);

    const jobId = await worker.boss.send('slow', {});
    await jobStarted;
    await worker.stop();
    expect(finished).toBe(true);
    const [job] = await test.sql`select state from pgboss.job where id = ${jobId}`;
    expect(job?.state).toBe('completed');
  });

  it('runs as a process that logs ready and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, DATABASE_URL: test.url, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stderr.on('data', (d) => (output += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker not ready: ${output}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        output += d;
        if (output.includes('worker ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(output).toContain('worker stopped');
  });

  it('refuses to start without a database and says why', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, DATABASE_URL: '', PORT: 'not-a-port' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('PORT');
  });
});
