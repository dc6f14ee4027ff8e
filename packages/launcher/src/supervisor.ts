import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@strata/config';
import { onParentExit } from '@strata/config/runtime';

export interface AppSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
}

export interface SupervisorOptions {
  apps: AppSpec[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** How long children get to finish after SIGTERM before SIGKILL. */
  stopTimeoutMs: number;
  /** Runs after every child has exited (e.g. stopping the embedded database). */
  afterStop: () => Promise<void>;
}

/**
 * Runs the apps as one process tree: a signal stops them all, a child that dies stops the
 * rest, and the database goes last.
 */
export function supervise(options: SupervisorOptions): { stop: (reason: string) => Promise<never> } {
  const { logger } = options;
  const children = new Map<string, ChildProcess>();
  const exited = new Map<string, Promise<void>>();
  let stopping: Promise<never> | undefined;

  const stop = (reason: string, code = 0): Promise<never> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping Strata');
      for (const child of children.values()) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      }
      const killer = setTimeout(() => {
        for (const [name, child] of children) {
          if (child.exitCode === null && child.signalCode === null) {
            logger.warn({ app: name }, 'did not stop in time; killing it');
            child.kill('SIGKILL');
          }
        }
      }, options.stopTimeoutMs);
      await Promise.all(exited.values());
      clearTimeout(killer);
      try {
        await options.afterStop();
      } catch (error) {
        logger.error({ err: error }, 'error while stopping the database');
        code = code || 1;
      }
      logger.info('Strata stopped');
      process.exit(code);
    })();
    return stopping;
  };

  for (const app of options.apps) {
    const child = spawn(app.command, app.args, { cwd: app.cwd, env: options.env, stdio: 'inherit' });
    children.set(app.name, child);
    exited.set(
      app.name,
      new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          if (!stopping) {
            logger.error({ app: app.name, code, signal }, `${app.name} exited unexpectedly`);
            void stop(`${app.name} exited`, code || 1);
          }
          resolve();
        });
        child.once('error', (error) => {
          logger.error({ app: app.name, err: error }, `${app.name} could not start`);
          resolve();
          void stop(`${app.name} failed to start`, 1);
        });
      }),
    );
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(signal));
  }
  onParentExit(() => void stop('parent process exited'));
  return { stop };
}
