import { handleRest } from '@strata/api';
import type { RequestHandler } from '@sveltejs/kit';
import { getApiDeps } from '#lib/server/api.ts';

/** Every /api/... path without a route of its own goes to the REST adapter. */
const handler: RequestHandler = async ({ request }) => handleRest(request, await getApiDeps());

export const GET = handler;
export const HEAD = handler;
export const POST = handler;
export const PUT = handler;
export const PATCH = handler;
export const DELETE = handler;
export const OPTIONS = handler;
