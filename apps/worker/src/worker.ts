import type { Logger } from '@strata/config';
import type { PgBoss } from 'pg-boss';
import { createBoss } from './boss.ts';

export interface WorkerOptions {
  databaseUrl: string;
  logger: Logger;
  /** How long stop() waits for in-flight jobs before giving up on them. */
  shutdownTimeoutMs: number;
  /** Registers queues and handlers once pg-boss is up. */
  register?: (boss: PgBoss) => Promise<void>;
}

export interface Worker {
  boss: PgBoss;
  stop(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { logger } = options;
  const boss = createBoss(options.databaseUrl);
  boss.on('error', (error) => logger.error({ err: error }, 'pg-boss error'));
  boss.on('warning', (warning) => logger.warn({ warning }, 'pg-boss warning'));
  await boss.start({ attempts: 5 });
  await options.register?.(boss);
  logger.info('worker ready');

  let stopping: Promise<void> | undefined;
  return {
    boss,
    stop: () => {
      stopping ??= (async () => {
        logger.info({ timeoutMs: options.shutdownTimeoutMs }, 'worker stopping: finishing in-flight jobs');
        await boss.stop({ graceful: true, timeout: options.shutdownTimeoutMs, close: true });
        logger.info('worker stopped');
      })();
      return stopping;
    },
  };
}
