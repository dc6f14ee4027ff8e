import { AGENT_TYPES, ON_TASK_FAILURE, PRIORITIES } from '@strata/db';
import { z } from 'zod';
import { checkConcurrencyKey, KEY_TEMPLATE_MAX_CHARS } from '../throttle/key.ts';
import { concurrencyValue, perMinuteValue } from '../throttle/values.ts';

/**
 * The limits of one strategy, the same on every surface (REST, tRPC, the engine itself): each
 * is refused with a 400 naming the field. 10,000 items is the scale the engine is tested and
 * benchmarked at; the 1 MiB body limit of the HTTP API bounds a request's total besides.
 */
export const STRATEGY_LIMITS = {
  items: 10_000,
  nameLength: 200,
  descriptionLength: 5000,
  keyLength: 100,
  itemDescriptionLength: 2000,
  agentTypeLength: 64,
  labelLength: 200,
  dependsOn: 1000,
  /** An item's input, as JSON. */
  inputBytes: 64 * 1024,
  /** How deep an item's input may nest: far deeper JSON overflows the stack when it is serialised for jsonb. */
  inputDepth: 64,
} as const;

const L = STRATEGY_LIMITS;
const label = z.string().trim().min(1).max(L.labelLength, `at most ${L.labelLength} characters`);
const key = z
  .string()
  .trim()
  .min(1, 'key is required')
  .max(L.keyLength, `at most ${L.keyLength} characters`)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'key may hold letters, digits, and _ . : - only');

/** Whether a JSON value nests deeper than the limit; iterative, so any depth is safe to measure. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

const itemInput = z
  .record(z.string(), z.unknown())
  .default({})
  .superRefine((input, ctx) => {
    // Depth first: measuring the size serialises the input, which deep nesting would overflow.
    if (nestsDeeperThan(input, L.inputDepth)) ctx.addIssue({ code: 'custom', message: `nested deeper than ${L.inputDepth} levels` });
    else if (Buffer.byteLength(JSON.stringify(input)) > L.inputBytes) ctx.addIssue({ code: 'custom', message: `at most ${L.inputBytes} bytes of JSON` });
  });

/** One L4 item as a strategy is created with it (DESIGN.md's shape). */
export const l4ItemSchema = z
  .object({
    key,
    description: z.string().trim().min(1, 'description is required').max(L.itemDescriptionLength, `at most ${L.itemDescriptionLength} characters`),
    agentType: z.string().min(1, 'agentType is required').max(L.agentTypeLength, `at most ${L.agentTypeLength} characters`),
    priority: z.enum(PRIORITIES).default('medium'),
    dependsOn: z.array(z.string().min(1).max(L.keyLength, `at most ${L.keyLength} characters`)).max(L.dependsOn, `at most ${L.dependsOn} dependencies`).default([]),
    input: itemInput,
    maxRetries: z.number().int().min(0).max(20).default(3),
    timeoutSeconds: z.number().int().min(1).max(86_400).default(300),
    l1: label.optional(),
    l2: label.optional(),
    l3: label.optional(),
    /** A template over the item's input (throttle/key.ts): its tasks share keyConcurrency/keyPerMinute with every task of the workspace whose key resolves the same. */
    concurrencyKey: z.string().max(KEY_TEMPLATE_MAX_CHARS, `at most ${KEY_TEMPLATE_MAX_CHARS} characters`).optional(),
    /** At most this many tasks with the same key in progress at once, workspace-wide. */
    keyConcurrency: concurrencyValue.optional(),
    /** At most this many starts of tasks with the same key in any rolling minute, workspace-wide. */
    keyPerMinute: perMinuteValue.optional(),
  })
  .superRefine((item, ctx) => {
    const limited = item.keyConcurrency !== undefined || item.keyPerMinute !== undefined;
    if (item.concurrencyKey === undefined) {
      if (limited) ctx.addIssue({ code: 'custom', path: ['concurrencyKey'], message: 'is required with keyConcurrency or keyPerMinute' });
      return;
    }
    if (!limited) ctx.addIssue({ code: 'custom', path: ['keyConcurrency'], message: 'a concurrencyKey needs keyConcurrency or keyPerMinute' });
    const problem = checkConcurrencyKey(item.concurrencyKey, item.input);
    if (problem) ctx.addIssue({ code: 'custom', path: ['concurrencyKey'], message: problem });
  });

/** A strategy's own fields and its items, as every surface takes them. */
export const strategyFields = {
  name: z.string().trim().min(1, 'name is required').max(L.nameLength, `at most ${L.nameLength} characters`),
  description: z.string().trim().max(L.descriptionLength, `at most ${L.descriptionLength} characters`).optional(),
  items: z.array(l4ItemSchema).max(L.items, `at most ${L.items} items per strategy`),
  /** JSON Schema (draft 2020-12) of an execution's `input`; checked as a schema when saved (strategy/input-schema.ts). Absent or null: no input. */
  inputSchema: z
    .record(z.string(), z.unknown(), { error: 'must be a JSON Schema object' })
    .nullish()
    .meta({ description: "JSON Schema (draft 2020-12, type object) of an execution's input; absent: the strategy takes no input" }),
  /** At most this many tasks of one execution in progress at once; absent or null: no cap. Each execution keeps its version's. */
  maxConcurrency: concurrencyValue.nullish().meta({ description: 'At most this many tasks of one execution in progress at once; absent or null: no cap' }),
};

/** A strategy's definition: what each version holds (an edit replaces all of it). */
export const strategyDefinitionSchema = z.object({
  ...strategyFields,
  onTaskFailure: z.enum(ON_TASK_FAILURE).default('fail'),
});

export const strategyInputSchema = strategyDefinitionSchema.extend({ workspaceId: z.string().min(1) });

export type L4ItemInput = z.input<typeof l4ItemSchema>;
export type L4Item = z.output<typeof l4ItemSchema>;
export type StrategyInput = z.input<typeof strategyInputSchema>;
export type ParsedStrategyInput = z.output<typeof strategyInputSchema>;
export type StrategyDefinitionInput = z.input<typeof strategyDefinitionSchema>;
export type StrategyDefinition = z.output<typeof strategyDefinitionSchema>;

export const KNOWN_AGENT_TYPES: readonly string[] = AGENT_TYPES;
