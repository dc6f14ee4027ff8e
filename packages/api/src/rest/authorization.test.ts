import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness, type CallResult } from '../testing.ts';

/**
 * Who may do what (DESIGN.md, "Roles"): viewer reads; operator also starts and controls
 * executions; admin also manages strategies, members and workspace-bound tokens; owner
 * everything; someone without a membership nothing in the workspace. Then the credentials
 * themselves: sessions, cookies, API tokens, their binding, revocation and expiry.
 *
 * No worker runs here: a started execution stays `running`, so pause, resume and cancel always
 * have something to act on.
 */

type Caller = 'owner' | 'admin' | 'operator' | 'viewer' | 'outsider';
type Need = 'viewer' | 'operator' | 'admin' | 'owner' | 'anyone';

const CALLERS: Caller[] = ['owner', 'admin', 'operator', 'viewer', 'outsider'];
const RANK: Record<Caller, number> = { outsider: 0, viewer: 1, operator: 2, admin: 3, owner: 4 };
const allows = (caller: Caller, need: Need) => need === 'anyone' || RANK[caller] >= RANK[need];

let h: ApiHarness;
const tokens = {} as Record<Caller, string>;
let workspaceId: string;
let strategyId: string;
let executionId: string;
let userCount = 0;

const ITEMS = [{ key: 'a', description: 'Write the post', agentType: 'content' }];
const DENIED = { status: 403, body: { error: 'Access denied' } };
const UNAUTHORIZED = { status: 401, body: { error: 'Unauthorized' } };

/** A fresh user, signed up through the API; answers its session token. */
async function newUser(label = 'user') {
  userCount += 1;
  const email = `${label}-${userCount}@example.com`;
  const { token, userId } = await h.signup(email);
  return { email, token, userId };
}

/** Invites an email (adding a member is an invitation the invitee must accept). */
async function invite(token: string, wsId: string, email: string, role: string) {
  return h.call('POST', `/api/workspaces/${wsId}/members`, { token, body: { email, role } });
}

/** Starts an execution as the owner; it stays running (no worker). */
async function startAsOwner(): Promise<string> {
  const res = await h.call('POST', '/api/executions/start', { token: tokens.owner, body: { strategyId, workspaceId } });
  expect(res.status).toBe(200);
  return res.body.executionId;
}

async function createToken(sessionToken: string, body: Record<string, unknown>) {
  const res = await h.call('POST', '/api/tokens', { token: sessionToken, body });
  expect(res.status).toBe(201);
  return res.body as { id: string; token: string; workspaceId: string | null };
}

beforeAll(async () => {
  h = await createApiHarness();
  const owner = await newUser('owner');
  tokens.owner = owner.token;
  workspaceId = await h.createWorkspace(owner.token, 'Acme');
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    const user = await newUser(role);
    tokens[role] = user.token;
    await h.addMember(owner.token, workspaceId, user, role);
  }
  tokens.outsider = (await newUser('outsider')).token;
  const created = await h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId, name: 'Launch', items: ITEMS } });
  expect(created.status).toBe(201);
  strategyId = created.body.strategy.id;
  executionId = await startAsOwner();
});
afterAll(async () => {
  await h?.close();
});

/**
 * Every procedure touching the workspace, with the least role it needs. Each request sets up
 * what it acts on itself, so an allowed call always has a fresh, valid target.
 */
