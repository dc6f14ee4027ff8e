import type { Principal } from '@strata/auth';
import { createWebhook, deleteWebhook, findWebhook, listWebhookDeliveries, listWebhooks, sendTestDelivery } from '@strata/engine';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { createWebhookInput, listWebhooksInput, webhookDeliveriesInput, webhookIdInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

/** The webhook's workspace role check: 404 when it does not exist, 403 unless the caller is an admin or owner there. */
async function authorizeWebhook(ctx: ApiContext & { principal: Principal }, id: string) {
  const found = await findWebhook(ctx.db, id);
  if (!found) throw notFound('Webhook not found');
  await requireRole(ctx, found.workspaceId, 'manage');
  return found;
}

const NO_HOSTS: ReadonlySet<string> = new Set();

/**
 * Alerts by webhook. Admins and owners only, reads included: a webhook's URL may carry a token
 * of the receiving service.
 */
export const webhooksRouter = router({
  /** The answer alone carries the signing secret. */
  create: authedProcedure.input(createWebhookInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'manage');
    return { webhook: await createWebhook(ctx.db, { ...input, createdBy: ctx.principal.user.id }, ctx.webhookAllowHosts ?? NO_HOSTS) };
  }),
  list: authedProcedure.input(listWebhooksInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'manage');
    return { webhooks: await listWebhooks(ctx.db, input.workspaceId) };
  }),
  delete: authedProcedure.input(webhookIdInput).mutation(async ({ ctx, input }) => {
    await authorizeWebhook(ctx, input.id);
    await deleteWebhook(ctx.db, input.id);
    return { success: true as const };
  }),
  /** Newest first, a page at a time. */
  deliveries: authedProcedure.input(webhookDeliveriesInput).query(async ({ ctx, input }) => {
    await authorizeWebhook(ctx, input.id);
    return listWebhookDeliveries(ctx.db, input.id, { limit: input.limit, cursor: input.cursor });
  }),
  /** Queues a `webhook.test` delivery and returns it (pending). */
  test: authedProcedure.input(webhookIdInput).mutation(async ({ ctx, input }) => {
    await authorizeWebhook(ctx, input.id);
    return { delivery: await sendTestDelivery(ctx.engine, input.id) };
  }),
});
