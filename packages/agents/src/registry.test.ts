import { AgentRegistry } from '@strata/engine';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BUILT_IN_AGENTS, registerBuiltInAgents } from './registry.ts';
import type { AgentDeps } from './types.ts';

const deps = { config: { SMTP_FROM: 'strata@localhost', AGENT_FETCH_ALLOW_HOSTS: [] }, db: {} } as unknown as AgentDeps;

describe('the agent catalog', () => {
  const catalog = registerBuiltInAgents(new AgentRegistry(), deps).catalog();

  it('lists every built-in agent with a description, a JSON Schema and an example', () => {
    expect(catalog.map((entry) => entry.type).sort()).toEqual(Object.keys(BUILT_IN_AGENTS).sort());
    for (const entry of catalog) {
      expect(entry.description, entry.type).toMatch(/\w+ .+\.$/);
      expect(entry.inputSchema, entry.type).toMatchObject({ type: 'object', properties: expect.any(Object) });
      expect(entry.example, entry.type).toBeTypeOf('object');
    }
  });

  it("gives examples that the agent's own input check accepts", () => {
    const registry = registerBuiltInAgents(new AgentRegistry(), deps);
    for (const entry of catalog) expect(registry.checkInput(entry.type, entry.example ?? {}), entry.type).toBeUndefined();
  });

  it('describes custom agents too, replacing a built-in of the same type', () => {
    const registry = registerBuiltInAgents(new AgentRegistry(), deps)
      .register('email', { inputSchema: z.object({ channel: z.string() }), description: 'Posts to chat.', run: () => null })
      .register('webhook', () => null);
    const byType = new Map(registry.catalog().map((entry) => [entry.type, entry]));
    expect(byType.get('email')).toMatchObject({ description: 'Posts to chat.', inputSchema: { required: ['channel'] }, example: null });
    expect(byType.get('webhook')).toEqual({ type: 'webhook', description: null, inputSchema: null, example: null });
  });
});
