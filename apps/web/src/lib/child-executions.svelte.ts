/**
 * The child executions of one execution (started by its `strategy` tasks), kept live for its
 * page: read from `GET /api/executions?parentExecutionId=`, read again when the workspace's
 * watch reports one of them changed, or when the page sees its strategy tasks move (a child
 * started, a retry).
 */
import { createStrataClient } from '@strata/client';
import { type ChildRun, childrenByTask } from './children.ts';

export type { ChildRun } from './children.ts';

/** Changes are read at most this often. */
const REFRESH_EVERY_MS = 300;
/** The most children read (the API's page limit): a task's newest is among them. */
const LIMIT = 200;

export class ChildExecutions {
  byTask = $state.raw<ReadonlyMap<string, ChildRun>>(new Map());
  readonly #parentId: string;
  readonly #workspaceId: string;
  #known = new Set<string>();
  #refresh: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;

  constructor(parentId: string, workspaceId: string) {
    this.#parentId = parentId;
    this.#workspaceId = workspaceId;
  }

  /** Reads the children now. */
  async reload(): Promise<void> {
    const generation = ++this.#generation;
    try {
      const params = new URLSearchParams({ workspaceId: this.#workspaceId, parentExecutionId: this.#parentId, limit: String(LIMIT) });
      const response = await fetch(`/api/executions?${params}`);
      if (!response.ok || generation !== this.#generation) return;
      const { executions } = (await response.json()) as { executions: ChildRun[] };
      this.#known = new Set(executions.map((row) => row.id));
      this.byTask = childrenByTask(executions);
    } catch {
      // Kept as it was: the next change reads again.
    }
  }

  /** Throttled: a burst of changes reads once. */
  refreshSoon(): void {
    this.#refresh ??= setTimeout(() => {
      this.#refresh = undefined;
      void this.reload();
    }, REFRESH_EVERY_MS);
  }

  /** Follows the workspace's changes for these children; returns the function that stops. */
  follow(): () => void {
    void this.reload();
    const subscription = createStrataClient({ baseUrl: location.origin }).executions.watch.subscribe(
      { workspaceId: this.#workspaceId },
      {
        onData: (message) => {
          if (message.resync || message.executionIds.some((id) => this.#known.has(id))) this.refreshSoon();
        },
      },
    );
    return () => {
      clearTimeout(this.#refresh);
      subscription.unsubscribe();
    };
  }
}
