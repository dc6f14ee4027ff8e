import type { AppRouter } from '@strata/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

/** The strategy pages' types, from the router itself (one source, no copies). */
type Outputs = inferRouterOutputs<AppRouter>;
type Inputs = inferRouterInputs<AppRouter>;

export type StrategyDetail = Outputs['strategies']['get']['strategy'];
export type StrategyItem = StrategyDetail['items'][number];
export type StrategySummary = Outputs['strategies']['list']['strategies'][number];
export type StrategyVersion = Outputs['strategies']['versions']['versions'][number];
export type AgentEntry = Outputs['agents']['list']['agents'][number];
export type CreateStrategyInput = Inputs['strategies']['create'];
/** A strategy's definition as create and update take it (no workspace, no id). */
export type StrategyDefinition = Omit<CreateStrategyInput, 'workspaceId'>;
export type DefinitionItem = StrategyDefinition['items'][number];
