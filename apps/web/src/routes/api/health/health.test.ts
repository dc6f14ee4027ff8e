import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type RunningWeb } from '../../../../test/server.ts';

let test: TestDatabase;
let web: RunningWeb;

beforeAll(async () => {
  test = await createTestDatabase();
  web = await startWeb({ DATABASE_URL: test.url });
});
afterAll(async () => {
  await web?.stop();
  await test?.drop();
});

describe('GET /api/health', () => {
  it('answers ok when the database answers', async () => {
    const response = await fetch(`${web.url}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', database: 'ok' });
  });

  it('answers 503 with the reason when the database is unreachable', async () => {
    const doomed = await createTestDatabase();
    const other = await startWeb({ DATABASE_URL: doomed.url });
    try {
      expect((await fetch(`${other.url}/api/health`)).status).toBe(200);
      await doomed.drop(); // kills the web process's connections and removes the database
      const response = await fetch(`${other.url}/api/health`);
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body).toMatchObject({ status: 'error', database: 'unreachable' });
      expect(body.error).toMatch(/does not exist|terminat/i);
    } finally {
      await other.stop();
    }
  });

  it('stops with exit code 0 on SIGTERM', async () => {
    const other = await startWeb({ DATABASE_URL: test.url });
    expect(await other.stop()).toBe(0);
  });
});
