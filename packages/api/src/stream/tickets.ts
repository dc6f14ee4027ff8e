import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '@strata/auth';
import { type Db, streamTickets } from '@strata/db';
import { sql } from 'drizzle-orm';

/**
 * Stream tickets: what `?access_token=` on the stream takes, for clients that cannot send an
 * Authorization header (a browser's WebSocket and EventSource). A URL ends up in logs and
 * histories, so it never carries a session or API token; a ticket is good for one stream of
 * one execution, for a minute, once. Only its SHA-256 is stored. It remembers the credential
 * that asked for it, and the stream it opens ends when that credential does.
 */
export const STREAM_TICKET_TTL_SECONDS = 60;
const TICKET_PREFIX = 'stkt_';

export interface IssuedTicket {
  ticket: string;
  expiresAt: Date;
}

/** The credential a ticket was issued from (and a stream opened with it runs on). */
export type TicketCredential = {
  userId: string;
  executionId: string;
  sessionId: string | null;
  tokenId: string | null;
};

function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex');
}

export async function issueStreamTicket(db: Db, principal: Principal, executionId: string): Promise<IssuedTicket> {
  const ticket = TICKET_PREFIX + randomBytes(24).toString('base64url');
  // Tickets are worthless a minute after issue: the old ones go as new ones come.
  await db.execute(sql`delete from stream_tickets where expires_at < now() - interval '10 minutes'`);
  const [row] = await db
    .insert(streamTickets)
    .values({
      id: hashTicket(ticket),
      userId: principal.user.id,
      executionId,
      sessionId: principal.kind === 'session' ? (principal.sessionId ?? null) : null,
      tokenId: principal.kind === 'token' ? (principal.tokenId ?? null) : null,
      // The database's clock decides expiry, as it does at redemption.
      expiresAt: sql`now() + make_interval(secs => ${STREAM_TICKET_TTL_SECONDS})` as unknown as Date,
    })
    .returning({ expiresAt: streamTickets.expiresAt });
  return { ticket, expiresAt: row!.expiresAt };
}

/**
 * Uses a ticket up: in one statement, so of two requests racing with the same ticket only one
 * gets it. Null when it is unknown, used or expired.
 */
export async function redeemStreamTicket(db: Db, ticket: string): Promise<TicketCredential | null> {
  if (!ticket.startsWith(TICKET_PREFIX)) return null;
  const [row] = await db.execute<TicketCredential>(sql`
    update stream_tickets set used_at = now()
    where id = ${hashTicket(ticket)} and used_at is null and expires_at > now()
    returning user_id as "userId", execution_id as "executionId", session_id as "sessionId", token_id as "tokenId"`);
  return row ?? null;
}
