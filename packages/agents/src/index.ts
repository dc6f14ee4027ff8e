export { analysisAgent } from './analysis.ts';
export { contentAgent } from './content.ts';
export { type CoordinationResult, coordinationAgent, type DependencyReference } from './coordination.ts';
export { emailAgent } from './email.ts';
export { loadAgentModules } from './modules.ts';
export { BUILT_IN_AGENTS, builtInRegistry, registerBuiltInAgents } from './registry.ts';
export { researchAgent } from './research.ts';
export { schedulingAgent } from './scheduling.ts';
export type { AgentDeps, BuiltInAgent } from './types.ts';
