import type { AppRouter } from '@strata/api';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import superjson from 'superjson';

export interface StrataClientOptions {
  /** Where Strata runs, e.g. http://localhost:3008 */
  baseUrl: string;
  /** An API token (strata_…) or a session token. */
  token?: string;
  fetch?: typeof fetch;
  /**
   * The EventSource used by subscriptions (`executions.stream`); defaults to the platform's.
   * In Node, pass the `eventsource` package's class, which can send the Bearer header.
   */
  EventSource?: typeof globalThis.EventSource;
}

/** A typed tRPC client for internal TypeScript code: every procedure, its input and output typed. */
export function createStrataClient(options: StrataClientOptions) {
  const url = `${options.baseUrl.replace(/\/$/, '')}/api/trpc`;
  const authorization = options.token ? { authorization: `Bearer ${options.token}` } : undefined;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          ...(options.EventSource ? { EventSource: options.EventSource } : {}),
          // The `eventsource` package takes a fetch through which it can add the header.
          eventSourceOptions: () =>
            (authorization
              ? { fetch: (input: RequestInfo | URL, init?: RequestInit) => (options.fetch ?? fetch)(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...authorization } }) }
              : {}) as EventSourceInit,
        }),
        false: httpBatchLink({
          url,
          transformer: superjson,
          // The server takes at most 10 calls per request (MAX_BATCH_CALLS in @strata/api).
          maxItems: 10,
          headers: () => authorization ?? {},
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
      }),
    ],
  });
}

export type StrataClient = ReturnType<typeof createStrataClient>;
