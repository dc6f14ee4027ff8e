import { createStrataClient, type StrataClient } from '@strata/client';
import { TRPCClientError } from '@trpc/client';

let client: StrataClient | undefined;

/** The browser's typed tRPC client: same origin, the session cookie goes along by itself. */
export function trpc(): StrataClient {
  client ??= createStrataClient({ baseUrl: '' });
  return client;
}

/** A failed call as the pages show it: the API's message, the status, and the field it concerns (on a 400). */
export interface CallError {
  message: string;
  status: number;
  field: string | null;
}

export function callError(error: unknown): CallError {
  if (error instanceof TRPCClientError) {
    const data = error.data as { httpStatus?: number; field?: string } | undefined;
    return { message: error.message, status: data?.httpStatus ?? 0, field: data?.field ?? null };
  }
  return { message: 'The server could not be reached', status: 0, field: null };
}

/** Runs a call, answering its data or the error to show. */
export async function attempt<T>(call: () => Promise<T>): Promise<{ ok: true; data: T } | ({ ok: false } & CallError)> {
  try {
    return { ok: true, data: await call() };
  } catch (error) {
    return { ok: false, ...callError(error) };
  }
}
