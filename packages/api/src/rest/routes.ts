import type { createCaller } from '../root.ts';

type Caller = ReturnType<typeof createCaller>;

export interface RestRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path pattern; `:name` segments become params. */
  path: string;
  /** False for the calls that need no credentials. */
  auth: boolean;
  /** Success status. */
  status: 200 | 201;
  call: (caller: Caller, request: { params: Record<string, string>; query: URLSearchParams; body: unknown }) => Promise<unknown>;
}

const obj = (body: unknown): Record<string, unknown> => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {});
/** A body that is not a JSON object is passed through as it is, so validation names it. */
const bodyOr = (body: unknown, extra: Record<string, unknown> = {}) => (body === undefined ? extra : body && typeof body === 'object' && !Array.isArray(body) ? { ...obj(body), ...extra } : body);
const queryObject = (query: URLSearchParams) => Object.fromEntries(query.entries());

/** The REST surface: the seed's five execution endpoints and DESIGN.md's table, each one tRPC procedure. */
export const ROUTES: RestRoute[] = [
  { method: 'POST', path: '/api/auth/signup', auth: false, status: 201, call: (c, r) => c.auth.signup(bodyOr(r.body) as never) },
  { method: 'POST', path: '/api/auth/login', auth: false, status: 200, call: (c, r) => c.auth.login(bodyOr(r.body) as never) },
  { method: 'POST', path: '/api/auth/logout', auth: true, status: 200, call: (c) => c.auth.logout() },
  { method: 'POST', path: '/api/auth/password', auth: true, status: 200, call: (c, r) => c.auth.changePassword(bodyOr(r.body) as never) },
  { method: 'GET', path: '/api/me', auth: true, status: 200, call: (c) => c.auth.me() },
  { method: 'POST', path: '/api/workspaces', auth: true, status: 201, call: (c, r) => c.workspaces.create(bodyOr(r.body) as never) },
  { method: 'GET', path: '/api/workspaces', auth: true, status: 200, call: (c) => c.workspaces.list() },
  {
    method: 'POST',
    path: '/api/workspaces/:id/members',
    auth: true,
    status: 201,
    call: (c, r) => c.workspaces.addMember(bodyOr(r.body, { workspaceId: r.params.id }) as never),
  },
  { method: 'GET', path: '/api/workspaces/:id/members', auth: true, status: 200, call: (c, r) => c.workspaces.members({ workspaceId: r.params.id! }) },
  {
    method: 'PATCH',
    path: '/api/workspaces/:id/members/:userId',
    auth: true,
    status: 200,
    call: (c, r) => c.workspaces.changeRole(bodyOr(r.body, { workspaceId: r.params.id, userId: r.params.userId }) as never),
  },
  {
    method: 'DELETE',
    path: '/api/workspaces/:id/members/:userId',
    auth: true,
    status: 200,
    call: (c, r) => c.workspaces.removeMember({ workspaceId: r.params.id!, userId: r.params.userId! }),
  },
  { method: 'GET', path: '/api/workspaces/:id/limits', auth: true, status: 200, call: (c, r) => c.limits.get({ workspaceId: r.params.id! }) },
  { method: 'PUT', path: '/api/workspaces/:id/limits', auth: true, status: 200, call: (c, r) => c.limits.set(bodyOr(r.body, { workspaceId: r.params.id }) as never) },
  {
    method: 'DELETE',
    path: '/api/workspaces/:id/invitations/:invitationId',
    auth: true,
    status: 200,
    call: (c, r) => c.workspaces.revokeInvitation({ workspaceId: r.params.id!, invitationId: r.params.invitationId! }),
  },
  { method: 'GET', path: '/api/invitations', auth: true, status: 200, call: (c) => c.invitations.list() },
  { method: 'POST', path: '/api/invitations/:id/accept', auth: true, status: 200, call: (c, r) => c.invitations.accept({ id: r.params.id! }) },
  { method: 'POST', path: '/api/invitations/:id/decline', auth: true, status: 200, call: (c, r) => c.invitations.decline({ id: r.params.id! }) },
  { method: 'POST', path: '/api/tokens', auth: true, status: 201, call: (c, r) => c.tokens.create(bodyOr(r.body) as never) },
  { method: 'GET', path: '/api/tokens', auth: true, status: 200, call: (c, r) => c.tokens.list(queryObject(r.query) as never) },
  { method: 'DELETE', path: '/api/tokens/:id', auth: true, status: 200, call: (c, r) => c.tokens.revoke({ id: r.params.id! }) },
  { method: 'POST', path: '/api/strategies', auth: true, status: 201, call: (c, r) => c.strategies.create(bodyOr(r.body) as never) },
  { method: 'GET', path: '/api/strategies', auth: true, status: 200, call: (c, r) => c.strategies.list(queryObject(r.query) as never) },
  {
    method: 'GET',
    path: '/api/strategies/:id',
    auth: true,
    status: 200,
    call: (c, r) => c.strategies.get({ id: r.params.id!, ...(r.query.has('version') ? { version: r.query.get('version') } : {}) } as never),
  },
  { method: 'PUT', path: '/api/strategies/:id', auth: true, status: 200, call: (c, r) => c.strategies.update(bodyOr(r.body, { id: r.params.id }) as never) },
  { method: 'DELETE', path: '/api/strategies/:id', auth: true, status: 200, call: (c, r) => c.strategies.archive({ id: r.params.id! }) },
  { method: 'GET', path: '/api/strategies/:id/versions', auth: true, status: 200, call: (c, r) => c.strategies.versions({ id: r.params.id! }) },
  { method: 'GET', path: '/api/agents', auth: true, status: 200, call: (c) => c.agents.list() },
  { method: 'POST', path: '/api/executions/start', auth: true, status: 200, call: (c, r) => c.executions.start(bodyOr(r.body) as never) },
  { method: 'GET', path: '/api/executions', auth: true, status: 200, call: (c, r) => c.executions.list(queryObject(r.query) as never) },
  { method: 'GET', path: '/api/executions/:id', auth: true, status: 200, call: (c, r) => c.executions.get({ id: r.params.id! }) },
  {
    method: 'GET',
    path: '/api/executions/:id/status',
    auth: true,
    status: 200,
    call: (c, r) => c.executions.status({ id: r.params.id!, ...(r.query.has('include') ? { include: r.query.getAll('include').join(',') } : {}) } as never),
  },
  { method: 'GET', path: '/api/executions/:id/tasks/:taskId', auth: true, status: 200, call: (c, r) => c.executions.task({ id: r.params.id!, taskId: r.params.taskId! }) },
  { method: 'POST', path: '/api/executions/:id/pause', auth: true, status: 200, call: (c, r) => c.executions.pause({ id: r.params.id! }) },
  { method: 'POST', path: '/api/executions/:id/resume', auth: true, status: 200, call: (c, r) => c.executions.resume({ id: r.params.id! }) },
  { method: 'GET', path: '/api/outbox', auth: true, status: 200, call: (c, r) => c.outbox.list(queryObject(r.query) as never) },
  { method: 'POST', path: '/api/executions/:id/cancel', auth: true, status: 200, call: (c, r) => c.executions.cancel({ id: r.params.id! }) },
  { method: 'POST', path: '/api/executions/:id/retry', auth: true, status: 201, call: (c, r) => c.executions.retry(bodyOr(r.body, { id: r.params.id }) as never) },
  { method: 'POST', path: '/api/schedules', auth: true, status: 201, call: (c, r) => c.schedules.create(bodyOr(r.body) as never) },
  { method: 'GET', path: '/api/schedules', auth: true, status: 200, call: (c, r) => c.schedules.list(queryObject(r.query) as never) },
  { method: 'GET', path: '/api/schedules/:id', auth: true, status: 200, call: (c, r) => c.schedules.get({ id: r.params.id! }) },
  { method: 'PATCH', path: '/api/schedules/:id', auth: true, status: 200, call: (c, r) => c.schedules.update(bodyOr(r.body, { id: r.params.id }) as never) },
  { method: 'DELETE', path: '/api/schedules/:id', auth: true, status: 200, call: (c, r) => c.schedules.delete({ id: r.params.id! }) },
  { method: 'GET', path: '/api/schedules/:id/runs', auth: true, status: 200, call: (c, r) => c.schedules.runs({ ...queryObject(r.query), id: r.params.id! } as never) },
  { method: 'POST', path: '/api/executions/:id/stream-ticket', auth: true, status: 201, call: (c, r) => c.executions.streamTicket({ id: r.params.id! }) },
  {
    method: 'POST',
    path: '/api/executions/:id/tasks/:taskId/approve',
    auth: true,
    status: 200,
    call: (c, r) => c.approvals.approve(bodyOr(r.body, { id: r.params.id, taskId: r.params.taskId }) as never),
  },
  {
    method: 'POST',
    path: '/api/executions/:id/tasks/:taskId/reject',
    auth: true,
    status: 200,
    call: (c, r) => c.approvals.reject(bodyOr(r.body, { id: r.params.id, taskId: r.params.taskId }) as never),
  },
  { method: 'GET', path: '/api/approvals', auth: true, status: 200, call: (c, r) => c.approvals.list(queryObject(r.query) as never) },
  { method: 'GET', path: '/api/analytics', auth: true, status: 200, call: (c, r) => c.analytics.summary(queryObject(r.query) as never) },
  { method: 'GET', path: '/api/analytics/executions', auth: true, status: 200, call: (c, r) => c.analytics.executions(queryObject(r.query) as never) },
  { method: 'GET', path: '/api/analytics/tasks', auth: true, status: 200, call: (c, r) => c.analytics.tasks(queryObject(r.query) as never) },
  { method: 'GET', path: '/api/analytics/errors', auth: true, status: 200, call: (c, r) => c.analytics.errors(queryObject(r.query) as never) },
  { method: 'GET', path: '/api/analytics/queues', auth: true, status: 200, call: (c, r) => c.analytics.queues(queryObject(r.query) as never) },
  { method: 'POST', path: '/api/webhooks', auth: true, status: 201, call: (c, r) => c.webhooks.create(bodyOr(r.body) as never) },
  { method: 'GET', path: '/api/webhooks', auth: true, status: 200, call: (c, r) => c.webhooks.list(queryObject(r.query) as never) },
  { method: 'DELETE', path: '/api/webhooks/:id', auth: true, status: 200, call: (c, r) => c.webhooks.delete({ id: r.params.id! }) },
  { method: 'GET', path: '/api/webhooks/:id/deliveries', auth: true, status: 200, call: (c, r) => c.webhooks.deliveries({ ...queryObject(r.query), id: r.params.id! } as never) },
  { method: 'POST', path: '/api/webhooks/:id/test', auth: true, status: 201, call: (c, r) => c.webhooks.test({ id: r.params.id! }) },
  { method: 'POST', path: '/api/executions/:id/signals', auth: true, status: 201, call: (c, r) => c.signals.send(bodyOr(r.body, { id: r.params.id }) as never) },
];

interface CompiledRoute extends RestRoute {
  regex: RegExp;
  names: string[];
}

const compiled: CompiledRoute[] = ROUTES.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, regex: new RegExp(`^${source}/?$`), names };
});

export type RouteMatch = { route: RestRoute; params: Record<string, string> } | { allow: string[] } | undefined;

/** The route for a method and path; `{ allow }` when the path exists under other methods. */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const allow: string[] = [];
  // A literal path wins over a pattern: GET /api/executions/start is not execution "start".
  const literal = compiled.some((route) => route.names.length === 0 && route.regex.test(pathname));
  for (const route of compiled) {
    if (literal && route.names.length > 0) continue;
    const match = route.regex.exec(pathname);
    if (!match) continue;
    if (route.method !== method) {
      allow.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1] ?? '');
    });
    return { route, params };
  }
  return allow.length > 0 ? { allow } : undefined;
}
