import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DependencyResult, startExecution, WaitRequest } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { type CoordinationResult, coordinationAgent, summarise } from './coordination.ts';
import { agentContext } from './testing.ts';

const agent = coordinationAgent({ config: { SMTP_URL: undefined, SMTP_FROM: 'x', LLM_BASE_URL: undefined, LLM_MODEL: undefined, LLM_API_KEY: undefined, AGENT_FETCH_ALLOW_HOSTS: [] }, db: undefined as never });

const context = (input: Record<string, unknown>, resumedFromWait = false) =>
  agentContext({
    input,
    task: { id: 't', executionId: 'e', workspaceId: 'w', key: 'wrap', agentType: 'coordination', description: 'd', timeoutSeconds: 300, resumedFromWait },
    dependencies: [
      { taskId: 't1', key: 'research', agentType: 'research', result: { sources: 2 } },
      { taskId: 't2', key: 'email', agentType: 'email', result: { delivered: 'outbox' } },
    ],
  });

describe('coordination agent', () => {
  it('names its dependencies by reference: key, agent type, task id, size and summary, not their results', async () => {
    const { ctx } = context({});
    const result = (await agent.run(ctx)) as CoordinationResult;
    expect(result.dependencies).toEqual([
      { key: 'research', agentType: 'research', taskId: 't1', resultBytes: 13, summary: 'object with keys: sources' },
      { key: 'email', agentType: 'email', taskId: 't2', resultBytes: 22, summary: 'object with keys: delivered' },
    ]);
    expect(result).not.toHaveProperty('merged');
  });

  it('summarises any JSON value in a few characters', () => {
    const summary = (value: unknown) => summarise(value, JSON.stringify(value));
    expect(summary('short text')).toBe('short text');
    expect(summary('é'.repeat(1000))).toBe(`${'é'.repeat(200)}…`);
    expect(summary(`a${'😀'.repeat(150)}`)).toBe(`a${'😀'.repeat(99)}…`); // no half of a surrogate pair
    expect(summary([1, 2, 3])).toBe('array of 3 items');
    expect(summary({})).toBe('object with no keys');
    expect(summary(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`, i])))).toMatch(/^object with keys: key0, key1, .{150,}…$/);
    expect(summary(42)).toBe('42');
    expect(summary(null)).toBe('null');
  });

  it('does not grow with depth: each hop of a chain holds only a reference to the one before', async () => {
    let previous: DependencyResult = { taskId: 'task_0', key: 'head', agentType: 'content', result: { text: 'x'.repeat(1024 * 1024) } };
    const sizes: number[] = [];
    for (let i = 1; i <= 50; i++) {
      const { ctx } = agentContext({ input: {}, task: { id: `task_${i}`, key: `hop${i}` }, dependencies: [previous] });
      const result = await agent.run(ctx);
      sizes.push(JSON.stringify(result).length);
      previous = { taskId: `task_${i}`, key: `hop${i}`, agentType: 'coordination', result };
    }
    expect(Math.max(...sizes)).toBeLessThan(400);
    expect(new Set(sizes.slice(1).map((n) => n - 2 * String(sizes.length).length)).size).toBeLessThanOrEqual(2);
  });

  it('asks to wait on first run and merges when resumed', async () => {
    const { ctx, progress } = context({ waitSeconds: 60 });
    const before = Date.now();
    const error = await Promise.resolve(agent.run(ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitRequest);
    expect((error as WaitRequest).until.getTime()).toBeGreaterThanOrEqual(before + 59_000);
    expect(progress[0]).toMatchObject({ step: 'waiting' });
    const resumed = context({ waitSeconds: 60 }, true);
    expect(await agent.run(resumed.ctx)).toMatchObject({ waited: true });
  });

  it('waits until a given time, and not at all for a past one', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const error = await Promise.resolve(agent.run(context({ until }).ctx)).catch((e: unknown) => e);
    expect((error as WaitRequest).until.toISOString()).toBe(until);
    expect(await agent.run(context({ until: '2000-01-01T00:00:00Z' }).ctx)).toMatchObject({ waited: false });
  });

  it('refuses bad input', () => {
    const schema = agent.inputSchema!;
    expect(schema.safeParse({ waitSeconds: -1 }).success).toBe(false);
    expect(schema.safeParse({ until: 'tomorrow' }).success).toBe(false);
    expect(schema.safeParse({ waitSeconds: 5, until: '2030-01-01T00:00:00Z' }).success).toBe(false);
    expect(schema.safeParse({ waitSeconds: 5 }).success).toBe(true);
  });
});

describe('a chain of coordination tasks in the engine', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await createEngineHarness();
    h.registry.register('content', () => ({ text: 'x'.repeat(900 * 1024) }));
    h.registry.register('coordination', agent);
    await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps every result small however large the result at its head (it copied the head 50 times before)', async () => {
    const ws = await h.workspace();
    const hops = Array.from({ length: 50 }, (_, i) => ({ key: `hop${i + 1}`, description: `Hop ${i + 1}`, agentType: 'coordination', dependsOn: [i ? `hop${i}` : 'head'] }));
    const strategyId = await h.strategy(ws, [{ key: 'head', description: 'Large result', agentType: 'content' }, ...hops]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    const rows = await h.database.sql<{ key: string; bytes: number; result: CoordinationResult }[]>`
      select key, octet_length(result::text)::int as bytes, result from tasks where execution_id = ${execution.id} and agent_type = 'coordination'`;
    expect(rows).toHaveLength(50);
    expect(Math.max(...rows.map((r) => r.bytes))).toBeLessThan(512);
    const first = rows.find((r) => r.key === 'hop1')!.result.dependencies[0]!;
    expect(first).toMatchObject({ key: 'head', agentType: 'content', resultBytes: 900 * 1024 + 11, summary: 'object with keys: text' });
    const [head] = await h.database.sql`select id from tasks where execution_id = ${execution.id} and key = 'head'`;
    expect(first.taskId).toBe(head?.id);
    const tail = rows.find((r) => r.key === 'hop50')!.result.dependencies[0]!;
    expect(tail).toMatchObject({ key: 'hop49', agentType: 'coordination', summary: expect.stringMatching(/^object with keys: .*dependencies/) });
  });
});
