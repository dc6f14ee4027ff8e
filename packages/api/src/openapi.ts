import { EXECUTION_STATUSES, INVITATION_STATUSES, ROLES } from '@strata/db';
import { executionStatusBodySchema, executionViewSchema } from '@strata/engine/contract';
import { z } from 'zod';
import { ROUTES } from './rest/routes.ts';
import * as input from './schemas.ts';

/** Response bodies of the seed's endpoints, described for the document (the procedures build them). */
const errorBody = z.object({ error: z.string() });
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
/** The status body is the execution contract's (packages/engine/src/contract.ts), not a copy. */
const statusResponse = executionStatusBodySchema;

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

const REQUEST_BODIES: Record<string, z.ZodType> = {
  'POST /api/auth/signup': input.signupInput,
  'POST /api/auth/login': input.loginInput,
  'POST /api/workspaces': input.createWorkspaceInput,
  'POST /api/auth/password': input.changePasswordInput,
  'POST /api/workspaces/:id/members': input.addMemberInput.omit({ workspaceId: true }),
  'PATCH /api/workspaces/:id/members/:userId': input.changeRoleInput.omit({ workspaceId: true, userId: true }),
  'POST /api/tokens': input.createTokenInput,
  'POST /api/strategies': input.createStrategyInput,
  'POST /api/executions/start': input.startExecutionInput,
};
const QUERIES: Record<string, z.ZodObject> = {
  'GET /api/strategies': input.workspaceIdInput,
  'GET /api/executions': input.listExecutionsInput,
  'GET /api/outbox': input.listOutboxInput,
};
const RESPONSES: Record<string, z.ZodType> = {
  'POST /api/executions/start': startResponse,
  'GET /api/executions/:id': z.object({ execution: executionViewSchema }),
  'GET /api/executions/:id/status': statusResponse,
  'POST /api/executions/:id/pause': controlResponse,
  'POST /api/executions/:id/resume': controlResponse,
  'POST /api/executions/:id/cancel': controlResponse,
  'POST /api/executions/:id/stream-ticket': streamTicketResponse,
  'POST /api/auth/password': success,
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
