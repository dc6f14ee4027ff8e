import { EXECUTION_STATUSES, INVITATION_STATUSES, ON_TASK_FAILURE, PRIORITIES, ROLES, TASK_STATUSES } from '@strata/db';
import { z } from 'zod';
import { ROUTES } from './rest/routes.ts';
import * as input from './schemas.ts';

/** Response bodies of the seed's endpoints, described for the document (the procedures build them). */
const errorBody = z.object({
  error: z.string(),
  field: z.string().optional().meta({ description: 'On a 400: the request field the error concerns, as a path into the body (`items[2].dependsOn[0]`, `items[0].input.to`)' }),
});
const startResponse = z.object({
  success: z.literal(true),
  executionId: z.string(),
  message: z.string(),
  execution: z.object({ id: z.string(), status: z.enum(EXECUTION_STATUSES), strategyId: z.string(), startedAt: z.string().nullable(), totalTasks: z.number().int() }),
});
const controlResponse = z.object({ success: z.literal(true), message: z.string(), execution: z.object({ id: z.string(), status: z.enum(EXECUTION_STATUSES) }) });
const streamTicketResponse = z.object({
  ticket: z.string().meta({ description: 'For `?access_token=` on GET /api/executions/{id}/stream (WebSocket or SSE): this execution only, once, within 60 s' }),
  expiresAt: z.string(),
});
const statusResponse = z.object({
  execution: z.object({
    id: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    strategyId: z.string(),
    strategyVersion: z.number().int().meta({ description: 'The strategy version this execution runs; later edits never change it' }),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    totalTasks: z.number().int(),
    completedTasks: z.number().int(),
    failedTasks: z.number().int(),
  }),
  health: z.object({ score: z.number(), completionRate: z.number(), errorRate: z.number(), lastChecked: z.string(), issues: z.array(z.string()) }),
  tasks: z.array(
    z.object({
      id: z.string(),
      l4_item_id: z.string(),
      execution_id: z.string(),
      agent_type: z.string(),
      status: z.enum(TASK_STATUSES),
      priority: z.enum(['high', 'medium', 'low']),
      description: z.string(),
      dependencies: z.array(z.string()),
      assigned_at: z.string().nullable(),
      completed_at: z.string().nullable(),
      result: z.unknown(),
      error: z.string().nullable(),
      retry_count: z.number().int(),
      max_retries: z.number().int(),
    }),
  ),
  metrics: z.object({ totalDuration: z.number(), averageTaskDuration: z.number() }),
});

const invitation = z.object({
  id: z.string(),
  workspaceId: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  status: z.enum(INVITATION_STATUSES),
  expiresAt: z.string(),
});
const member = z.object({ userId: z.string(), email: z.string(), name: z.string().nullable(), role: z.enum(ROLES), joinedAt: z.string() });
const success = z.object({ success: z.literal(true) });

