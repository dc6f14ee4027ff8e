/**
 * Typed domain errors. The API maps each code once to a tRPC code and from there to an HTTP
 * status; nothing else decides statuses.
 */
export type EngineErrorCode = 'VALIDATION' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: EngineErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.details = details;
  }
}

export const validationError = (message: string, details?: Record<string, unknown>) => new EngineError('VALIDATION', message, details);
export const notFound = (message: string) => new EngineError('NOT_FOUND', message);
export const conflict = (message: string, details?: Record<string, unknown>) => new EngineError('CONFLICT', message, details);

/**
 * An agent throws this for a failure that another attempt cannot fix (bad input, a 4xx):
 * the engine fails the task at once instead of retrying.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** How a wait shows and ends, beyond its time (the engine's own waits for a person or a signal). */
export interface WaitOptions {
  /**
   * What the task shows while it waits: stored as its `progress` (with `waitingUntil`) and spread
   * into the `task-progress` event, e.g. `{ status: "waiting_for_approval", prompt }`.
   */
  progress?: Record<string, unknown>;
  /**
   * Woken at once instead of at `until` when what it waits for (an approval's answer, a signal,
   * its deadline) has come by the time the wait is recorded: an answer that arrives while the
   * agent is still deciding to wait is not lost.
   */
  wakeWhenReady?: boolean;
}

/**
 * Thrown by `ctx.wait(until)`: the task is held, durably and without a worker slot, until the
 * given time; its agent then runs again with `task.resumedFromWait` set.
 */
export class WaitRequest extends Error {
  readonly until: Date;
  readonly progress: Record<string, unknown> | undefined;
  readonly wakeWhenReady: boolean;
  constructor(until: Date, options: WaitOptions = {}) {
    super(`Waiting until ${until.toISOString()}`);
    this.name = 'WaitRequest';
    this.until = until;
    this.progress = options.progress;
    this.wakeWhenReady = options.wakeWhenReady ?? false;
  }
}
