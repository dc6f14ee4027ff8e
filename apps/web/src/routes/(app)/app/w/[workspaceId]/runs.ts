import type { ExecutionStatus } from '@strata/db';
import type { ExecutionRow } from './api-types.ts';

/** Executions per page of the list. */
export const EXECUTIONS_PAGE = 20;

/** The list's query: its filters as URL parameters of `GET /api/executions`. */
export function listQuery(workspaceId: string, filters: { statuses: readonly ExecutionStatus[]; q: string }, limit: number, cursor?: string): string {
  const params = new URLSearchParams({ workspaceId, limit: String(limit) });
  if (filters.statuses.length) params.set('status', filters.statuses.join(','));
  const q = filters.q.trim();
  if (q) params.set('q', q);
  if (cursor) params.set('cursor', cursor);
  return `/api/executions?${params}`;
}

/** How long a run took, or has taken so far; null before it started. */
export function runDurationMs(run: Pick<ExecutionRow, 'startedAt' | 'completedAt'>, now: number): number | null {
  if (!run.startedAt) return null;
  const end = run.completedAt ? Date.parse(run.completedAt) : now;
  return Math.max(0, end - Date.parse(run.startedAt));
}

export interface RunBar {
  id: string;
  status: ExecutionStatus;
  label: string;
  startedAt: string;
  durationMs: number;
  /** 0–1: the square root of the duration relative to the longest, so short runs stay visible beside a long one. */
  height: number;
}

/** The chart's bars: the latest `max` runs, oldest first. */
export function runBars(runs: readonly ExecutionRow[], now: number, max = 30): RunBar[] {
  const recent = runs.slice(0, max).reverse();
  const bars = recent.map((run) => ({
    id: run.id,
    status: run.status,
    label: run.strategyName ?? run.strategyId,
    startedAt: run.startedAt ?? run.createdAt,
    durationMs: runDurationMs(run, now) ?? 0,
    height: 0,
  }));
  const longest = Math.max(1, ...bars.map((b) => b.durationMs));
  for (const bar of bars) bar.height = Math.sqrt(bar.durationMs / longest);
  return bars;
}

/** Counts per status and the median duration of finished runs, for the chart's caption. */
export function runSummary(bars: readonly RunBar[]): { counts: Partial<Record<ExecutionStatus, number>>; medianMs: number | null } {
  const counts: Partial<Record<ExecutionStatus, number>> = {};
  for (const bar of bars) counts[bar.status] = (counts[bar.status] ?? 0) + 1;
  const finished = bars
    .filter((b) => b.status === 'completed' || b.status === 'failed' || b.status === 'cancelled')
    .map((b) => b.durationMs)
    .sort((a, b) => a - b);
  const medianMs = finished.length ? (finished[Math.floor((finished.length - 1) / 2)] ?? null) : null;
  return { counts, medianMs };
}
