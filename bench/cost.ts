/**
 * What a piece of work costs the database, counted rather than timed, so it is the same on a
 * busy machine as on a quiet one: transactions committed, rows written (inserted, updated,
 * deleted) in the bench database, NOTIFYs delivered on the engine's and pg-boss's channels,
 * and WAL bytes (cluster-wide: other databases' writes count too, so read it on a quiet server).
 */
import postgres from 'postgres';

export type Cost = { transactions: number; rowsWritten: number; notifies: number; walBytes: number };

type Counters = { xacts: number; rows: number; lsn: string };

/** Read from another database of the server, so that reading adds nothing to the counts. */
async function counters(admin: postgres.Sql, database: string): Promise<Counters> {
  const [row] = await admin<{ xacts: string; rows: string; lsn: string }[]>`
    select (xact_commit + xact_rollback)::text as xacts, (tup_inserted + tup_updated + tup_deleted)::text as rows,
      pg_current_wal_lsn()::text as lsn
    from pg_stat_database where datname = ${database}`;
  return { xacts: Number(row!.xacts), rows: Number(row!.rows), lsn: row!.lsn };
}

/**
 * Runs `work`, which must close its own connections before it returns (a backend reports its
 * statistics when it ends), and returns what it cost.
 */
export async function measureCost(url: string, work: () => Promise<void>): Promise<Cost> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
  const listener = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [channel] = await listener<{ name: string }[]>`select 'pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24) as name`;
    let notifies = 0;
    const count = () => {
      notifies++;
    };
    const listens = await Promise.all([listener.listen('strata_events', count), listener.listen(channel!.name, count)]);
    const before = await counters(admin, database);
    await work();
    // Statistics of ended backends reach pg_stat_database within a moment: read until they settle.
    let after = await counters(admin, database);
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const next = await counters(admin, database);
      if (next.xacts === after.xacts && next.rows === after.rows) break;
      after = next;
    }
    const [wal] = await admin<{ bytes: string }[]>`select pg_wal_lsn_diff(${after.lsn}::pg_lsn, ${before.lsn}::pg_lsn)::text as bytes`;
    await Promise.all(listens.map((l) => l.unlisten()));
    return { transactions: after.xacts - before.xacts, rowsWritten: after.rows - before.rows, notifies, walBytes: Number(wal!.bytes) };
  } finally {
    await Promise.all([admin.end({ timeout: 5 }), listener.end({ timeout: 5 })]);
  }
}

export function perUnit(cost: Cost, units: number): Cost {
  const r = (n: number) => Math.round((n / units) * 100) / 100;
  return { transactions: r(cost.transactions), rowsWritten: r(cost.rowsWritten), notifies: r(cost.notifies), walBytes: r(cost.walBytes) };
}
