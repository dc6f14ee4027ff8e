import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing.ts';

/**
 * Membership by invitation (finding 10): inviting reveals nothing about accounts and adds
 * nobody; the invitee accepts or declines; admins list, change and remove members; a workspace
 * never loses its last owner (the race of two owners is forced in packages/auth/src/members.test.ts).
 */
let h: ApiHarness;
let userCount = 0;

async function newUser(label = 'user') {
  userCount += 1;
  const email = `${label}-${userCount}@example.com`;
  return { email, ...(await h.signup(email)) };
}
const invite = (token: string, ws: string, email: string, role = 'viewer') => h.call('POST', `/api/workspaces/${ws}/members`, { token, body: { email, role } });
const members = async (token: string, ws: string) => h.call('GET', `/api/workspaces/${ws}/members`, { token });
const setRole = (token: string, ws: string, userId: string, role: string) => h.call('PATCH', `/api/workspaces/${ws}/members/${userId}`, { token, body: { role } });
const remove = (token: string, ws: string, userId: string) => h.call('DELETE', `/api/workspaces/${ws}/members/${userId}`, { token });
const roleOf = async (ws: string, userId: string) => (await h.database.sql`select role from memberships where workspace_id = ${ws} and user_id = ${userId}`)[0]?.role ?? null;

beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('inviting', () => {
  it('answers the same 201 for a known and an unknown email, revealing no account and adding nobody', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token, 'Acme');
    const known = await newUser('known');
    const a = await invite(owner.token, ws, known.email);
    const b = await invite(owner.token, ws, 'nobody-here@example.com');
    for (const [res, email] of [
      [a, known.email],
      [b, 'nobody-here@example.com'],
    ] as const) {
      expect(res.status).toBe(201);
      expect(Object.keys(res.body)).toEqual(['invitation']);
      expect(Object.keys(res.body.invitation).sort()).toEqual(['email', 'expiresAt', 'id', 'role', 'status', 'workspaceId']);
      expect(res.body.invitation).toMatchObject({ workspaceId: ws, email, role: 'viewer', status: 'pending' });
      expect(res.body.invitation.id).toMatch(/^inv_/);
      const days = (new Date(res.body.invitation.expiresAt).getTime() - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(13.9);
      expect(days).toBeLessThan(14.1);
    }
    expect(JSON.stringify(a.body)).not.toContain(known.userId);
    expect(await roleOf(ws, known.userId)).toBeNull();
  });

  it('updates the role of a pending invitation instead of failing, and checks the email', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token);
    const first = await invite(owner.token, ws, 'Repeat@Example.com', 'viewer');
    const second = await invite(owner.token, ws, 'repeat@example.com', 'operator');
    expect(second.status).toBe(201);
    expect(second.body.invitation).toMatchObject({ id: first.body.invitation.id, role: 'operator', email: 'repeat@example.com' });
    expect(await invite(owner.token, ws, 'not an email')).toMatchObject({ status: 400, body: { error: 'email: must be a valid email address' } });
    expect(await invite(owner.token, ws, 'x@example.com', 'emperor')).toMatchObject({ status: 400 });
  });
});

