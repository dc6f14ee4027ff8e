import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleSettings } from '@strata/auth';
import type { Role } from '@strata/db';
import { AgentRegistry } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import type { ApiDeps } from './context.ts';
import { handleRest } from './rest/handler.ts';
import type { RateLimits } from './rate-limit.ts';
import { StatusCache } from './status-cache.ts';

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  /** The remote address the request comes from (the login throttle counts per address). */
  clientAddress?: string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
  body: any;
}

/** Test-only: the REST adapter over a fresh database, called with real Request objects. */
export interface ApiHarness extends EngineHarness {
  deps: ApiDeps;
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  signup(email: string, password?: string): Promise<{ token: string; userId: string }>;
  createWorkspace(token: string, name?: string): Promise<string>;
  /**
   * Makes a user a member the only way there is: the admin invites their email, they accept.
   * Fails the test on any other answer.
   */
  addMember(adminToken: string, workspaceId: string, member: { token: string; email: string }, role: Role): Promise<void>;
}

export async function createApiHarness(
  options: { rateLimits?: Partial<RateLimits>; loginThrottle?: Partial<LoginThrottleSettings>; agents?: AgentRegistry; webhookAllowHosts?: ReadonlySet<string> } = {},
): Promise<ApiHarness> {
  const h = await createEngineHarness();
  const deps: ApiDeps = {
    db: h.database.db,
    engine: h.ctx,
    // No agents unless the test brings some: items are checked for structure only.
    agents: options.agents ?? new AgentRegistry(),
    rateLimits: { start: 0, status: 0, control: 0, ...options.rateLimits },
    statusCache: new StatusCache(),
    loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, ...options.loginThrottle },
    ...(options.webhookAllowHosts ? { webhookAllowHosts: options.webhookAllowHosts } : {}),
  };
  const call = async (method: string, path: string, opts: CallOptions = {}): Promise<CallResult> => {
    const headers = new Headers(opts.headers);
    if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
    let body: BodyInit | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody as BodyInit;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers.set('content-type', 'application/json');
    }
    const request = new Request(`http://strata.test${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const response = await handleRest(request, deps, { clientAddress: opts.clientAddress ?? null });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  return {
    ...h,
    deps,
    call,
    async signup(email, password = 'correct horse battery') {
      const res = await call('POST', '/api/auth/signup', { body: { email, password } });
      if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { token: res.body.token, userId: res.body.user.id };
    },
    async createWorkspace(token, name = 'Workspace') {
      const res = await call('POST', '/api/workspaces', { token, body: { name } });
      if (res.status !== 201) throw new Error(`workspace failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.workspace.id;
    },
    async addMember(adminToken, workspaceId, member, role) {
      const invited = await call('POST', `/api/workspaces/${workspaceId}/members`, { token: adminToken, body: { email: member.email, role } });
      if (invited.status !== 201) throw new Error(`invitation failed: ${invited.status} ${JSON.stringify(invited.body)}`);
      const accepted = await call('POST', `/api/invitations/${invited.body.invitation.id}/accept`, { token: member.token });
      if (accepted.status !== 200) throw new Error(`accepting failed: ${accepted.status} ${JSON.stringify(accepted.body)}`);
    },
  };
}
