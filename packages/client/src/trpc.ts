import type { AppRouter } from '@strata/api';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';

export interface StrataClientOptions {
  /** Where Strata runs, e.g. http://localhost:3008 */
  baseUrl: string;
  /** An API token (strata_…) or a session token. */
  token?: string;
  fetch?: typeof fetch;
}

/** A typed tRPC client for internal TypeScript code: every procedure, its input and output typed. */
export function createStrataClient(options: StrataClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${options.baseUrl.replace(/\/$/, '')}/api/trpc`,
        transformer: superjson,
        headers: () => (options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    ],
  });
}

export type StrataClient = ReturnType<typeof createStrataClient>;