describe('the invitee', () => {
  it('sees the invitation after logging in, with the workspace and the inviter, and accepts it', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token, 'Invited here');
    const inv = (await invite(owner.token, ws, 'later@example.com', 'operator')).body.invitation;
    // The account is made after the invitation: it is matched by email.
    const invitee = await newUser('unused');
    const later = await h.signup('LATER@example.com');
    expect((await h.call('GET', '/api/invitations', { token: invitee.token })).body).toEqual({ invitations: [] });
    const listed = await h.call('GET', '/api/invitations', { token: later.token });
    expect(listed.status).toBe(200);
    expect(listed.body.invitations).toEqual([
      expect.objectContaining({ id: inv.id, role: 'operator', status: 'pending', workspace: { id: ws, name: 'Invited here' }, invitedBy: { name: null, email: owner.email } }),
    ]);

    expect(await h.call('POST', `/api/invitations/${inv.id}/accept`, { token: invitee.token })).toMatchObject({ status: 404, body: { error: 'Invitation not found' } });
    const accepted = await h.call('POST', `/api/invitations/${inv.id}/accept`, { token: later.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ invitation: { id: inv.id, status: 'accepted' }, workspace: { id: ws, name: 'Invited here', role: 'operator' } });
    expect(await roleOf(ws, later.userId)).toBe('operator');
    expect((await h.call('GET', '/api/me', { token: later.token })).body.workspaces).toEqual([{ id: ws, name: 'Invited here', role: 'operator' }]);
    // Used: 409 for accept and decline alike; no longer listed.
    expect(await h.call('POST', `/api/invitations/${inv.id}/accept`, { token: later.token })).toMatchObject({ status: 409, body: { error: 'Invitation already accepted' } });
    expect((await h.call('POST', `/api/invitations/${inv.id}/decline`, { token: later.token })).status).toBe(409);
    expect((await h.call('GET', '/api/invitations', { token: later.token })).body.invitations).toEqual([]);
  });

  it('declines, and an expired or revoked invitation answers 409', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token);
    const invitee = await newUser('invitee');
    const declined = (await invite(owner.token, ws, invitee.email)).body.invitation;
    expect(await h.call('POST', `/api/invitations/${declined.id}/decline`, { token: invitee.token })).toMatchObject({ status: 200, body: { invitation: { status: 'declined' } } });
    expect(await roleOf(ws, invitee.userId)).toBeNull();

    const expired = (await invite(owner.token, ws, invitee.email)).body.invitation;
    expect(expired.id).not.toBe(declined.id);
    await h.database.sql`update invitations set expires_at = now() - interval '1 second' where id = ${expired.id}`;
    expect((await h.call('GET', '/api/invitations', { token: invitee.token })).body.invitations).toEqual([]);
    expect(await h.call('POST', `/api/invitations/${expired.id}/accept`, { token: invitee.token })).toMatchObject({ status: 409, body: { error: 'Invitation has expired' } });

    // Inviting again renews the expired pending invitation.
    const renewed = (await invite(owner.token, ws, invitee.email, 'admin')).body.invitation;
    expect(renewed.id).toBe(expired.id);
    expect(new Date(renewed.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(await h.call('DELETE', `/api/workspaces/${ws}/invitations/${renewed.id}`, { token: owner.token })).toMatchObject({ status: 200, body: { invitation: { status: 'revoked' } } });
    expect((await h.call('DELETE', `/api/workspaces/${ws}/invitations/${renewed.id}`, { token: owner.token })).status).toBe(409);
    expect(await h.call('POST', `/api/invitations/${renewed.id}/accept`, { token: invitee.token })).toMatchObject({ status: 409 });
    expect(await roleOf(ws, invitee.userId)).toBeNull();
  });

  it('a workspace-bound token can neither see nor answer invitations', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token);
    const invitee = await newUser('bound');
    const own = await h.createWorkspace(invitee.token);
    const bound = (await h.call('POST', '/api/tokens', { token: invitee.token, body: { name: 'ci', workspaceId: own } })).body.token;
    const inv = (await invite(owner.token, ws, invitee.email)).body.invitation;
    expect((await h.call('GET', '/api/invitations', { token: bound })).status).toBe(403);
    expect((await h.call('POST', `/api/invitations/${inv.id}/accept`, { token: bound })).status).toBe(403);
    expect((await h.call('GET', '/api/invitations')).status).toBe(401);
  });
});

