import { randomId, type Db, type WebhookEventType, WEBHOOK_EVENT_TYPES, newId } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { EngineContext } from '../context.ts';
import { notFound, validationError } from '../errors.ts';
import { transaction } from '../tx.ts';
import { type CreatedWebhookView, WEBHOOK_LIMITS, type WebhookDeliveryView, type WebhookView } from './contract.ts';
import { queueTestDelivery } from './trigger.ts';
import { checkWebhookUrl } from './url.ts';

export interface CreateWebhookInput {
  workspaceId: string;
  url: string;
  events: readonly string[];
  healthThreshold?: number | undefined;
  createdBy?: string | undefined;
}

/** Orders the count against other creates in the same workspace (the second key is the workspace's hash). */
const LIMIT_LOCK_CLASS = 0x5748;

const iso = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

const webhookColumns = sql`w.id, w.workspace_id as "workspaceId", w.url, w.events, w.health_threshold as "healthThreshold", w.created_by as "createdBy", ${iso('w.created_at')} as "createdAt"`;

const deliveryColumns = sql`d.id, d.webhook_id as "webhookId", d.type, d.execution_id as "executionId", d.status, d.attempts,
  d.last_status_code as "lastStatusCode", d.last_error as "lastError", ${iso('d.last_attempt_at')} as "lastAttemptAt",
  ${iso('d.next_attempt_at')} as "nextAttemptAt", ${iso('d.completed_at')} as "completedAt", ${iso('d.created_at')} as "createdAt"`;

function checkEvents(events: readonly string[]): WebhookEventType[] {
  if (events.length === 0) throw validationError(`events: choose at least one of ${WEBHOOK_EVENT_TYPES.join(', ')}`, { path: 'events' });
  const known = new Set<string>(WEBHOOK_EVENT_TYPES);
  events.forEach((event, i) => {
    if (!known.has(event)) throw validationError(`events[${i}]: ${JSON.stringify(event.slice(0, 60))} is not one of ${WEBHOOK_EVENT_TYPES.join(', ')}`, { path: `events[${i}]` });
  });
  return WEBHOOK_EVENT_TYPES.filter((event) => events.includes(event));
}

/**
 * A new webhook of the workspace and its signing secret (`whsec_` + 32 random characters), which
 * this answer alone carries. Refused (VALIDATION naming the field): a URL that is not http(s),
 * too long, or a private address as written (checkWebhookUrl); no events or an unknown one; a
 * threshold outside 0–100; more than WEBHOOK_LIMITS.perWorkspace webhooks in the workspace.
 */
export async function createWebhook(db: Db, input: CreateWebhookInput, allowHosts: ReadonlySet<string>): Promise<CreatedWebhookView> {
  const url = checkWebhookUrl(input.url, allowHosts);
  const events = checkEvents(input.events);
  const healthThreshold = input.healthThreshold ?? WEBHOOK_LIMITS.defaultHealthThreshold;
  if (!Number.isInteger(healthThreshold) || healthThreshold < 0 || healthThreshold > 100) {
    throw validationError('healthThreshold: must be a whole number from 0 to 100', { path: 'healthThreshold' });
  }
  const secret = `whsec_${randomId(32)}`;
  const id = newId('whk');
  return transaction(db, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LIMIT_LOCK_CLASS}, hashtext(${input.workspaceId}))`);
    const [count] = await tx.execute<{ n: number }>(sql`select count(*)::int as n from webhooks where workspace_id = ${input.workspaceId}`);
    if ((count?.n ?? 0) >= WEBHOOK_LIMITS.perWorkspace) {
      throw validationError(`A workspace has at most ${WEBHOOK_LIMITS.perWorkspace} webhooks: delete one first`);
    }
    const [row] = await tx.execute<WebhookView>(sql`
      with w as (
        insert into webhooks (id, workspace_id, url, events, health_threshold, secret, created_by)
        values (${id}, ${input.workspaceId}, ${url}, ${`{${events.join(',')}}`}::text[], ${healthThreshold}, ${secret}, ${input.createdBy ?? null})
        returning *)
      select ${webhookColumns} from w`);
    return { ...row!, secret };
  });
}

/** The workspace's webhooks, oldest first, without their secrets. */
export function listWebhooks(db: Db, workspaceId: string): Promise<WebhookView[]> {
  return db.execute<WebhookView>(sql`select ${webhookColumns} from webhooks w where w.workspace_id = ${workspaceId} order by w.created_at, w.id`);
}

/** Which workspace a webhook belongs to (for the caller's role check), or undefined. */
export async function findWebhook(db: Db, id: string): Promise<{ id: string; workspaceId: string } | undefined> {
  const [row] = await db.execute<{ id: string; workspaceId: string }>(sql`select id, workspace_id as "workspaceId" from webhooks where id = ${id}`);
  return row;
}

/** Deletes a webhook with its deliveries; a queued attempt of one finds nothing and is dropped. */
export async function deleteWebhook(db: Db, id: string): Promise<void> {
  const deleted = await db.execute(sql`delete from webhooks where id = ${id} returning id`);
  if (deleted.length === 0) throw notFound('Webhook not found');
}

export interface DeliveryPage {
  deliveries: WebhookDeliveryView[];
  /** Pass as `cursor` for the next (older) page; null on the last. */
  nextCursor: string | null;
}

/** A webhook's deliveries, newest first, `limit` at a time; `cursor` continues after a page. */
export async function listWebhookDeliveries(db: Db, webhookId: string, options: { limit?: number; cursor?: string | undefined } = {}): Promise<DeliveryPage> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), WEBHOOK_LIMITS.deliveriesPageMax);
  let after = sql``;
  if (options.cursor) {
    const [createdAt, id] = decodeCursor(options.cursor);
    after = sql`and (d.created_at, d.id) < (${createdAt}::timestamptz, ${id})`;
  }
  const rows = await db.execute<WebhookDeliveryView & { cursorAt: string }>(sql`
    select ${deliveryColumns}, d.created_at::text as "cursorAt" from webhook_deliveries d
    where d.webhook_id = ${webhookId} ${after}
    order by d.created_at desc, d.id desc limit ${limit + 1}`);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    deliveries: page.map(({ cursorAt: _, ...view }) => view),
    nextCursor: rows.length > limit && last ? Buffer.from(JSON.stringify([last.cursorAt, last.id])).toString('base64url') : null,
  };
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && !Number.isNaN(Date.parse(value[0]))) {
      return [value[0], value[1]];
    }
  } catch {}
  throw validationError('cursor: not a cursor this list returned', { path: 'cursor' });
}

/** One delivery as the list shows it. */
export async function getWebhookDelivery(db: Db, id: string): Promise<WebhookDeliveryView | undefined> {
  const [row] = await db.execute<WebhookDeliveryView>(sql`select ${deliveryColumns} from webhook_deliveries d where d.id = ${id}`);
  return row;
}

/** Queues a `webhook.test` delivery to the webhook and returns it (pending). */
export async function sendTestDelivery(ctx: Pick<EngineContext, 'db' | 'queue'>, webhookId: string): Promise<WebhookDeliveryView> {
  const id = await transaction(ctx.db, async (tx) => {
    const [found] = await tx.execute(sql`select 1 from webhooks where id = ${webhookId} for share`);
    if (!found) throw notFound('Webhook not found');
    return queueTestDelivery(tx, ctx.queue, webhookId);
  });
  const delivery = await getWebhookDelivery(ctx.db, id);
  if (!delivery) throw notFound('Webhook not found');
  return delivery;
}
