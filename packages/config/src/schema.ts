import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** `auto` is readable colour output on a terminal and JSON anywhere else. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);

/** An optional string variable: an empty value counts as unset. */
const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const postgresUrl = optionalString.refine(
  (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
  'must be a postgres:// or postgresql:// URL',
);

const httpUrl = optionalString.refine(
  (v) => v === undefined || /^https?:\/\//.test(v),
  'must be an http:// or https:// URL',
);

const smtpUrl = optionalString.refine(
  (v) => v === undefined || /^smtps?:\/\//.test(v),
  'must be an smtp:// or smtps:// URL',
);

const commaList = optionalString.transform((v) =>
  v === undefined
    ? []
    : v
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
);

const commaListKeepCase = optionalString.transform((v) =>
  v === undefined
    ? []
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
);

/**
 * Every environment variable Strata reads, validated once. The README's configuration table
 * lists the same names; keep them in step.
 */
export const configSchema = z.object({
  PORT: port.default(3008),
  /** Loopback unless told otherwise: a fresh install is not reachable from the network. */
  HOST: optionalString.default('127.0.0.1'),
  /** The app's public origin (adapter-node's own variable): same-origin checks and Secure cookies. */
  ORIGIN: httpUrl,
  /** Behind a reverse proxy: trust X-Forwarded-Proto / X-Forwarded-For. */
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  DATABASE_URL: postgresUrl,
  STRATA_DATA_DIR: optionalString,
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** `auto`: readable colour lines when stdout is a terminal, JSON otherwise (the launcher settles it for its children). */
  LOG_FORMAT: z.enum(LOG_FORMATS).default('auto'),
  /** OpenTelemetry's own variables: set, traces are exported over OTLP/HTTP there; unset, no SDK starts. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
  /** The service name on exported spans; unset, `strata-web` or `strata-worker`. */
  OTEL_SERVICE_NAME: optionalString,
  /** OpenTelemetry's batch delay: how long spans wait before export (ms); the SDK reads no variable itself, so this one is passed on. */
  OTEL_BSP_SCHEDULE_DELAY: positiveInt.max(60_000).default(5000),
  /** Headers sent with every export (`key=value,key2=value2`, values percent-encoded), e.g. a hosted collector's API key. */
  OTEL_EXPORTER_OTLP_HEADERS: optionalString,
  /** One export's deadline (ms). */
  OTEL_EXPORTER_OTLP_TIMEOUT: positiveInt.max(120_000).default(10_000),
  /** `development` only: error bodies may then carry stack traces. Any other value, or unset, is production behaviour. */
  NODE_ENV: optionalString,
  STRATA_DEMO: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Set: the demo account uses it (and is created on any interface); unset: only on loopback. */
  STRATA_DEMO_PASSWORD: optionalString.refine((v) => v === undefined || v.length >= 8, 'must be at least 8 characters'),

  RATE_LIMIT_START_PER_MIN: nonNegativeInt.default(5),
  RATE_LIMIT_STATUS_PER_MIN: nonNegativeInt.default(30),
  RATE_LIMIT_CONTROL_PER_MIN: nonNegativeInt.default(10),

  WORKER_CONCURRENCY: positiveInt.default(10),
  WORKER_CONCURRENCY_EMAIL: positiveInt.optional(),
  WORKER_CONCURRENCY_CONTENT: positiveInt.optional(),
  WORKER_CONCURRENCY_RESEARCH: positiveInt.optional(),
  WORKER_CONCURRENCY_SCHEDULING: positiveInt.optional(),
  WORKER_CONCURRENCY_ANALYSIS: positiveInt.optional(),
  WORKER_CONCURRENCY_COORDINATION: positiveInt.optional(),
  WORKER_BATCH_SIZE: positiveInt.max(1000).default(1),
  WORKER_SWEEP_INTERVAL_MS: positiveInt.default(5000),
  STRATA_AGENT_MODULES: commaListKeepCase,
  WORKER_SHUTDOWN_TIMEOUT_MS: positiveInt.default(30_000),
  TASK_LEASE_SECONDS: positiveInt.default(30),
  TASK_RETRY_BASE_MS: positiveInt.default(1000),
  TASK_RETRY_MAX_MS: positiveInt.default(60_000),
  /** A task's stored result is capped; a bigger one fails its attempt without retry. */
  TASK_RESULT_MAX_BYTES: positiveInt.default(1024 * 1024),
  /**
   * Tests only: the rolling window of the workspace and key `perMinute` limits, in ms, so a test
   * with worker processes need not wait minutes. Unset: 60 s, as every limit's name says.
   */
  STRATA_TEST_LIMIT_WINDOW_MS: positiveInt.optional(),
  /** How deep child executions (the `strategy` agent) may nest: a top-level execution is depth 0; a child beyond this fails its task without retry. */
  STRATEGY_MAX_DEPTH: nonNegativeInt.max(100).default(5),
  /** Open execution streams per credential (session or API token); more answer 429. */
  STREAM_MAX_PER_CREDENTIAL: positiveInt.default(20),

  /** Set: `GET /metrics` (web and workers) answers only with `Authorization: Bearer <token>`. */
  METRICS_TOKEN: optionalString,
  /** Each worker's `GET /metrics` listener, on HOST; 0 turns it off. */
  WORKER_METRICS_PORT: nonNegativeInt.max(65535).default(9464),
  /** Days the event log of a finished execution is kept (its state, counts, health and final event stay); 0 keeps it forever. */
  RETENTION_DAYS: nonNegativeInt.max(36500).default(30),

  SMTP_URL: smtpUrl,
  SMTP_FROM: optionalString.default('Strata <strata@localhost>'),
  LLM_BASE_URL: httpUrl,
  LLM_MODEL: optionalString,
  LLM_API_KEY: optionalString,
  AGENT_FETCH_ALLOW_HOSTS: commaList,
  /**
   * Hosts (names or addresses) webhooks may be delivered to although they are, or resolve to,
   * private or internal addresses; separate from AGENT_FETCH_ALLOW_HOSTS, so allowing the
   * research agent an intranet host does not open it to webhooks, and the other way round.
   */
  WEBHOOK_ALLOW_HOSTS: commaList,
  /** One delivery attempt (connect, send, answer) gives up after this long and counts as failed. */
  WEBHOOK_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  /**
   * Tests only: the first retry of a failed webhook delivery after this many ms (doubling, capped
   * at 4×), and the delivery worker looks for due retries every half second. Unset: 30 s doubling
   * to 4 h over 24 h (engine/src/webhooks/schedule.ts).
   */
  STRATA_TEST_WEBHOOK_RETRY_MS: positiveInt.optional(),
});

export type Config = z.infer<typeof configSchema>;

/**
 * What the `strata` command line reads from its environment: where the server is and how to
 * reach it, and the user's own settings (config folder, editor). It never reads the server's
 * variables, so a shell set up for the server cannot break it.
 */
export const cliEnvSchema = z.object({
  /** The server, e.g. http://localhost:3008; a `--url` flag wins over it, it wins over the config file. */
  STRATA_URL: httpUrl,
  /** An API token (or session token); `--token` wins over it, it wins over the config file. */
  STRATA_TOKEN: optionalString,
  /** The workspace id commands act in; `--workspace` wins over it, it wins over the config file. */
  STRATA_WORKSPACE: optionalString,
  /** Where `strata login` writes its config (`$XDG_CONFIG_HOME/strata/config.json`); else `~/.config`. */
  XDG_CONFIG_HOME: optionalString,
  HOME: optionalString,
  /** The editor of `strata strategies edit`: $VISUAL, then $EDITOR, then vi. */
  VISUAL: optionalString,
  EDITOR: optionalString,
  /** Set (to anything): no colours in `strata follow`. */
  NO_COLOR: optionalString,
});

export type CliEnv = z.infer<typeof cliEnvSchema>;

/**
 * The variables of the test run (`pnpm test` and each package's vitest), apart from the app's
 * own: read by the test harnesses only, never by web or worker.
 */
export const testEnvSchema = z.object({
  /** A server the tests may create and drop `strata_test_*` databases on. Unset: the default address, else an embedded PostgreSQL for the run. */
  TEST_DATABASE_URL: postgresUrl,
  /** Tests of the test setup only: the address probed instead of 127.0.0.1:5432 (point it at a closed port to take the embedded path). */
  STRATA_TEST_DEFAULT_DB_URL: postgresUrl,
  /** Set by the test run itself (the outermost `pnpm test` or vitest): which run owns the server and cleans up after it. */
  STRATA_TEST_RUN_ID: optionalString.refine((v) => v === undefined || /^[a-z0-9]{8,32}$/.test(v), 'must be 8 to 32 lowercase letters and digits'),
  /** The Chromium (or Chrome) binary for the browser tests. Unset: found on PATH, in the usual places or in the Playwright cache. */
  CHROMIUM_PATH: optionalString,
});

export type TestEnv = z.infer<typeof testEnvSchema>;