const PROCEDURES: { name: string; need: Need; success: number; request: (token: string) => Promise<CallResult> }[] = [
  { name: 'GET /api/me', need: 'anyone', success: 200, request: (token) => h.call('GET', '/api/me', { token }) },
  { name: 'GET /api/strategies/:id', need: 'viewer', success: 200, request: (token) => h.call('GET', `/api/strategies/${strategyId}`, { token }) },
  { name: 'GET /api/strategies', need: 'viewer', success: 200, request: (token) => h.call('GET', `/api/strategies?workspaceId=${workspaceId}`, { token }) },
  { name: 'GET /api/executions/:id/status', need: 'viewer', success: 200, request: (token) => h.call('GET', `/api/executions/${executionId}/status`, { token }) },
  { name: 'GET /api/executions', need: 'viewer', success: 200, request: (token) => h.call('GET', `/api/executions?workspaceId=${workspaceId}`, { token }) },
  {
    name: 'POST /api/executions/start',
    need: 'operator',
    success: 200,
    request: (token) => h.call('POST', '/api/executions/start', { token, body: { strategyId, workspaceId } }),
  },
  {
    name: 'POST /api/executions/:id/pause',
    need: 'operator',
    success: 200,
    request: async (token) => h.call('POST', `/api/executions/${await startAsOwner()}/pause`, { token }),
  },
  {
    name: 'POST /api/executions/:id/resume',
    need: 'operator',
    success: 200,
    request: async (token) => {
      const id = await startAsOwner();
      expect((await h.call('POST', `/api/executions/${id}/pause`, { token: tokens.owner })).status).toBe(200);
      return h.call('POST', `/api/executions/${id}/resume`, { token });
    },
  },
  {
    name: 'POST /api/executions/:id/cancel',
    need: 'operator',
    success: 200,
    request: async (token) => h.call('POST', `/api/executions/${await startAsOwner()}/cancel`, { token }),
  },
  {
    name: 'POST /api/executions/:id/retry',
    need: 'operator',
    success: 201,
    request: async (token) => {
      // Cancelled before any task started: settled at once, so it can be re-run.
      const id = await startAsOwner();
      expect((await h.call('POST', `/api/executions/${id}/cancel`, { token: tokens.owner })).status).toBe(200);
      return h.call('POST', `/api/executions/${id}/retry`, { token });
    },
  },
  {
    name: 'POST /api/strategies',
    need: 'admin',
    success: 201,
    request: (token) => h.call('POST', '/api/strategies', { token, body: { workspaceId, name: 'Another', items: ITEMS } }),
  },
  {
    name: 'POST /api/workspaces/:id/members',
    need: 'admin',
    success: 201,
    request: async (token) => invite(token, workspaceId, (await newUser('invitee')).email, 'viewer'),
  },
  {
    name: 'POST /api/tokens (workspace-bound)',
    need: 'admin',
    success: 201,
    request: (token) => h.call('POST', '/api/tokens', { token, body: { name: 'ci', workspaceId } }),
  },
];

describe('the role matrix', () => {
  const cases = CALLERS.flatMap((caller) => PROCEDURES.map((procedure) => [caller, procedure.name, allows(caller, procedure.need)] as const));

  it('covers five callers and every procedure', () => {
    expect(cases).toHaveLength(5 * PROCEDURES.length);
  });

  it.each(cases)('%s → %s: allowed %s', async (caller, name, allowed) => {
    const procedure = PROCEDURES.find((p) => p.name === name)!;
    const res = await procedure.request(tokens[caller]);
    if (allowed) expect(res.status, JSON.stringify(res.body)).toBe(procedure.success);
    else expect(res).toMatchObject(DENIED);
  });

  it('refuses without writing anything', async () => {
    const count = async () =>
      (await h.database.sql`select (select count(*) from strategies)::int as s, (select count(*) from memberships)::int as m, (select count(*) from invitations)::int as i, (select count(*) from api_tokens)::int as t, (select count(*) from executions)::int as e`)[0];
    const before = await count();
    const invitee = await newUser('never-added');
    for (const caller of ['viewer', 'outsider'] as const) {
      const token = tokens[caller];
      expect(await h.call('POST', '/api/strategies', { token, body: { workspaceId, name: 'Nope', items: ITEMS } })).toMatchObject(DENIED);
      expect(await invite(token, workspaceId, invitee.email, 'viewer')).toMatchObject(DENIED);
      expect(await h.call('POST', '/api/tokens', { token, body: { name: 'nope', workspaceId } })).toMatchObject(DENIED);
      expect(await h.call('POST', '/api/executions/start', { token, body: { strategyId, workspaceId } })).toMatchObject(DENIED);
    }
    expect(await count()).toEqual(before);
  });

  it('leaves a refused execution as it was', async () => {
    for (const caller of ['viewer', 'outsider'] as const) {
      for (const action of ['pause', 'cancel']) {
        expect(await h.call('POST', `/api/executions/${executionId}/${action}`, { token: tokens[caller] })).toMatchObject(DENIED);
      }
    }
    const status = await h.call('GET', `/api/executions/${executionId}/status`, { token: tokens.owner });
    expect(status.body.execution.status).toBe('running');
  });

  it('GET /api/me lists the workspace with each member’s role, and not to the outsider', async () => {
    for (const caller of CALLERS) {
      const res = await h.call('GET', '/api/me', { token: tokens[caller] });
      const entry = res.body.workspaces.find((w: { id: string }) => w.id === workspaceId);
      if (caller === 'outsider') expect(entry).toBeUndefined();
      else expect(entry).toEqual({ id: workspaceId, name: 'Acme', role: caller });
    }
  });
});

