/**
 * One execution followed live in the browser: the `ExecutionBridge` (WebSocket, falling back to
 * SSE by itself, reconnecting by itself; the session cookie authenticates) feeding rune state
 * the dashboard renders. The stream is read from its first event, so the event log and the
 * timeline are complete; what arrives is folded into the page at most once a frame, so a burst
 * of thousands of events costs a few renders, not thousands.
 */
import { type BridgeEvent, type ExecutionState, ExecutionBridge } from '@strata/client';
import type { ControlAction } from './execution.ts';
import { TimelineBuilder } from './execution-timeline.ts';

/** How often, at most, what the stream brought is rendered. */
const FLUSH_INTERVAL_MS = 100;

export class LiveExecution {
  readonly id: string;
  /** The live state; null until the first `state` message. */
  state = $state.raw<ExecutionState | null>(null);
  /** How many events have been heard: reading `events` in an effect or template tracks this. */
  eventCount = $state(0);
  /** Why the stream could not be opened at first (it keeps trying). */
  connectError = $state<string | null>(null);
  /** The control call in flight, and the last one's error. */
  busy = $state<ControlAction | null>(null);
  controlError = $state<string | null>(null);
  /** Now, ticking every second while the run is not settled (durations that grow). */
  now = $state(Date.now());
  readonly timeline = new TimelineBuilder();

  readonly #events: BridgeEvent[] = [];
  readonly #bridge = new ExecutionBridge();
  readonly #cleanup: (() => void)[] = [];
  #pendingState: ExecutionState | null = null;
  readonly #pendingEvents: BridgeEvent[] = [];
  #frame: number | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #wait: ReturnType<typeof setTimeout> | undefined;
  #lastFlush = 0;
  #lastEventId = 0;
  #destroyed = false;

  constructor(id: string) {
    this.id = id;
  }

  /** Every event heard, oldest first (one array, only appended to; treat it as read-only). */
  get events(): readonly BridgeEvent[] {
    void this.eventCount;
    return this.#events;
  }

  /** Opens the stream at `/api/executions/:id/stream` on this page's host. */
  connect(location: Location): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // The dashboard shows keys, dependencies, retries and errors (`include=detail`); results ride
    // on task-completed events, and an earlier one is read per task when its drawer opens.
    const url = `${scheme}://${location.host}/api/executions/${encodeURIComponent(this.id)}/stream?include=detail`;
    this.#cleanup.push(
      this.#bridge.subscribe(this.id, (state) => {
        this.#pendingState = state;
        this.#schedule();
      }),
      this.#bridge.on(
        '*',
        (event) => {
          // A stream opened again replays from the last event heard: nothing twice.
          if (event.type === 'state' || event.id <= this.#lastEventId) return;
          this.#lastEventId = event.id;
          this.#pendingEvents.push(event);
          this.#schedule();
        },
        this.id,
      ),
    );
    this.#ticker = setInterval(() => {
      if (this.state && !this.state.finished) this.now = Date.now();
    }, 1000);
    this.#open(url, 0);
  }

  /** The bridge reconnects a stream that dropped; a stream that never opened is tried again here, backing off. */
  #open(url: string, failures: number): void {
    this.#bridge
      .connectWebSocket(this.id, url, { after: this.#lastEventId })
      .then(() => {
        this.connectError = null;
      })
      .catch((error: unknown) => {
        if (this.#destroyed) return;
        this.connectError = error instanceof Error ? error.message : String(error);
        this.#retry = setTimeout(() => this.#open(url, failures + 1), Math.min(10_000, 1000 * 2 ** failures));
      });
  }

  /**
   * At most one render every FLUSH_INTERVAL_MS, in an animation frame: a run streaming hundreds
   * of events a second still reads as live, and the page keeps its frames short.
   */
  #schedule(): void {
    if (this.#frame !== null || this.#wait !== undefined) return;
    const frame = () => {
      this.#frame = typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible' ? requestAnimationFrame(run) : (setTimeout(run, 0) as unknown as number);
    };
    const run = () => {
      this.#frame = null;
      this.#lastFlush = performance.now();
      this.#flush();
    };
    const since = performance.now() - this.#lastFlush;
    if (since >= FLUSH_INTERVAL_MS) frame();
    else
      this.#wait = setTimeout(() => {
        this.#wait = undefined;
        frame();
      }, FLUSH_INTERVAL_MS - since);
  }

  #flush(): void {
    if (this.#pendingEvents.length > 0) {
      for (const event of this.#pendingEvents.splice(0)) this.#events.push(event);
      this.timeline.add(this.#events);
      this.eventCount = this.#events.length;
    }
    if (this.#pendingState) {
      this.state = this.#pendingState;
      this.#pendingState = null;
      this.now = Date.now();
      if (this.state.connected) this.connectError = null;
    }
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

  /** The events of one task, oldest first. */
  taskEvents(taskId: string): BridgeEvent[] {
    return this.events.filter((event) => event.data.taskId === taskId);
  }

  destroy(): void {
    this.#destroyed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#wait);
    for (const off of this.#cleanup.splice(0)) off();
    if (this.#ticker) clearInterval(this.#ticker);
    if (this.#frame !== null) {
      cancelAnimationFrame(this.#frame);
      clearTimeout(this.#frame);
    }
    this.#bridge.disconnect(this.id);
  }
}
