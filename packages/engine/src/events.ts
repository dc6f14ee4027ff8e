import type { EventType } from '@strata/db';
import { sql } from 'drizzle-orm';
import { noteAppended } from './observer.ts';
import { jsonRows, type Tx } from './tx.ts';

/** The NOTIFY channel; its payload is `<executionId>:<latest event id>`. */
export const EVENTS_CHANNEL = 'strata_events';

export interface NewEvent {
  executionId: string;
  type: EventType;
  data: Record<string, unknown>;
}

const CHUNK = 5000;

/**
 * Appends events to the log and NOTIFYs once per execution with the newest id; the notice is
 * delivered at COMMIT. Appending is a transaction's last step, so an event's timestamp
 * (clock time, not the transaction's start) is within moments of its commit. Callers hold the execution's row lock (lockExecutions), so ids commit
 * in order per execution and a reader following `id > last` never skips one.
 */
export async function appendEvents(tx: Tx, events: readonly NewEvent[]): Promise<void> {
  noteAppended(tx, events);
  for (let i = 0; i < events.length; i += CHUNK) {
    const chunk = events.slice(i, i + CHUNK).map((e) => ({ execution_id: e.executionId, type: e.type, data: e.data }));
    await tx.execute(sql`
      with inserted as (
        insert into execution_events (execution_id, type, data, created_at)
        select e.value->>'execution_id', e.value->>'type', e.value->'data', clock_timestamp()
        from jsonb_array_elements(${jsonRows(chunk)}) with ordinality as e(value, n)
        order by e.n
        returning id, execution_id
      )
      select pg_notify(${EVENTS_CHANNEL}, execution_id || ':' || max(id)) from inserted group by execution_id`);
  }
}
