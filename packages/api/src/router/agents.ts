import { type AgentCatalogEntry, type AgentRegistry, KNOWN_AGENT_TYPES } from '@strata/engine';
import { authedProcedure, router } from '../trpc.ts';

/**
 * The agent types a strategy can use, with their schemas: a custom module replaces a built-in
 * type's agent (its schema shows here); a type of its own, which no strategy accepts, is not listed.
 */
export const usableAgents = (agents: AgentRegistry): AgentCatalogEntry[] => agents.catalog().filter((entry) => KNOWN_AGENT_TYPES.includes(entry.type));

export const agentsRouter = router({
  /** Every agent type this server runs, built-in and custom, with its input's JSON Schema and an example. */
  list: authedProcedure.query(({ ctx }) => ({ agents: usableAgents(ctx.agents) })),
});
