export type { AgentDeps, BuiltInAgent } from './types.ts';
