import { PgBoss, type ConstructorOptions } from 'pg-boss';

/**
 * One pg-boss instance per process, set for low latency: LISTEN/NOTIFY wakes workers the
 * moment a job is queued; polling stays on as the safety net.
 */
export function createBoss(connectionString: string, options: Partial<ConstructorOptions> = {}): PgBoss {
  return new PgBoss({
    connectionString,
    useListenNotify: true,
    application_name: 'strata-worker',
    ...options,
  });
}
