import { emailOutbox, executions } from '@strata/db';
import { desc, eq } from 'drizzle-orm';
import { listOutboxInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

/** The email agent's outbox (used when no SMTP server is configured): nothing is ever silently dropped. */
export const outboxRouter = router({
  list: authedProcedure.input(listOutboxInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    const messages = await ctx.db
      .select({
        id: emailOutbox.id,
        executionId: emailOutbox.executionId,
        taskId: emailOutbox.taskId,
        from: emailOutbox.from,
        to: emailOutbox.to,
        cc: emailOutbox.cc,
        subject: emailOutbox.subject,
        text: emailOutbox.text,
        html: emailOutbox.html,
        createdAt: emailOutbox.createdAt,
      })
      .from(emailOutbox)
      .innerJoin(executions, eq(executions.id, emailOutbox.executionId))
      .where(eq(executions.workspaceId, input.workspaceId))
      .orderBy(desc(emailOutbox.createdAt))
      .limit(input.limit);
    return { messages };
  }),
});
