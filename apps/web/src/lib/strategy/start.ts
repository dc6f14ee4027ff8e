import type { StartResponse } from '@strata/client';
import { type ApiResult, postJson } from '../http.ts';

/**
 * Starts an execution of a strategy over REST, which honours Idempotency-Key: a key per click,
 * so a retried request starts it once.
 */
export function startExecution(strategyId: string, workspaceId: string): Promise<ApiResult<StartResponse>> {
  return postJson<StartResponse>('/api/executions/start', { strategyId, workspaceId }, { 'idempotency-key': crypto.randomUUID() });
}

export const executionPath = (executionId: string) => `/app/executions/${encodeURIComponent(executionId)}`;
export const strategyPath = (workspaceId: string, strategyId: string) => `/app/w/${encodeURIComponent(workspaceId)}/strategies/${encodeURIComponent(strategyId)}`;
