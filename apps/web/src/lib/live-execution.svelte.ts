/**
 * One execution followed live in the browser: the `ExecutionBridge` (WebSocket, falling back to
 * SSE by itself; the session cookie authenticates) feeding rune state the page renders.
 */
import { type ExecutionState, type ExecutionStatusBody, ExecutionBridge } from '@strata/client';
import { SvelteMap } from 'svelte/reactivity';
import type { ControlAction } from './execution.ts';

export class LiveExecution {
  readonly id: string;
  /** The status body kept current by the stream; null until the first `state` message. */
  state = $state.raw<ExecutionState | null>(null);
  /** Why the stream could not be opened. */
  connectError = $state<string | null>(null);
  /** The control call in flight, and the last one's error. */
  busy = $state<ControlAction | null>(null);
  controlError = $state<string | null>(null);
  /** Wake-up times heard on `task-progress` events (null: running again). */
  readonly heardWakeAt = new SvelteMap<string, string | null>();

  readonly #bridge = new ExecutionBridge();
  readonly #cleanup: (() => void)[] = [];
  /** The status endpoint's body read once the stream finished; it wins over the bridge's state. */
  #settled: ExecutionStatusBody | null = null;
  #reconciling = false;

  constructor(id: string) {
    this.id = id;
  }

  /** Opens the stream at `/api/executions/:id/stream` on this page's host. */
  connect(location: Location): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/api/executions/${encodeURIComponent(this.id)}/stream`;
    this.#cleanup.push(
      this.#bridge.subscribe(this.id, (state) => {
        this.state = this.#settled ? { ...state, ...this.#settled } : state;
        if (state.finished && !this.#reconciling) {
          this.#reconciling = true;
          void this.#reconcile();
        }
      }),
      this.#bridge.on(
        'task-progress',
        (event) => {
          const until = event.data.waitingUntil;
          this.heardWakeAt.set(event.data.taskId, typeof until === 'string' ? until : null);
        },
        this.id,
      ),
    );
    this.#bridge.connectWebSocket(this.id, url).catch((error: unknown) => {
      this.connectError = error instanceof Error ? error.message : String(error);
    });
  }

  async control(action: ControlAction): Promise<void> {
    this.busy = action;
    this.controlError = null;
    try {
      if (action === 'pause') await this.#bridge.pauseExecution(this.id);
      else if (action === 'resume') await this.#bridge.resumeExecution(this.id);
      else await this.#bridge.cancelExecution(this.id);
    } catch (error) {
      this.controlError = error instanceof Error ? error.message : String(error);
    } finally {
      this.busy = null;
    }
  }

  /**
   * Every task state change has an event, but the health and metrics that ride on coalesced
   * events can lag, so a finished execution is read once more from the status endpoint to show
   * exactly what is stored.
   */
  async #reconcile(): Promise<void> {
    try {
      const response = await fetch(`/api/executions/${encodeURIComponent(this.id)}/status`);
      if (!response.ok) return;
      const body = (await response.json()) as ExecutionStatusBody;
      this.#settled = { execution: body.execution, health: body.health, tasks: body.tasks, metrics: body.metrics };
      if (this.state) this.state = { ...this.state, ...this.#settled };
    } catch {
      // The streamed state stays; it is right in all but rare details.
    }
  }

  destroy(): void {
    for (const off of this.#cleanup.splice(0)) off();
    this.#bridge.disconnect(this.id);
  }
}
