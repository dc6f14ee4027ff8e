import type { Config } from '@strata/config';
import type { Db } from '@strata/db';
import type { AgentDefinition } from '@strata/engine';

/** What built-in agents may use: configuration (providers) and the database (e.g. the email outbox). */
export interface AgentDeps {
  config: Pick<Config, 'SMTP_URL' | 'SMTP_FROM' | 'LLM_BASE_URL' | 'LLM_MODEL' | 'LLM_API_KEY' | 'AGENT_FETCH_ALLOW_HOSTS'> &
    /** Where the app listens and whether the demo is on: the research agent may then read the demo's documents (net/demo-docs.ts). */
    Partial<Pick<Config, 'HOST' | 'PORT' | 'STRATA_DEMO'>>;
  db: Db;
}

/** A built-in agent: its input schema (checked at strategy creation and before each run) and its work. */
export type BuiltInAgent = (deps: AgentDeps) => AgentDefinition;