describe('owners', () => {
  it('only an owner may invite another owner', async () => {
    const candidate = await newUser('candidate');
    const byAdmin = await invite(tokens.admin, workspaceId, candidate.email, 'owner');
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.error).toMatch(/^Access denied/);
    const [row] = await h.database.sql`select count(*)::int as n from invitations where email = ${candidate.email}`;
    expect(row?.n).toBe(0);
    const byOwner = await invite(tokens.owner, workspaceId, candidate.email, 'owner');
    expect(byOwner.status).toBe(201);
    expect(byOwner.body.invitation.role).toBe('owner');
    const [member] = await h.database.sql`select count(*)::int as n from memberships where user_id = ${candidate.userId}`;
    expect(member?.n).toBe(0);
  });

  it('an admin cannot demote an owner (nor promote themselves)', async () => {
    const ws = await h.createWorkspace(tokens.owner, 'Guarded');
    const owner = (await h.call('GET', '/api/me', { token: tokens.owner })).body.user;
    const admin = await newUser('ambitious');
    await h.addMember(tokens.owner, ws, admin, 'admin');
    const demote = await h.call('PATCH', `/api/workspaces/${ws}/members/${owner.id}`, { token: admin.token, body: { role: 'viewer' } });
    expect(demote.status).toBe(403);
    expect(demote.body.error).toMatch(/^Access denied/);
    expect((await h.call('PATCH', `/api/workspaces/${ws}/members/${admin.userId}`, { token: admin.token, body: { role: 'owner' } })).status).toBe(403);
    expect((await invite(admin.token, ws, admin.email, 'owner')).status).toBe(403);
    const roles = await h.database.sql`select user_id, role from memberships where workspace_id = ${ws} order by role`;
    expect(roles.map((r) => [r.user_id, r.role])).toEqual([
      [admin.userId, 'admin'],
      [owner.id, 'owner'],
    ]);
  });
});

describe('workspace-bound API tokens', () => {
  let other: string;
  let otherStrategy: string;
  let otherExecution: string;
  let bound: string;

  beforeAll(async () => {
    other = await h.createWorkspace(tokens.owner, 'Other');
    const created = await h.call('POST', '/api/strategies', { token: tokens.owner, body: { workspaceId: other, name: 'Elsewhere', items: ITEMS } });
    otherStrategy = created.body.strategy.id;
    otherExecution = (await h.call('POST', '/api/executions/start', { token: tokens.owner, body: { strategyId: otherStrategy, workspaceId: other } })).body.executionId;
    const token = await createToken(tokens.owner, { name: 'bound to Acme', workspaceId });
    expect(token.token).toMatch(/^strata_/);
    expect(token.id).toMatch(/^tok_/);
    expect(token.workspaceId).toBe(workspaceId);
    bound = token.token;
  });

  it('works in its own workspace', async () => {
    expect((await h.call('GET', `/api/strategies?workspaceId=${workspaceId}`, { token: bound })).status).toBe(200);
    expect((await h.call('GET', `/api/executions/${executionId}/status`, { token: bound })).status).toBe(200);
    expect((await h.call('POST', '/api/executions/start', { token: bound, body: { strategyId, workspaceId } })).status).toBe(200);
  });

  it('is refused on another workspace its user owns', async () => {
    expect(await h.call('GET', `/api/strategies?workspaceId=${other}`, { token: bound })).toMatchObject(DENIED);
    expect(await h.call('GET', `/api/strategies/${otherStrategy}`, { token: bound })).toMatchObject(DENIED);
    expect(await h.call('GET', `/api/executions?workspaceId=${other}`, { token: bound })).toMatchObject(DENIED);
    expect(await h.call('GET', `/api/executions/${otherExecution}/status`, { token: bound })).toMatchObject(DENIED);
    expect(await h.call('POST', '/api/executions/start', { token: bound, body: { strategyId: otherStrategy, workspaceId: other } })).toMatchObject(DENIED);
    for (const action of ['pause', 'resume', 'cancel']) {
      expect(await h.call('POST', `/api/executions/${otherExecution}/${action}`, { token: bound })).toMatchObject(DENIED);
    }
    expect(await h.call('POST', '/api/strategies', { token: bound, body: { workspaceId: other, name: 'x', items: ITEMS } })).toMatchObject(DENIED);
    expect(await invite(bound, other, 'anyone@example.com', 'viewer')).toMatchObject(DENIED);
    expect(await h.call('POST', '/api/workspaces', { token: bound, body: { name: 'Escape' } })).toMatchObject(DENIED);
  });

  it('sees only its own workspace in GET /api/me', async () => {
    const me = await h.call('GET', '/api/me', { token: bound });
    expect(me.body.workspaces).toEqual([{ id: workspaceId, name: 'Acme', role: 'owner' }]);
  });

  it('cannot be made for a workspace its user is not a member of', async () => {
    const outsider = await newUser('binder');
    expect(await h.call('POST', '/api/tokens', { token: outsider.token, body: { name: 'sneaky', workspaceId } })).toMatchObject(DENIED);
  });
});

