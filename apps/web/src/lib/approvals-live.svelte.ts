import { fetchApprovals, type PendingApproval } from './approvals.ts';

/** Changes are read at most this often: a run reports many per second. */
const REFRESH_EVERY_MS = 300;

/**
 * The approvals waiting for an answer in a workspace (or one execution of it), read again when
 * `changed()` says something moved (the workspace's live executions watch, the execution's
 * stream): throttled, and a slower answer to an older read never overwrites a newer one.
 */
export class PendingApprovals {
  items = $state<PendingApproval[]>([]);
  error = $state<string | null>(null);

  readonly #workspaceId: string;
  readonly #executionId: string | undefined;
  #generation = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(workspaceId: string, first: PendingApproval[] = [], executionId?: string) {
    this.#workspaceId = workspaceId;
    this.#executionId = executionId;
    this.items = first;
  }

  async refresh(): Promise<void> {
    const generation = ++this.#generation;
    const result = await fetchApprovals(this.#workspaceId, this.#executionId);
    if (generation !== this.#generation) return;
    if (!result.ok) {
      this.error = result.error;
      return;
    }
    this.error = null;
    this.items = result.data;
  }

  /** Something may have changed: read again soon. */
  changed(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.refresh();
    }, REFRESH_EVERY_MS);
  }

  /** An answer went through: the approval leaves the list at once (the next read confirms it). */
  answered(taskId: string): void {
    this.items = this.items.filter((item) => item.taskId !== taskId);
    this.changed();
  }

  destroy(): void {
    clearTimeout(this.#timer);
    this.#generation++;
  }
}
