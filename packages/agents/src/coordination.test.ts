import { describe, expect, it } from 'vitest';
import { WaitRequest } from '@strata/engine';
import { coordinationAgent } from './coordination.ts';
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
  it('merges its dependencies by key', async () => {
    const { ctx } = context({});
    const result = (await agent.run(ctx)) as { merged: Record<string, unknown> };
    expect(result.merged).toEqual({ research: { sources: 2 }, email: { delivered: 'outbox' } });
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
