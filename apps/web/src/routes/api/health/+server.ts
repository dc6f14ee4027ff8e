import { json } from '@sveltejs/kit';
import { checkDatabase } from '@strata/db';
import { getDatabase } from '#lib/server/database.ts';

export async function GET() {
  let result: Awaited<ReturnType<typeof checkDatabase>>;
  try {
    result = await checkDatabase(getDatabase().sql);
  } catch (error) {
    result = { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const headers = { 'cache-control': 'no-store' };
  if (result.ok) return json({ status: 'ok', database: 'ok' }, { headers });
  return json({ status: 'error', database: 'unreachable', error: result.reason }, { status: 503, headers });
}
