import { handleTrpc } from '@strata/api';
import type { RequestHandler } from '@sveltejs/kit';
import { getApiDeps } from '#lib/server/api.ts';

/** tRPC, under the same body and batch limits as the REST adapter. */
const handler: RequestHandler = async ({ request }) => handleTrpc(request, await getApiDeps());

export const GET = handler;
export const POST = handler;
