import { handleRest } from '@strata/api';
import type { RequestHandler } from '@sveltejs/kit';
import { getApiDeps } from '#lib/server/api.ts';
import { requestClientAddress } from '#lib/server/client-address.ts';

/** Every /api/... path without a route of its own goes to the REST adapter. */
const handler: RequestHandler = async (event) => handleRest(event.request, await getApiDeps(), { clientAddress: requestClientAddress(event) });

export const GET = handler;
export const HEAD = handler;
export const POST = handler;
export const PUT = handler;
export const PATCH = handler;
export const DELETE = handler;
export const OPTIONS = handler;
