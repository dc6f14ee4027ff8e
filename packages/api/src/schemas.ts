import { EXECUTION_STATUSES, ROLES } from '@strata/db';
import { strategyFields } from '@strata/engine';
import { z } from 'zod';

/** Request schemas, defined once: tRPC validates with them and the OpenAPI document is generated from them. */
const id = (name: string) => z.string().trim().min(1, `${name} is required`).max(200);

export const signupInput = z.object({
  email: z.string().max(320),
  password: z.string().max(200),
  name: z.string().trim().max(200).optional(),
});
export const loginInput = z.object({ email: z.string().max(320), password: z.string().max(200) });

export const createWorkspaceInput = z.object({ name: z.string().trim().min(1, 'name is required').max(200) });
export const addMemberInput = z.object({ workspaceId: id('workspaceId'), email: z.string().max(320), role: z.enum(ROLES) });

export const createTokenInput = z.object({
  name: z.string().trim().min(1, 'name is required').max(200),
  workspaceId: id('workspaceId').optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export const tokenIdInput = z.object({ id: id('id') });

export const createStrategyInput = z.object({
  workspaceId: id('workspaceId'),
  ...strategyFields,
  onTaskFailure: z.enum(['fail', 'continue']).optional(),
});
export const strategyIdInput = z.object({ id: id('id') });
export const workspaceIdInput = z.object({ workspaceId: id('workspaceId') });

export const startExecutionInput = z.object({ strategyId: id('strategyId'), workspaceId: id('workspaceId') });
export const executionIdInput = z.object({ id: id('id') });
export const listExecutionsInput = z.object({
  workspaceId: id('workspaceId'),
  status: z.enum(EXECUTION_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const listOutboxInput = z.object({
  workspaceId: id('workspaceId'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
