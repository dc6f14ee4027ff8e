/** The REST API's bodies as the dashboard reads them (see /docs/api). */

import type { Role } from '@strata/db';

export type { Role } from '@strata/db';
export type { ExecutionListItem } from '@strata/engine';
export type { StartResponse } from '@strata/client';

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

/** An item of `GET /api/strategies?workspaceId=` */
export interface Strategy {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  onTaskFailure: 'fail' | 'continue';
  createdAt: string;
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

