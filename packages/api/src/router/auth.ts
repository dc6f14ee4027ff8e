import { clearSessionCookieHeader, createSession, generateSessionToken, invalidateSession, logIn, sessionCookieHeader, signUp } from '@strata/auth';
import { listMemberships } from '../workspaces.ts';
import type { ApiContext } from '../context.ts';
import { loginInput, signupInput } from '../schemas.ts';
import { authedProcedure, publicProcedure, router } from '../trpc.ts';

/** A new session: its token is returned (a Bearer credential) and set as the browser's cookie. */
async function openSession(ctx: ApiContext, userId: string) {
  const token = generateSessionToken();
  const session = await createSession(ctx.db, token, userId);
  ctx.responseHeaders.append('Set-Cookie', sessionCookieHeader(token, session.expiresAt, { secure: ctx.secureCookies ?? false }));
  return token;
}

export const authRouter = router({
  signup: publicProcedure.input(signupInput).mutation(async ({ ctx, input }) => {
    const user = await signUp(ctx.db, input);
    return { user, token: await openSession(ctx, user.id) };
  }),
  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    const user = await logIn(ctx.db, input);
    return { user, token: await openSession(ctx, user.id) };
  }),
  logout: authedProcedure.mutation(async ({ ctx }) => {
    if (ctx.principal.sessionId) await invalidateSession(ctx.db, ctx.principal.sessionId);
    ctx.responseHeaders.append('Set-Cookie', clearSessionCookieHeader({ secure: ctx.secureCookies ?? false }));
    return { success: true };
  }),
  me: authedProcedure.query(async ({ ctx }) => ({
    user: ctx.principal.user,
    workspaces: await listMemberships(ctx.db, ctx.principal),
  })),
});
