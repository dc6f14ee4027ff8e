/**
 * The dashboard's server loads call the tRPC procedures in process, with the visitor's own
 * credentials: the same checks as every other surface, and outputs typed by the router.
 */
import { createCaller, createContext } from '@strata/api';
import { error, type RequestEvent } from '@sveltejs/kit';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { getApiDeps } from './api.ts';
import { requestClientAddress } from './client-address.ts';
import { loginRedirect } from './rest.ts';

type Caller = ReturnType<typeof createCaller>;

/** Runs procedures for a page load: 401 sends the visitor to log in, any other refusal is the page's error (404, 403). */
export async function withCaller<T>(event: RequestEvent, run: (caller: Caller) => Promise<T>): Promise<T> {
  const ctx = await createContext(await getApiDeps(), event.request.headers, { clientAddress: requestClientAddress(event) });
  try {
    return await run(createCaller(ctx));
  } catch (cause) {
    if (!(cause instanceof TRPCError)) throw cause;
    const status = getHTTPStatusCodeFromError(cause);
    if (status === 401) loginRedirect(event.url);
    error(status, status >= 500 ? 'Internal server error' : cause.message);
  }
}
