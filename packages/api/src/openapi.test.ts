import { AgentRegistry } from '@strata/engine';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from './openapi.ts';
import { ROUTES } from './rest/routes.ts';

type Operation = {
  tags: string[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown; example?: unknown }> }>;
};
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Record<string, unknown>> } };

const doc = (agents?: AgentRegistry) => openApiDocument({ agents: agents?.catalog() }) as Doc;

describe('the OpenAPI document', () => {
  it('documents every REST route, the stream and the document itself', () => {
    const { paths } = doc();
    for (const route of ROUTES) {
      const op = paths[route.path.replace(/:([a-zA-Z]+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op?.tags).toHaveLength(1);
    }
    expect(paths['/api/executions/{id}/stream']?.get?.responses).toHaveProperty('101');
    expect(Object.keys(paths['/api/executions/{id}/stream']?.get?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    expect(paths['/api/openapi.json']).toBeDefined();
    // Several statuses go comma-separated, and the search is documented.
    const list = paths['/api/executions']?.get?.parameters ?? [];
    expect(list).toContainEqual(expect.objectContaining({ name: 'status', in: 'query', style: 'form', explode: false }));
    expect(list).toContainEqual(expect.objectContaining({ name: 'q', in: 'query', required: false }));
  });

  it('names the Idempotency-Key header on start, and gives examples for its request and answer', () => {
    const start = doc().paths['/api/executions/start']?.post;
    expect(start?.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
    expect(start?.requestBody?.content['application/json']?.example).toEqual({ strategyId: 'strat_456', workspaceId: 'ws_123' });
    expect(start?.responses['200']?.content?.['application/json']?.example).toMatchObject({ success: true, executionId: expect.stringMatching(/^exec_/) });
  });

  it('documents the re-run: an optional body naming the mode, Idempotency-Key, 201 with retryOf, 409', () => {
    const op = doc().paths['/api/executions/{id}/retry']?.post as Operation & { requestBody?: { required: boolean; content: Record<string, { schema: { properties: Record<string, { enum?: string[]; default?: string }> } }> } };
    expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
    expect(op.requestBody?.required).toBe(false);
    expect(op.requestBody?.content['application/json']?.schema.properties.mode).toMatchObject({ enum: ['failed', 'all'], default: 'failed' });
    expect(op.responses['201']?.content?.['application/json']?.example).toMatchObject({ success: true, retryOf: expect.stringMatching(/^exec_/) });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409', '429']));
  });

  it('describes every error answer as the shared Error body, with an example', () => {
    const { paths, components } = doc();
    expect(components.schemas.Error).toMatchObject({ type: 'object', required: ['error'] });
    const resume = paths['/api/executions/{id}/resume']?.post;
    for (const code of ['400', '401', '403', '404', '409', '429', '500']) {
      expect(resume?.responses[code]?.content?.['application/json'], code).toEqual({ schema: { $ref: '#/components/schemas/Error' }, example: { error: expect.any(String) } });
    }
    // A call without credentials cannot answer 401 or 403.
    expect(paths['/api/auth/login']?.post?.responses).not.toHaveProperty('401');
  });

  it("includes each agent type's input schema and example, custom agents too", () => {
    const registry = new AgentRegistry();
    registry.register('research', { inputSchema: z.object({ urls: z.array(z.url()).min(1) }), description: 'Reads pages', example: { urls: ['https://example.com/'] }, run: () => null });
    registry.register('my-custom', { inputSchema: z.object({ level: z.number().int() }), run: () => null });
    registry.register('bare', () => null);
    const { schemas } = doc(registry).components;
    expect(schemas.ResearchAgentInput).toMatchObject({
      type: 'object',
      required: ['urls'],
      description: expect.stringContaining('Reads pages'),
      examples: [{ urls: ['https://example.com/'] }],
    });
    expect(schemas.MyCustomAgentInput).toMatchObject({ properties: { level: { type: 'integer' } } });
    expect(schemas.BareAgentInput).toMatchObject({ type: 'object' });
    expect(schemas.ResearchAgentInput).not.toHaveProperty('$schema');
  });
});
