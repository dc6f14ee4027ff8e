import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { startEmbeddedPostgres } from './embedded.ts';

/** The repository root: the default home of the embedded database's `.strata/` folder. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ResolvedDatabase {
  url: string;
  /** True when this process started the embedded server (and so must stop it). */
  embedded: boolean;
  stop(): Promise<void>;
}

/**
 * DATABASE_URL set: use that server and start nothing. Unset: start (or join) the embedded
 * PostgreSQL in STRATA_DATA_DIR, default `<project>/.strata`.
 */
export async function resolveDatabase(config: { DATABASE_URL?: string | undefined; STRATA_DATA_DIR?: string | undefined }, log?: (message: string) => void): Promise<ResolvedDatabase> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, stop: async () => {} };
  const server = await startEmbeddedPostgres({
    dataDir: config.STRATA_DATA_DIR ?? join(PROJECT_ROOT, '.strata'),
    ...(log ? { log } : {}),
  });
  return { url: server.url, embedded: server.owned, stop: server.stop };
}
