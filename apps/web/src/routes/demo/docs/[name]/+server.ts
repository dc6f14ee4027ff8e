import { error } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

/**
 * The demo's sample documents (src/lib/server/demo-docs/*.html): pages the demo strategies'
 * research tasks read from the app itself, so the demo runs on a machine without internet.
 * The research agent may fetch exactly these while the demo is on (@strata/agents, net/demo-docs.ts).
 */
const DOCUMENTS: Record<string, string> = Object.fromEntries(
  Object.entries(import.meta.glob<string>('../../../../lib/server/demo-docs/*.html', { query: '?raw', import: 'default', eager: true })).map(([path, html]) => [
    path.slice(path.lastIndexOf('/') + 1),
    html,
  ]),
);

export const GET: RequestHandler = ({ params }) => {
  const html = Object.hasOwn(DOCUMENTS, params.name) ? DOCUMENTS[params.name] : undefined;
  if (html === undefined) error(404, 'No such demo document');
  return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=300' } });
};
