import type { StartResponse } from '@strata/client';
import { type ApiResult, postJson } from '../http.ts';

/**
 * Starts an execution of a strategy over REST, which honours Idempotency-Key: a key per click,
 * so a retried request starts it once. `input`: its parameters (a strategy without an
 * inputSchema takes none); a refused one answers 400 with `field` naming it (`input.recipient`).
 */
export function startExecution(strategyId: string, workspaceId: string, input?: Record<string, unknown>): Promise<ApiResult<StartResponse>> {
  return postJson<StartResponse>('/api/executions/start', { strategyId, workspaceId, ...(input ? { input } : {}) }, { 'idempotency-key': crypto.randomUUID() });
}

/**
 * Where a start's 400 goes in the input form: `input.recipient` → the field `recipient`,
 * `input.tags[1]` → `tags[1]`; `input` itself (or another field) → null, the form as a whole.
 */
export function inputFieldOf(field: string | undefined): string | null {
  if (!field?.startsWith('input.') && !field?.startsWith('input[')) return null;
  return field.slice(field.startsWith('input.') ? 'input.'.length : 'input'.length) || null;
}

export const executionPath = (executionId: string) => `/app/executions/${encodeURIComponent(executionId)}`;
export const strategyPath = (workspaceId: string, strategyId: string) => `/app/w/${encodeURIComponent(workspaceId)}/strategies/${encodeURIComponent(strategyId)}`;