const strategyItem = z.object({
  id: z.string(),
  key: z.string(),
  description: z.string(),
  agentType: z.string(),
  priority: z.enum(PRIORITIES),
  dependsOn: z.array(z.string()),
  input: z.record(z.string(), z.unknown()),
  maxRetries: z.number().int(),
  timeoutSeconds: z.number().int(),
  l1: z.string().nullable(),
  l2: z.string().nullable(),
  l3: z.string().nullable(),
});
const strategyView = z.object({
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  onTaskFailure: z.enum(ON_TASK_FAILURE),
  createdAt: z.string(),
  version: z.number().int().meta({ description: 'The version shown (the latest unless `?version=` asked for another)' }),
  latestVersion: z.number().int(),
  versionCreatedAt: z.string(),
  archivedAt: z.string().nullable(),
  items: z.array(strategyItem),
});
const strategyListItem = strategyView.pick({ id: true, workspaceId: true, name: true, description: true, onTaskFailure: true, createdAt: true, version: true }).extend({
  itemCount: z.number().int(),
  updatedAt: z.string(),
});
const strategyVersion = z.object({
  version: z.number().int(),
  name: z.string(),
  description: z.string().nullable(),
  onTaskFailure: z.enum(ON_TASK_FAILURE),
  itemCount: z.number().int(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});
const agentEntry = z.object({
  type: z.string(),
  description: z.string().nullable(),
  inputSchema: z.record(z.string(), z.unknown()).nullable().meta({ description: "JSON Schema (draft 2020-12) of the agent's input; null when it takes any object" }),
  example: z.record(z.string(), z.unknown()).nullable(),
});

const REQUEST_BODIES: Record<string, z.ZodType> = {
  'POST /api/auth/signup': input.signupInput,
  'POST /api/auth/login': input.loginInput,
  'POST /api/workspaces': input.createWorkspaceInput,
  'POST /api/auth/password': input.changePasswordInput,
  'POST /api/workspaces/:id/members': input.addMemberInput.omit({ workspaceId: true }),
  'PATCH /api/workspaces/:id/members/:userId': input.changeRoleInput.omit({ workspaceId: true, userId: true }),
  'POST /api/tokens': input.createTokenInput,
  'POST /api/strategies': input.createStrategyInput,
  'PUT /api/strategies/:id': input.updateStrategyInput.omit({ id: true }),
  'POST /api/executions/start': input.startExecutionInput,
};
const QUERIES: Record<string, z.ZodObject> = {
  'GET /api/strategies': input.workspaceIdInput,
  'GET /api/strategies/:id': input.getStrategyInput.pick({ version: true }),
  'GET /api/executions': input.listExecutionsInput,
  'GET /api/outbox': input.listOutboxInput,
};
const RESPONSES: Record<string, z.ZodType> = {
  'POST /api/executions/start': startResponse,
  'GET /api/executions/:id/status': statusResponse,
  'POST /api/executions/:id/pause': controlResponse,
  'POST /api/executions/:id/resume': controlResponse,
  'POST /api/executions/:id/cancel': controlResponse,
  'POST /api/executions/:id/stream-ticket': streamTicketResponse,
  'POST /api/auth/password': success,
  'POST /api/strategies': z.object({ strategy: strategyView }),
  'GET /api/strategies': z.object({ strategies: z.array(strategyListItem) }),
  'GET /api/strategies/:id': z.object({ strategy: strategyView }),
  'PUT /api/strategies/:id': z.object({ strategy: strategyView }),
  'DELETE /api/strategies/:id': z.object({ success: z.literal(true), strategy: z.object({ id: z.string(), archivedAt: z.string() }) }),
  'GET /api/strategies/:id/versions': z.object({ versions: z.array(strategyVersion) }),
  'GET /api/agents': z.object({ agents: z.array(agentEntry) }),
  'POST /api/workspaces/:id/members': z.object({ invitation }),
  'GET /api/workspaces/:id/members': z.object({ members: z.array(member), invitations: z.array(invitation.extend({ createdAt: z.string() })) }),
  'PATCH /api/workspaces/:id/members/:userId': z.object({ member }),
  'DELETE /api/workspaces/:id/members/:userId': success,
  'DELETE /api/workspaces/:id/invitations/:invitationId': z.object({ invitation }),
  'GET /api/invitations': z.object({
    invitations: z.array(
      invitation.extend({
        createdAt: z.string(),
        workspace: z.object({ id: z.string(), name: z.string() }),
        invitedBy: z.object({ name: z.string().nullable(), email: z.string() }).nullable(),
      }),
    ),
  }),
  'POST /api/invitations/:id/accept': z.object({ invitation, workspace: z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES) }) }),
  'POST /api/invitations/:id/decline': z.object({ invitation }),
};

const DESCRIPTIONS: Record<string, string> = {
  'GET /api/strategies/:id': 'The latest version of a strategy (with `version`), or the one `?version=N` names. Archived strategies stay readable (`archivedAt`).',
  'PUT /api/strategies/:id':
    'Replaces the definition (admin), writing the next immutable version; validated as at creation, a refused edit changes nothing. `baseVersion`, when given, must still be the latest (else 409). Executions keep the version they started with. An archived strategy cannot be edited (409).',
  'DELETE /api/strategies/:id': 'Archives the strategy (admin): it leaves the lists and cannot be started (409) or edited; its versions and executions stay readable. Repeating it is harmless.',
  'GET /api/strategies/:id/versions': 'Every version of the strategy, newest first.',
  'GET /api/agents': 'Every agent type this server runs, built-in and custom (STRATA_AGENT_MODULES), with a description, the JSON Schema of its `input` and an example input.',
};

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

let cached: object | undefined;

