/** The REST API's bodies as the dashboard reads them (see /docs/api). */

export type Role = 'viewer' | 'operator' | 'admin' | 'owner';

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

/** An item of `GET /api/executions?workspaceId=` */
export interface ExecutionListItem {
  id: string;
  status: string;
  strategyId: string;
  workspaceId: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  totalTasks: number;
  completedTasks: number;
  failedTasks: number;
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

/** `POST /api/executions/start` */
export interface StartResponse {
  success: true;
  executionId: string;
  message: string;
}
