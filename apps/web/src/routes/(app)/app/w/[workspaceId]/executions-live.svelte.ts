import type { ExecutionStatus } from '@strata/db';
import { createStrataClient } from '@strata/client';
import { errorMessage } from '#lib/http.ts';
import type { ExecutionPage, ExecutionRow } from './api-types.ts';
import { EXECUTIONS_PAGE, listQuery } from './runs.ts';

/** Changes are read at most this often: a busy run reports many per second. */
const REFRESH_EVERY_MS = 500;
/** At most this many rows are re-read at once when something changes (the API's page limit). */
const MAX_REFRESH_ROWS = 200;

/** How often the list is read when the live source is unavailable. */
const FALLBACK_POLL_MS = 10_000;

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'off';

/**
 * A workspace's executions list that follows along: filters and search are applied by the API,
 * pages are added with its cursor, and `executions.watch` (a live source over the event log)
 * says when to read the loaded rows again.
 */
export class LiveExecutionList {
  rows = $state<ExecutionRow[]>([]);
  nextCursor = $state<string | null>(null);
  statuses = $state<ExecutionStatus[]>([]);
  q = $state('');
  loading = $state(false);
  error = $state<string | null>(null);
  live = $state<LiveState>('connecting');
  /** Bumped on every change the watch reports: the page may refresh what depends on runs. */
  changes = $state(0);

  readonly #workspaceId: string;
  #generation = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refresh: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(workspaceId: string, first: ExecutionPage) {
    this.#workspaceId = workspaceId;
    this.rows = first.executions;
    this.nextCursor = first.nextCursor;
  }

  get filtered(): boolean {
    return this.statuses.length > 0 || this.q.trim() !== '';
  }

  /** Reads the first page again under the current filters (or as many rows as are loaded, after a change). */
  async reload(keepLoaded = false): Promise<void> {
    const generation = ++this.#generation;
    const limit = keepLoaded ? Math.min(MAX_REFRESH_ROWS, Math.max(EXECUTIONS_PAGE, this.rows.length)) : EXECUTIONS_PAGE;
    const page = await this.#fetch(listQuery(this.#workspaceId, this, limit));
    // A slower answer to an older query must not overwrite a newer one.
    if (!page || generation !== this.#generation) return;
    this.rows = page.executions;
    this.nextCursor = page.nextCursor;
  }

  async loadMore(): Promise<void> {
    if (!this.nextCursor || this.loading) return;
    const generation = this.#generation;
    const page = await this.#fetch(listQuery(this.#workspaceId, this, EXECUTIONS_PAGE, this.nextCursor));
    if (!page || generation !== this.#generation) return;
    const seen = new Set(this.rows.map((r) => r.id));
    this.rows = [...this.rows, ...page.executions.filter((r) => !seen.has(r.id))];
    this.nextCursor = page.nextCursor;
  }

  toggleStatus(status: ExecutionStatus): void {
    this.statuses = this.statuses.includes(status) ? this.statuses.filter((s) => s !== status) : [...this.statuses, status];
    void this.reload();
  }

  clearStatuses(): void {
    this.statuses = [];
    void this.reload();
  }

  /** Search as you type: the query goes out once typing pauses. */
  search(q: string): void {
    this.q = q;
    this.#schedule(() => void this.reload(), 300);
  }

  /** Starts following the workspace; returns the function that stops. */
  follow(): () => void {
    const client = createStrataClient({ baseUrl: location.origin });
    let fallback: ReturnType<typeof setInterval> | undefined;
    const subscription = client.executions.watch.subscribe(
      { workspaceId: this.#workspaceId },
      {
        onStarted: () => {
          this.live = 'live';
        },
        onData: (message) => {
          this.live = 'live';
          this.changes++;
          // `resync` on connect: anything may have changed while the connection was down.
          if (message.executionIds.length > 0 || message.resync) this.#refreshSoon();
        },
        onConnectionStateChange: (state) => {
          if (state.state === 'connecting' && this.live === 'live') this.live = 'reconnecting';
        },
        // The watch ended for good (its limit, the credential): fall back to reading now and then.
        onError: () => {
          this.live = 'off';
          fallback ??= setInterval(() => void this.reload(true), FALLBACK_POLL_MS);
        },
      },
    );
    this.#unsubscribe = () => subscription.unsubscribe();
    return () => {
      clearTimeout(this.#timer);
      clearTimeout(this.#refresh);
      clearInterval(fallback);
      this.#unsubscribe?.();
    };
  }

  /** Throttled, not debounced: changes that never pause still refresh the list every REFRESH_EVERY_MS. */
  #refreshSoon(): void {
    this.#refresh ??= setTimeout(() => {
      this.#refresh = undefined;
      void this.reload(true);
    }, REFRESH_EVERY_MS);
  }

  #schedule(run: () => void, ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(run, ms);
  }

  async #fetch(path: string): Promise<ExecutionPage | null> {
    this.loading = true;
    try {
      const response = await fetch(path);
      if (!response.ok) {
        this.error = await errorMessage(response);
        return null;
      }
      this.error = null;
      return (await response.json()) as ExecutionPage;
    } catch {
      this.error = 'The server could not be reached';
      return null;
    } finally {
      this.loading = false;
    }
  }
}