describe('API tokens', () => {
  it('cannot create, list or revoke tokens', async () => {
    const unbound = await createToken(tokens.owner, { name: 'automation' });
    const victim = await createToken(tokens.owner, { name: 'victim' });
    expect(await h.call('POST', '/api/tokens', { token: unbound.token, body: { name: 'child' } })).toMatchObject(DENIED);
    expect(await h.call('POST', '/api/tokens', { token: unbound.token, body: { name: 'child', workspaceId } })).toMatchObject(DENIED);
    expect(await h.call('GET', '/api/tokens', { token: unbound.token })).toMatchObject(DENIED);
    expect(await h.call('DELETE', `/api/tokens/${victim.id}`, { token: unbound.token })).toMatchObject(DENIED);
    expect(await h.call('DELETE', `/api/tokens/${unbound.id}`, { token: unbound.token })).toMatchObject(DENIED);
    expect((await h.call('GET', '/api/me', { token: victim.token })).status).toBe(200);
  });

  it('a revoked token gets 401 at once', async () => {
    const created = await createToken(tokens.owner, { name: 'short-lived' });
    expect((await h.call('GET', `/api/strategies?workspaceId=${workspaceId}`, { token: created.token })).status).toBe(200);
    const revoked = await h.call('DELETE', `/api/tokens/${created.id}`, { token: tokens.owner });
    expect(revoked.status).toBe(200);
    expect(await h.call('GET', `/api/strategies?workspaceId=${workspaceId}`, { token: created.token })).toMatchObject(UNAUTHORIZED);
    expect(await h.call('GET', '/api/me', { token: created.token })).toMatchObject(UNAUTHORIZED);
    // Revoking again is harmless; another user cannot revoke (or even see) it.
    expect((await h.call('DELETE', `/api/tokens/${created.id}`, { token: tokens.owner })).status).toBe(200);
    expect(await h.call('DELETE', `/api/tokens/${created.id}`, { token: tokens.admin })).toMatchObject({ status: 404 });
  });

  it('another user cannot revoke my token', async () => {
    const created = await createToken(tokens.owner, { name: 'mine' });
    expect((await h.call('DELETE', `/api/tokens/${created.id}`, { token: tokens.admin })).status).toBe(404);
    expect((await h.call('GET', '/api/me', { token: created.token })).status).toBe(200);
  });

  it('an expired token gets 401', async () => {
    const created = await createToken(tokens.owner, { name: 'expiring', expiresInDays: 1 });
    expect((await h.call('GET', '/api/me', { token: created.token })).status).toBe(200);
    await h.database.sql`update api_tokens set expires_at = now() - interval '1 second' where id = ${created.id}`;
    expect(await h.call('GET', '/api/me', { token: created.token })).toMatchObject(UNAUTHORIZED);
    expect(await h.call('POST', '/api/executions/start', { token: created.token, body: { strategyId, workspaceId } })).toMatchObject(UNAUTHORIZED);
  });
});

