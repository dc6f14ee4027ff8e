import postgres from 'postgres';

/** `undefined` when the server at `url` accepts us and runs a query, else why not. */
export async function whyNotUsable(url: string): Promise<string | undefined> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
    return undefined;
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return code === 'ECONNREFUSED' ? 'nothing answers there' : message;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** host:port of a server URL, for messages (never its password). */
export function serverAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}`;
}
