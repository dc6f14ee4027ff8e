import type { RetryResponse } from '@strata/client';
import type { RetryMode } from '@strata/engine/contract';
import { type ApiResult, postJson } from './http.ts';

/**
 * Re-runs a failed or cancelled execution over REST, which honours Idempotency-Key: the caller
 * keeps one key per decision (a dialog opened once), so a repeated request starts one re-run.
 */
export function retryExecution(executionId: string, mode: RetryMode, idempotencyKey: string): Promise<ApiResult<RetryResponse>> {
  return postJson<RetryResponse>(`/api/executions/${encodeURIComponent(executionId)}/retry`, { mode }, { 'idempotency-key': idempotencyKey });
}
