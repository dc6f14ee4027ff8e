import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '@strata/config';
import { randomId, resolveDatabase, runMigrations } from '@strata/db';
import postgres from 'postgres';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

/** A scratch database for one benchmark on the configured server (DATABASE_URL, or the embedded one). */
export async function benchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const config = loadConfigOrExit();
  const server = await resolveDatabase(config, (m) => console.log(`  ${m}`));
  const name = `strata_bench_${randomId(8)}`;
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
      await server.stop();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function machine() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.versions.node, platform: process.platform };
}

export function writeResult(name: string, result: object): void {
  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}${name}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`  wrote ${file}`);
  console.log(JSON.stringify(result, null, 2));
}
