import { builtInRegistry, loadAgentModules } from '@strata/agents';
import { createLogger, loadConfig } from '@strata/config';
import { type ApiDeps, EventHub, processEventHub, processStreamGuard, StatusCache, StreamGuard } from '@strata/api';
import { ensureAgentQueues, ensureWebhookQueue, pgBossTaskQueue } from '@strata/engine';
import { allowListSet } from '@strata/net';
import { PgBoss } from 'pg-boss';
import { getDatabase } from './database.ts';

let deps: Promise<ApiDeps & { logger: ReturnType<typeof createLogger> }> | undefined;

/**
 * What the API needs in this web process, made once: the pool, a pg-boss instance used only to
 * enqueue (no workers here), the configured rate limits.
 */
export function getApiDeps() {
  deps ??= (async () => {
    const config = loadConfig();
    const logger = createLogger('web', config.LOG_LEVEL, config.LOG_FORMAT);
    const database = getDatabase();
    const boss = new PgBoss({ connectionString: config.DATABASE_URL!, schedule: false, supervise: false, max: 5, application_name: 'strata-web' });
    boss.on('error', (error) => logger.warn({ err: error }, 'pg-boss error'));
    await boss.start();
    await ensureAgentQueues(boss);
    await ensureWebhookQueue(boss, config.WEBHOOK_TIMEOUT_MS);
    process.once('sveltekit:shutdown', () => void boss.stop({ graceful: false, close: true }));
    // Strategy items are checked against the agents' input schemas before anything runs.
    const agents = builtInRegistry({ config, db: database.db });
    await loadAgentModules(agents, config.STRATA_AGENT_MODULES, process.cwd());
    return {
      agents,
      db: database.db,
      engine: { db: database.db, queue: pgBossTaskQueue(boss), retry: { baseMs: config.TASK_RETRY_BASE_MS, maxMs: config.TASK_RETRY_MAX_MS } },
      // The session cookie is Secure on requests that came over HTTPS.
      transport: { origin: config.ORIGIN, trustProxy: config.TRUST_PROXY },
      // Webhook URLs naming a private host are refused at creation unless it is listed.
      webhookAllowHosts: allowListSet(config.WEBHOOK_ALLOW_HOSTS),
      rateLimits: { start: config.RATE_LIMIT_START_PER_MIN, status: config.RATE_LIMIT_STATUS_PER_MIN, control: config.RATE_LIMIT_CONTROL_PER_MIN },
      statusCache: new StatusCache(),
      // Shared with the Node server's stream endpoint: one LISTEN connection per process.
      hub: processEventHub(() => new EventHub({ db: database.db, listenSql: database.sql, logger })),
      // Shared with the Node server's stream endpoint too: one count and one check per process.
      streamGuard: processStreamGuard(() => new StreamGuard({ db: database.db, maxPerCredential: config.STREAM_MAX_PER_CREDENTIAL, logger })),
      logger,
    };
  })();
  deps.catch(() => {
    deps = undefined;
  });
  return deps;
}
