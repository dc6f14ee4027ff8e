import { tmpdir } from 'node:os';
import { createLogger } from '@strata/config';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';
import { type AppSpec, type SupervisorEvent, supervise } from './supervisor.ts';

const logger = createLogger('test', 'silent');

/** A real child process running a line of JavaScript. */
const app = (name: string, code: string): AppSpec => ({ name, command: process.execPath, args: ['-e', code], cwd: tmpdir() });
const crashes = (name: string) => app(name, 'process.exit(3)');
const runs = (name: string) => app(name, 'setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0));');

/** Records the supervisor's events and lets a test wait for one, without sleeping. */
function recorder() {
  const events: SupervisorEvent[] = [];
  const waiters: { predicate: (events: SupervisorEvent[]) => boolean; resolve: () => void }[] = [];
  return {
    events,
    onEvent(event: SupervisorEvent) {
      events.push(event);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(events)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
    until(predicate: (events: SupervisorEvent[]) => boolean): Promise<void> {
      if (predicate(events)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    of<T extends SupervisorEvent['type']>(type: T, appName?: string) {
      return events.filter((e): e is Extract<SupervisorEvent, { type: T }> => e.type === type && (appName === undefined || ('app' in e && e.app === appName)));
    },
  };
}

const supervisors: { stop: (reason: string) => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop('test over')));
});

function harness(apps: AppSpec[], extra: { initialMs?: number; maxMs?: number; resetAfterMs?: number; now?: () => number } = {}) {
  const record = recorder();
  const exits: number[] = [];
  let afterStopCalls = 0;
  const supervisor = supervise({
    apps,
    env: process.env,
    logger,
    stopTimeoutMs: 5_000,
    afterStop: async () => {
      afterStopCalls += 1;
    },
    backoff: { initialMs: extra.initialMs ?? 20, maxMs: extra.maxMs ?? 80, resetAfterMs: extra.resetAfterMs ?? 1_000_000 },
    now: extra.now,
    onEvent: record.onEvent,
    handleSignals: false,
    exit: (code) => exits.push(code),
  });
  supervisors.push(supervisor);
  return { ...record, supervisor, exits, afterStopCalls: () => afterStopCalls };
}

describe('Backoff', () => {
  it('doubles from the initial wait up to the maximum, and starts over after a long enough run', () => {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 });
    const waits = Array.from({ length: 9 }, () => backoff.next(10).delayMs);
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(backoff.next(60_000)).toEqual({ delayMs: 500, attempt: 1 });
    expect(backoff.next(59_999).delayMs).toBe(1000);
  });
});

describe('supervise (real child processes)', () => {
  it('restarts a crashing app with doubling waits while the others and the database keep running', async () => {
    const h = harness([crashes('web'), runs('worker')]);
    await h.until(() => h.of('restarting', 'web').length >= 5);
    expect(h.of('restarting', 'web').map((e) => e.delayMs)).toEqual([20, 40, 80, 80, 80]);
    expect(h.of('exited', 'web').every((e) => e.code === 3)).toBe(true);
    // The worker was started once and never stopped; nothing stopped the database.
    expect(h.of('started', 'worker')).toHaveLength(1);
    expect(h.of('exited', 'worker')).toEqual([]);
    expect(h.afterStopCalls()).toBe(0);
    expect(h.exits).toEqual([]);

    await h.supervisor.stop('test over');
    expect(h.of('exited', 'worker')).toEqual([{ type: 'exited', app: 'worker', code: 0, signal: null }]);
    expect(h.afterStopCalls()).toBe(1);
    expect(h.exits).toEqual([0]);
  });

  it('starts the wait over once an app has stayed up long enough', async () => {
    let clock = 0;
    const h = harness([runs('web')], { resetAfterMs: 60_000, now: () => clock });
    const kill = async (nth: number, upMs = 0) => {
      await h.until(() => h.of('started', 'web').length >= nth);
      clock += upMs;
      const { pid } = h.of('started', 'web')[nth - 1]!;
      process.kill(pid!, 'SIGKILL');
      await h.until(() => h.of('restarting', 'web').length >= nth);
    };
    await kill(1);
    await kill(2);
    await kill(3, 60_000); // the third run lasts a minute on the supervisor's clock
    expect(h.of('restarting', 'web').map((e) => e.delayMs)).toEqual([20, 40, 20]);
    expect(h.of('exited', 'web').map((e) => e.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    await h.until(() => h.of('started', 'web').length >= 4);
    await h.supervisor.stop('test over');
    expect(h.exits).toEqual([0]);
  });

  it('a stop during a restart wait cancels the restart and stops the rest', async () => {
    const h = harness([crashes('web'), runs('worker')], { initialMs: 3_600_000, maxMs: 3_600_000 });
    await h.until(() => h.of('restarting', 'web').length === 1);
    await h.supervisor.stop('SIGTERM');
    expect(h.of('started', 'web')).toHaveLength(1);
    expect(h.of('exited', 'worker')).toHaveLength(1);
    expect(h.of('stopped')).toEqual([{ type: 'stopped', code: 0 }]);
    expect(h.afterStopCalls()).toBe(1);
  });

  it('stops everything when an app cannot be run at all', async () => {
    const h = harness([{ name: 'web', command: '/nonexistent/strata-web', args: [], cwd: tmpdir() }, runs('worker')]);
    await h.until(() => h.of('stopped').length === 1);
    expect(h.exits).toEqual([1]);
    expect(h.of('exited', 'worker')).toHaveLength(1);
    expect(h.of('restarting')).toEqual([]);
  });
});