describe('sessions', () => {
  it('signup answers 201 with user and token and sets the session cookie', async () => {
    const res = await h.call('POST', '/api/auth/signup', { body: { email: 'New.Person@Example.com', password: 'correct horse battery', name: 'New Person' } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['token', 'user']);
    expect(res.body.user).toMatchObject({ email: 'new.person@example.com', name: 'New Person' });
    expect(res.body.user.id).toMatch(/^usr_/);
    expect(res.body.user).not.toHaveProperty('passwordHash');
    expect(typeof res.body.token).toBe('string');
    const cookie = res.headers.get('set-cookie');
    expect(cookie).toContain(`strata_session=${res.body.token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect((await h.call('GET', '/api/me', { token: res.body.token })).status).toBe(200);
  });

  it('login answers 200 with a working token; a wrong password or unknown email 401', async () => {
    const user = await newUser('login');
    const res = await h.call('POST', '/api/auth/login', { body: { email: user.email.toUpperCase(), password: 'correct horse battery' } });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.userId, email: user.email });
    expect(res.body.token).not.toBe(user.token);
    expect(res.headers.get('set-cookie')).toContain('strata_session=');
    expect((await h.call('GET', '/api/me', { token: res.body.token })).body.user.id).toBe(user.userId);
    for (const body of [
      { email: user.email, password: 'wrong horse battery' },
      { email: 'nobody@example.com', password: 'correct horse battery' },
    ]) {
      const refused = await h.call('POST', '/api/auth/login', { body });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ error: 'Invalid email or password' });
      expect(refused.headers.get('set-cookie')).toBeNull();
    }
  });

  it('a duplicate signup answers 409, whatever the case of the email', async () => {
    const user = await newUser('dup');
    for (const email of [user.email, user.email.toUpperCase()]) {
      const res = await h.call('POST', '/api/auth/signup', { body: { email, password: 'another password' } });
      expect(res.status).toBe(409);
      expect(typeof res.body.error).toBe('string');
    }
    const [row] = await h.database.sql`select count(*)::int as n from users where lower(email) = ${user.email}`;
    expect(row?.n).toBe(1);
  });

  it('GET /api/me answers { user, workspaces: [{ id, name, role }] }', async () => {
    const user = await newUser('me');
    const ws = await h.createWorkspace(user.token, 'Mine');
    await h.addMember(tokens.owner, workspaceId, user, 'operator');
    const res = await h.call('GET', '/api/me', { token: user.token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['user', 'workspaces']);
    expect(res.body.user).toMatchObject({ id: user.userId, email: user.email });
    expect(res.body.workspaces).toHaveLength(2);
    expect(res.body.workspaces).toEqual(
      expect.arrayContaining([
        { id: ws, name: 'Mine', role: 'owner' },
        { id: workspaceId, name: 'Acme', role: 'operator' },
      ]),
    );
    expect(await h.call('GET', '/api/me')).toMatchObject(UNAUTHORIZED);
  });

  it('the session cookie works like Bearer', async () => {
    const cookie = (token: string) => ({ headers: { cookie: `theme=dark; strata_session=${token}` } });
    const me = await h.call('GET', '/api/me', cookie(tokens.viewer));
    expect(me.status).toBe(200);
    expect(me.body.workspaces).toEqual([{ id: workspaceId, name: 'Acme', role: 'viewer' }]);
    expect((await h.call('GET', `/api/strategies/${strategyId}`, cookie(tokens.viewer))).status).toBe(200);
    expect(await h.call('POST', '/api/executions/start', { ...cookie(tokens.viewer), body: { strategyId, workspaceId } })).toMatchObject(DENIED);
    expect((await h.call('POST', '/api/executions/start', { ...cookie(tokens.operator), body: { strategyId, workspaceId } })).status).toBe(200);
    expect(await h.call('GET', '/api/me', cookie('not-a-session'))).toMatchObject(UNAUTHORIZED);
    expect(await h.call('GET', '/api/me', cookie(tokens.outsider))).toMatchObject({ status: 200, body: { workspaces: [] } });
  });

  it('a session (cookie or Bearer) may manage tokens', async () => {
    const created = await h.call('POST', '/api/tokens', { headers: { cookie: `strata_session=${tokens.admin}` }, body: { name: 'from the dashboard' } });
    expect(created.status).toBe(201);
    expect((await h.call('DELETE', `/api/tokens/${created.body.id}`, { headers: { cookie: `strata_session=${tokens.admin}` } })).status).toBe(200);
  });

  it('logout makes the session token 401, as Bearer and as cookie', async () => {
    const user = await newUser('leaving');
    const other = (await h.call('POST', '/api/auth/login', { body: { email: user.email, password: 'correct horse battery' } })).body.token;
    const res = await h.call('POST', '/api/auth/logout', { token: user.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/strata_session=;.*Max-Age=0/);
    expect(await h.call('GET', '/api/me', { token: user.token })).toMatchObject(UNAUTHORIZED);
    expect(await h.call('GET', '/api/me', { headers: { cookie: `strata_session=${user.token}` } })).toMatchObject(UNAUTHORIZED);
    expect(await h.call('POST', '/api/auth/logout', { token: user.token })).toMatchObject(UNAUTHORIZED);
    // Only that session ends: another login of the same user still works.
    expect((await h.call('GET', '/api/me', { token: other })).status).toBe(200);
  });

  it('logout through the cookie ends that session', async () => {
    const user = await newUser('cookie-leaving');
    expect((await h.call('POST', '/api/auth/logout', { headers: { cookie: `strata_session=${user.token}` } })).status).toBe(200);
    expect(await h.call('GET', '/api/me', { token: user.token })).toMatchObject(UNAUTHORIZED);
  });
});
