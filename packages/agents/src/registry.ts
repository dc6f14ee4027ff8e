import { AgentRegistry } from '@strata/engine';
import { analysisAgent } from './analysis.ts';
import { approvalAgent } from './approval.ts';
import { contentAgent } from './content.ts';
import { coordinationAgent } from './coordination.ts';
import { emailAgent } from './email.ts';
import { researchAgent } from './research.ts';
import { schedulingAgent } from './scheduling.ts';
import { strategyAgent } from './strategy.ts';
import type { AgentDeps, BuiltInAgent } from './types.ts';

export const BUILT_IN_AGENTS: Record<string, BuiltInAgent> = {
  email: emailAgent,
  content: contentAgent,
  research: researchAgent,
  scheduling: schedulingAgent,
  analysis: analysisAgent,
  coordination: coordinationAgent,
  approval: approvalAgent,
  strategy: strategyAgent,
};

/** Registers the built-in agents; custom registrations made afterwards replace them per type. */
export function registerBuiltInAgents(registry: AgentRegistry, deps: AgentDeps): AgentRegistry {
  for (const [type, agent] of Object.entries(BUILT_IN_AGENTS)) registry.register(type, agent(deps));
  return registry;
}

/** A registry holding the built-in agents. */
export function builtInRegistry(deps: AgentDeps): AgentRegistry {
  return registerBuiltInAgents(new AgentRegistry(), deps);
}
