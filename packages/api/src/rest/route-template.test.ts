import { describe, expect, it } from 'vitest';
import { routeTemplate } from './route-template.ts';

describe('routeTemplate', () => {
  it.each([
    ['GET', '/api/executions/exec_1_abc', '/api/executions/:id'],
    ['GET', '/api/executions/exec_2_xyz/status', '/api/executions/:id/status'],
    ['POST', '/api/executions/start', '/api/executions/start'],
    ['POST', '/api/executions/exec_3/pause', '/api/executions/:id/pause'],
    ['HEAD', '/api/strategies/strat_9', '/api/strategies/:id'],
    ['GET', '/api/executions/exec_4/stream', '/api/executions/:id/stream'],
    ['POST', '/api/trpc/executions.start', '/api/trpc/*'],
    ['GET', '/api/openapi.json', '/api/openapi.json'],
    ['GET', '/metrics', '/metrics'],
    ['GET', '/api/no/such/thing', 'unmatched'],
    ['DELETE', '/api/executions/start', 'unmatched'],
    ['GET', '/api/strategies/%E0%A4%A', 'unmatched'],
    ['GET', '/_app/immutable/chunks/x.js', '/_app/*'],
    ['GET', '/app/ws_1/executions/exec_5', 'page'],
  ])('%s %s is %s', (method, path, template) => {
    expect(routeTemplate(method, path)).toBe(template);
  });

  it('never returns a raw id: ten thousand distinct paths give a handful of labels', () => {
    const labels = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      labels.add(routeTemplate('GET', `/api/executions/exec_${i}_r${i}`));
      labels.add(routeTemplate('GET', `/api/unknown/${i}`));
      labels.add(routeTemplate('GET', `/page/${i}`));
    }
    expect([...labels].sort()).toEqual(['/api/executions/:id', 'page', 'unmatched']);
  });
});
