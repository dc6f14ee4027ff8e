import { randomBytes } from 'node:crypto';

/**
 * This process's tracing state. The web app's build bundles its own copy of this package beside
 * the one server.ts imports, so the state lives on globalThis (as the OpenTelemetry API keeps
 * its own), not in a module variable each copy would have.
 */
type State = {
  /** Whether this process started the SDK (sdk.ts): without it nothing here records or stores anything. */
  started: boolean;
  /**
   * The ids the next span must take: the execution span's ids are decided when the execution
   * starts (so task spans in other processes can name it as their parent) and the span itself is
   * recorded when the execution ends. Set only around one synchronous startSpan call.
   */
  forced: { traceId: string; spanId: string } | undefined;
  /** The HTTP method of each request span still open, for naming it once the route is known. */
  requestMethods: WeakMap<object, string>;
};
const KEY = Symbol.for('strata.telemetry.state');
const holder = globalThis as { [KEY]?: State };
holder[KEY] ??= { started: false, forced: undefined, requestMethods: new WeakMap() };
const state: State = holder[KEY];

export const tracingEnabled = (): boolean => state.started;
export const requestMethods = (): WeakMap<object, string> => state.requestMethods;
export const markTracingStarted = (on: boolean): void => {
  state.started = on;
};

export function withForcedIds<T>(ids: { traceId: string; spanId: string }, start: () => T): T {
  state.forced = ids;
  try {
    return start();
  } finally {
    state.forced = undefined;
  }
}

function randomHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(hex)) return hex; // all zeros is the invalid id
  }
}

export const randomTraceId = (): string => randomHex(16);
export const randomSpanId = (): string => randomHex(8);

/** The SDK's IdGenerator: random ids, except for a span started under withForcedIds. */
export const idGenerator = {
  generateTraceId: (): string => state.forced?.traceId ?? randomTraceId(),
  generateSpanId: (): string => state.forced?.spanId ?? randomSpanId(),
};
