import scalarBundle from '../../../../node_modules/@scalar/api-reference/dist/browser/standalone.js?url';
import type { RequestHandler } from './$types';

/**
 * The API reference: Scalar's renderer (self-hosted: its standalone bundle is emitted with the
 * app's assets, nothing comes from a CDN) over /api/openapi.json.
 *
 * Its own Content-Security-Policy, as narrow as the renderer allows: scripts from this origin
 * only (the bundle and reference.js; no inline script, no eval), and, on this page alone, inline
 * styles, since the renderer injects its stylesheet as `<style>` elements. Requests go to this
 * origin only, so neither the renderer nor "try it" can reach elsewhere.
 */
const REFERENCE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Strata API reference</title>
    <meta name="description" content="The Strata REST API: executions, strategies, workspaces, tokens, the live stream, and each agent's input.">
  </head>
  <body>
    <noscript>The reference needs JavaScript. The OpenAPI document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</noscript>
    <div id="api-reference"></div>
    <script src="${scalarBundle}"></script>
    <script src="/docs/api/reference.js"></script>
  </body>
</html>
`;

export const GET: RequestHandler = () =>
  new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': REFERENCE_CSP, 'cache-control': 'no-cache' } });