/** OpenAPI 3.1 for the whole REST surface, generated from the zod schemas the procedures validate with. */
export function openApiDocument(): object {
  if (cached) return cached;
  const paths: Record<string, Record<string, object>> = {};
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    const openPath = route.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    const parameters: object[] = [...route.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = QUERIES[key];
    if (query) {
      for (const [name, field] of Object.entries(query.shape)) {
        parameters.push({ name, in: 'query', required: !(field as z.ZodType).safeParse(undefined).success, schema: schema(field as z.ZodType) });
      }
    }
    const body = REQUEST_BODIES[key];
    const errors: Record<string, object> = {};
    for (const [code, description] of [
      ['400', 'Bad request'],
      ['401', 'Unauthorized'],
      ['403', 'Access denied'],
      ['404', 'Not found'],
      ['409', 'Conflict'],
      ['429', 'Rate limit exceeded (login: too many failed logins), with Retry-After'],
      ['500', 'Internal server error'],
    ] as const) {
      if (!route.auth && (code === '401' || code === '403')) continue;
      errors[code] = { description, content: { 'application/json': { schema: schema(errorBody) } } };
    }
    const response = RESPONSES[key];
    paths[openPath] ??= {};
    paths[openPath][route.method.toLowerCase()] = {
      operationId: key.replace(/[^a-zA-Z]+/g, '_').replace(/^_|_$/g, ''),
      ...(DESCRIPTIONS[key] ? { description: DESCRIPTIONS[key] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(body) } } } } : {}),
      ...(route.auth ? { security: [{ bearer: [] }, { cookie: [] }] } : { security: [] }),
      responses: {
        [String(route.status)]: { description: 'Success', content: { 'application/json': { schema: response ? schema(response) : {} } } },
        ...errors,
      },
    };
  }
  cached = {
    openapi: '3.1.0',
    info: { title: 'Strata API', version: '1.0.0', description: 'Run strategies autonomously: executions, strategies, workspaces, tokens.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (strata_…) or a session token' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'strata_session' },
        streamTicket: { type: 'apiKey', in: 'query', name: 'access_token', description: 'A single-use stream ticket (stream endpoint only)' },
      },
    },
    paths: {
      '/api/health': { get: { operationId: 'health', security: [], responses: { '200': { description: 'OK' }, '503': { description: 'Database unreachable' } } } },
      '/api/openapi.json': { get: { operationId: 'openapi', security: [], responses: { '200': { description: 'This document' } } } },
      ...paths,
      '/api/executions/{id}/stream': {
        get: {
          operationId: 'GET_api_executions_id_stream',
          description:
            'The live stream of an execution: a WebSocket upgrade (each event one text message) or Server-Sent Events. First a `state` message (the status body), then every event. ' +
            'Opening one counts against the status rate limit; a credential holds at most STREAM_MAX_PER_CREDENTIAL open streams (429). A cookie-authenticated WebSocket upgrade must come from the app origin (403). ' +
            'When the credential ends (logout, expiry, revocation) or access to the workspace is removed, the stream is closed within 5 s: WebSocket close code 4401 or 4403 with a reason; over SSE a final `close` event with data `{ "code", "reason" }`.',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'access_token', in: 'query', required: false, description: 'A stream ticket from POST /api/executions/{id}/stream-ticket (never a session or API token)', schema: { type: 'string' } },
            { name: 'after', in: 'query', required: false, description: 'Resume after this event id (WebSocket)', schema: { type: 'integer', minimum: 0 } },
            { name: 'lastEventId', in: 'query', required: false, description: 'Resume after this event id (SSE; or the Last-Event-ID header)', schema: { type: 'integer', minimum: 0 } },
          ],
          security: [{ bearer: [] }, { cookie: [] }, { streamTicket: [] }],
          responses: {
            '101': { description: 'WebSocket stream' },
            '200': { description: 'Server-Sent Events', content: { 'text/event-stream': {} } },
            '401': { description: 'Unauthorized', content: { 'application/json': { schema: schema(errorBody) } } },
            '403': { description: 'Access denied, a ticket for another execution, or a cross-site cookie upgrade', content: { 'application/json': { schema: schema(errorBody) } } },
            '404': { description: 'Execution not found', content: { 'application/json': { schema: schema(errorBody) } } },
            '429': { description: 'Too many open streams for the credential, or the status rate limit', content: { 'application/json': { schema: schema(errorBody) } } },
          },
        },
      },
    },
  };
  return cached;
}
