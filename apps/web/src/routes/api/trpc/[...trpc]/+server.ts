import { handleTrpc } from '@strata/api';
import type { RequestHandler } from '@sveltejs/kit';
import { getApiDeps } from '#lib/server/api.ts';
import { requestClientAddress } from '#lib/server/client-address.ts';

/** tRPC, under the same body and batch limits as the REST adapter. */
const handler: RequestHandler = async (event) => handleTrpc(event.request, await getApiDeps(), { clientAddress: requestClientAddress(event) });

export const GET = handler;
export const POST = handler;
