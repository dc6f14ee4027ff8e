import {
  changePassword,
  clearSessionCookieHeader,
  createSession,
  generateSessionToken,
  invalidateSession,
  listMemberships,
  logIn,
  sessionCookieHeader,
  signUp,
} from '@strata/auth';
import type { ApiContext } from '../context.ts';
import { accessDenied } from '../errors.ts';
import { changePasswordInput, loginInput, signupInput } from '../schemas.ts';
import { authedProcedure, publicProcedure, router } from '../trpc.ts';

/** A new session: its token is returned (a Bearer credential) and set as the browser's cookie. */
async function openSession(ctx: ApiContext, userId: string) {
  const token = generateSessionToken();
  const session = await createSession(ctx.db, token, userId);
  ctx.responseHeaders.append('Set-Cookie', sessionCookieHeader(token, session.expiresAt, { secure: ctx.secureCookies ?? false }));
  return token;
}

/** Who is attempting a password, for the login throttle (per account and per client address). */
const attempt = (ctx: ApiContext) => ({ clientAddress: ctx.clientAddress, throttle: ctx.loginThrottle });

export const authRouter = router({
  signup: publicProcedure.input(signupInput).mutation(async ({ ctx, input }) => {
    const user = await signUp(ctx.db, input);
    return { user, token: await openSession(ctx, user.id) };
  }),
  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const user = await logIn(ctx.db, input, attempt(ctx));
    return { user, token: await openSession(ctx, user.id) };
  }),
  logout: authedProcedure.mutation(async ({ ctx }) => {
    if (ctx.principal.sessionId) await invalidateSession(ctx.db, ctx.principal.sessionId);
    ctx.responseHeaders.append('Set-Cookie', clearSessionCookieHeader({ secure: ctx.secureCookies ?? false }));
    return { success: true };
  }),
  /**
   * Ends every other session of the user (all of them when called with an API token). A wrong
   * current password answers 403 and counts as a failed login. A token bound to one workspace
   * cannot change the account.
   */
  changePassword: authedProcedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    if (ctx.principal.tokenWorkspaceId) throw accessDenied();
    await changePassword(ctx.db, { userId: ctx.principal.user.id, ...input, keepSessionId: ctx.principal.sessionId ?? null }, attempt(ctx));
    return { success: true as const };
  }),
  me: authedProcedure.query(async ({ ctx }) => ({
    user: ctx.principal.user,
    workspaces: await listMemberships(ctx.db, ctx.principal),
  })),
});
