/** The REST API's bodies as the dashboard reads them (see /docs/api). */

import type { AppRouter } from '@strata/api';
import type { Role } from '@strata/db';
import type { inferRouterOutputs } from '@trpc/server';

export type { Role } from '@strata/db';
export type { ExecutionListItem } from '@strata/engine';
export type { StartResponse } from '@strata/client';

/** What each procedure answers, from the router itself: the execution types are never copied. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
/** `GET /api/executions/:id` */
export type ExecutionOverview = RouterOutputs['executions']['get'];
/** `GET /api/executions/:id/status`: the status body (also the stream's `state`). */
export type ExecutionStatusBody = RouterOutputs['executions']['status'];
/** `GET /api/executions/:id/tasks/:taskId`: one task with every field, its result too. */
export type ExecutionTaskDetail = RouterOutputs['executions']['task'];
/** `GET /api/strategies/:id` */
export type StrategyDetail = RouterOutputs['strategies']['get'];
/** `GET /api/workspaces/:id/limits` */
export type WorkspaceLimits = RouterOutputs['limits']['get'];

export interface User {
  id: string;
  email: string;
  name: string | null;
}

export interface Membership {
  id: string;
  name: string;
  role: Role;
}

/** `GET /api/me` */
export interface Me {
  user: User;
  workspaces: Membership[];
}

export const ROLES: readonly Role[] = ['owner', 'admin', 'operator', 'viewer'];

/** An item of `GET /api/workspaces/:id/members` → members */
export interface Member {
  userId: string;
  email: string;
  name: string | null;
  role: Role;
  joinedAt: string;
}

/** An invitation as the inviting workspace sees it. */
export interface Invitation {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  status: 'pending' | 'accepted' | 'declined' | 'revoked';
  expiresAt: string;
}

/** `GET /api/workspaces/:id/members` (admins) */
export interface WorkspaceMembers {
  members: Member[];
  invitations: (Invitation & { createdAt: string })[];
}

/** An item of `GET /api/invitations`: an invitation the logged-in person received. */
export interface ReceivedInvitation extends Invitation {
  createdAt: string;
  workspace: { id: string; name: string };
  invitedBy: { name: string | null; email: string } | null;
}

/** An item of `GET /api/outbox?workspaceId=`: mail the email agent kept instead of sending. */
export interface OutboxMessage {
  id: string;
  executionId: string | null;
  taskId: string | null;
  from: string;
  to: string[] | string;
  cc: string[] | string;
  subject: string;
  text: string;
  html: string | null;
  createdAt: string;
}


/** `GET /api/schedules`: one schedule (its dates as Dates over tRPC). */
export type ScheduleItem = RouterOutputs['schedules']['list']['schedules'][number];
/** `GET /api/schedules/:id/runs`: one tick. */
export type ScheduleRunItem = RouterOutputs['schedules']['runs']['runs'][number];
