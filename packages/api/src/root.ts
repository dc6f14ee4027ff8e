import { agentsRouter } from './router/agents.ts';
import { analyticsRouter } from './router/analytics.ts';
import { approvalsRouter } from './router/approvals.ts';
import { authRouter } from './router/auth.ts';
import { executionsRouter } from './router/executions.ts';
import { invitationsRouter } from './router/invitations.ts';
import { limitsRouter } from './router/limits.ts';
import { outboxRouter } from './router/outbox.ts';
import { signalsRouter } from './router/signals.ts';
import { schedulesRouter } from './router/schedules.ts';
import { strategiesRouter } from './router/strategies.ts';
import { tokensRouter } from './router/tokens.ts';
import { webhooksRouter } from './router/webhooks.ts';
import { workspacesRouter } from './router/workspaces.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  auth: authRouter,
  workspaces: workspacesRouter,
  limits: limitsRouter,
  invitations: invitationsRouter,
  tokens: tokensRouter,
  agents: agentsRouter,
  strategies: strategiesRouter,
  executions: executionsRouter,
  outbox: outboxRouter,
  approvals: approvalsRouter,
  signals: signalsRouter,
  schedules: schedulesRouter,
  analytics: analyticsRouter,
  webhooks: webhooksRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
