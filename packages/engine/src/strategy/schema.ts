import { AGENT_TYPES, ON_TASK_FAILURE, PRIORITIES } from '@strata/db';
import { z } from 'zod';

const label = z.string().trim().min(1).max(200);

/** One L4 item as a strategy is created with it (DESIGN.md's shape). */
export const l4ItemSchema = z.object({
  key: z
    .string()
    .trim()
    .min(1, 'key is required')
    .max(100)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'key may hold letters, digits, and _ . : - only'),
  description: z.string().trim().min(1, 'description is required').max(2000),
  agentType: z.string().min(1, 'agentType is required'),
  priority: z.enum(PRIORITIES).default('medium'),
  dependsOn: z.array(z.string().min(1)).max(1000).default([]),
  input: z.record(z.string(), z.unknown()).default({}),
  maxRetries: z.number().int().min(0).max(20).default(3),
  timeoutSeconds: z.number().int().min(1).max(86_400).default(300),
  l1: label.optional(),
  l2: label.optional(),
  l3: label.optional(),
});

export const strategyInputSchema = z.object({
  workspaceId: z.string().min(1),
  name: z.string().trim().min(1, 'name is required').max(200),
  description: z.string().trim().max(5000).optional(),
  onTaskFailure: z.enum(ON_TASK_FAILURE).default('fail'),
  items: z.array(l4ItemSchema).max(20_000),
});

export type L4ItemInput = z.input<typeof l4ItemSchema>;
export type L4Item = z.output<typeof l4ItemSchema>;
export type StrategyInput = z.input<typeof strategyInputSchema>;
export type ParsedStrategyInput = z.output<typeof strategyInputSchema>;

export const KNOWN_AGENT_TYPES: readonly string[] = AGENT_TYPES;
