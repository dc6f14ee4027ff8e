import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '@strata/config';
import { onParentExit } from '@strata/config/runtime';
import { Backoff, type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.ts';

export interface AppSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
}

/** What the supervisor did, for tests and anyone watching (each is logged too). */
export type SupervisorEvent =
  | { type: 'started'; app: string; pid: number | undefined }
  | { type: 'exited'; app: string; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'restarting'; app: string; delayMs: number; attempt: number }
  | { type: 'stopped'; code: number };

export interface SupervisorOptions {
  apps: AppSpec[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** How long children get to finish after SIGTERM before SIGKILL. */
  stopTimeoutMs: number;
  /** Runs after every child has exited (e.g. stopping the embedded database). */
  afterStop: () => Promise<void>;
  /** Restart waits of a crashed app; 0.5 s doubling to 30 s, reset after a minute up. */
  backoff?: BackoffPolicy;
  /** The clock that measures how long a child stayed up. */
  now?: () => number;
  onEvent?: (event: SupervisorEvent) => void;
  /** Stop on SIGINT/SIGTERM/SIGHUP and when the parent dies (the default; off in tests). */
  handleSignals?: boolean;
  /** How the supervisor ends once everything is stopped (process.exit by default). */
  exit?: (code: number) => void;
}

/**
 * Runs the apps as one process tree, like a process manager: a child that crashes is started
 * again after a backoff while the others (and the database) keep running; only a signal, the
 * parent's death or `stop()` ends everything, the database last.
 */
export function supervise(options: SupervisorOptions): { stop: (reason: string) => Promise<void> } {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const emit = options.onEvent ?? (() => {});
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const running = new Map<string, { child: ChildProcess; exited: Promise<void> }>();
  const pendingRestarts = new Set<NodeJS.Timeout>();
  let stopping: Promise<void> | undefined;

  const stop = (reason: string, code = 0): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping Strata');
      for (const timer of pendingRestarts) clearTimeout(timer);
      pendingRestarts.clear();
      const children = [...running.entries()];
      for (const [, { child }] of children) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      }
      const killer = setTimeout(() => {
        for (const [name, { child }] of children) {
          if (child.exitCode === null && child.signalCode === null) {
            logger.warn({ app: name }, 'did not stop in time; killing it');
            child.kill('SIGKILL');
          }
        }
      }, options.stopTimeoutMs);
      await Promise.all(children.map(([, { exited }]) => exited));
      clearTimeout(killer);
      try {
        await options.afterStop();
      } catch (error) {
        logger.error({ err: error }, 'error while stopping the database');
        code = code || 1;
      }
      logger.info('Strata stopped');
      emit({ type: 'stopped', code });
      exit(code);
    })();
    return stopping;
  };

  const launch = (app: AppSpec, backoff: Backoff) => {
    const startedAt = now();
    const child = spawn(app.command, app.args, { cwd: app.cwd, env: options.env, stdio: 'inherit' });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        emit({ type: 'exited', app: app.name, code, signal });
        if (stopping) return;
        const { delayMs, attempt } = backoff.next(now() - startedAt);
        logger.error({ app: app.name, code, signal, attempt, delayMs }, `${app.name} exited unexpectedly; restarting it in ${delayMs / 1000} s`);
        emit({ type: 'restarting', app: app.name, delayMs, attempt });
        const timer = setTimeout(() => {
          pendingRestarts.delete(timer);
          if (!stopping) launch(app, backoff);
        }, delayMs);
        pendingRestarts.add(timer);
      });
      child.once('error', (error) => {
        // The command itself could not be run (not found, not executable): no restart helps.
        if (child.pid !== undefined) return;
        logger.error({ app: app.name, err: error }, `${app.name} could not start`);
        resolve();
        void stop(`${app.name} failed to start`, 1);
      });
    });
    running.set(app.name, { child, exited });
    if (child.pid !== undefined) emit({ type: 'started', app: app.name, pid: child.pid });
  };

  for (const app of options.apps) launch(app, new Backoff(options.backoff ?? DEFAULT_BACKOFF));

  if (options.handleSignals ?? true) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => void stop(signal));
    }
    onParentExit(() => void stop('parent process exited'));
  }
  return { stop };
}