describe('managing members', () => {
  it('admins list members with pending invitations; viewers and outsiders may not', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token, 'Listed');
    const admin = await newUser('admin');
    const viewer = await newUser('viewer');
    await h.addMember(owner.token, ws, admin, 'admin');
    await h.addMember(owner.token, ws, viewer, 'viewer');
    await invite(admin.token, ws, 'pending@example.com', 'operator');
    const res = await members(admin.token, ws);
    expect(res.status).toBe(200);
    expect(res.body.members.map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([
      [owner.email, 'owner'],
      [admin.email, 'admin'],
      [viewer.email, 'viewer'],
    ]);
    expect(res.body.invitations).toEqual([expect.objectContaining({ email: 'pending@example.com', role: 'operator', status: 'pending' })]);
    expect((await members(viewer.token, ws)).status).toBe(403);
    expect((await members((await newUser('outsider')).token, ws)).status).toBe(403);
  });

  it('admins remove and re-role operators, viewers and admins; only owners touch owners; members may leave', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token);
    const [admin, admin2, operator, viewer, coOwner] = [await newUser('admin'), await newUser('admin2'), await newUser('operator'), await newUser('viewer'), await newUser('co-owner')];
    await h.addMember(owner.token, ws, admin, 'admin');
    await h.addMember(owner.token, ws, admin2, 'admin');
    await h.addMember(owner.token, ws, operator, 'operator');
    await h.addMember(owner.token, ws, viewer, 'viewer');
    await h.addMember(owner.token, ws, coOwner, 'owner');

    expect(await setRole(admin.token, ws, operator.userId, 'viewer')).toMatchObject({ status: 200, body: { member: { userId: operator.userId, role: 'viewer' } } });
    expect(await setRole(admin.token, ws, operator.userId, 'owner')).toMatchObject({ status: 403 });
    expect(await setRole(admin.token, ws, coOwner.userId, 'admin')).toMatchObject({ status: 403 });
    expect(await remove(admin.token, ws, coOwner.userId)).toMatchObject({ status: 403 });
    expect(await setRole(viewer.token, ws, operator.userId, 'admin')).toMatchObject({ status: 403 });
    expect(await remove(viewer.token, ws, operator.userId)).toMatchObject({ status: 403 });
    expect(await remove(admin.token, ws, 'usr_nobody')).toMatchObject({ status: 404, body: { error: 'Member not found' } });

    expect(await remove(admin.token, ws, admin2.userId)).toMatchObject({ status: 200, body: { success: true } });
    expect(await remove(admin.token, ws, operator.userId)).toMatchObject({ status: 200 });
    expect(await remove(viewer.token, ws, viewer.userId)).toMatchObject({ status: 200 });
    expect(await remove(owner.token, ws, coOwner.userId)).toMatchObject({ status: 200 });
    for (const gone of [admin2, operator, viewer, coOwner]) expect(await roleOf(ws, gone.userId)).toBeNull();
    // A removed member has no access any more.
    expect((await h.call('GET', `/api/strategies?workspaceId=${ws}`, { token: viewer.token })).status).toBe(403);
  });

  it('the last owner can neither leave, nor be removed, nor be demoted (409); with a second owner they can', async () => {
    const owner = await newUser('owner');
    const ws = await h.createWorkspace(owner.token);
    expect(await remove(owner.token, ws, owner.userId)).toMatchObject({ status: 409, body: { error: expect.stringMatching(/last owner/) } });
    expect(await setRole(owner.token, ws, owner.userId, 'admin')).toMatchObject({ status: 409 });
    expect(await roleOf(ws, owner.userId)).toBe('owner');
    const second = await newUser('second');
    await h.addMember(owner.token, ws, second, 'owner');
    expect((await setRole(owner.token, ws, owner.userId, 'admin')).status).toBe(200);
    expect(await remove(second.token, ws, second.userId)).toMatchObject({ status: 409 });
    expect((await remove(owner.token, ws, owner.userId)).status).toBe(200);
    expect(await roleOf(ws, second.userId)).toBe('owner');
  });
});

describe('the OpenAPI document', () => {
  it('describes the membership, invitation and password endpoints', async () => {
    const doc = (await h.call('GET', '/api/openapi.json')).body;
    for (const [path, method] of [
      ['/api/workspaces/{id}/members', 'post'],
      ['/api/workspaces/{id}/members', 'get'],
      ['/api/workspaces/{id}/members/{userId}', 'patch'],
      ['/api/workspaces/{id}/members/{userId}', 'delete'],
      ['/api/workspaces/{id}/invitations/{invitationId}', 'delete'],
      ['/api/invitations', 'get'],
      ['/api/invitations/{id}/accept', 'post'],
      ['/api/invitations/{id}/decline', 'post'],
      ['/api/auth/password', 'post'],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const invite = doc.paths['/api/workspaces/{id}/members'].post;
    expect(invite.responses['201'].content['application/json'].schema.properties.invitation.properties).not.toHaveProperty('userId');
    expect(doc.paths['/api/auth/password'].post.requestBody.content['application/json'].schema.required).toEqual(['currentPassword', 'newPassword']);
  });
});
