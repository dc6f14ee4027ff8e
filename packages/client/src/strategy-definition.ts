import type { StrategyDefinitionInput } from '@strata/engine';
import type { Strategy } from './rest.ts';

/**
 * A stored strategy version as a definition to edit and send back (`PUT /api/strategies/:id`,
 * `POST /api/strategies`): its own fields and items without ids, dates or empty (null) fields,
 * so an unchanged definition saves as the same strategy.
 */
export function definitionOfStrategy(strategy: Strategy): StrategyDefinitionInput {
  return {
    name: strategy.name,
    ...(strategy.description !== null ? { description: strategy.description } : {}),
    onTaskFailure: strategy.onTaskFailure,
    ...(strategy.inputSchema !== null ? { inputSchema: strategy.inputSchema } : {}),
    ...(strategy.maxConcurrency !== null ? { maxConcurrency: strategy.maxConcurrency } : {}),
    items: strategy.items.map(({ id: _id, ...item }) => {
      const set = Object.entries(item).filter(([, value]) => value !== null);
      return Object.fromEntries(set) as StrategyDefinitionInput['items'][number];
    }),
  };
}
