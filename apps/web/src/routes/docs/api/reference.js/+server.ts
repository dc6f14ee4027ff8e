import type { RequestHandler } from './$types';

/**
 * Mounts the renderer (a script file, since the page allows no inline script). Nothing that
 * calls out: no default fonts (from Scalar's CDN), no proxy, no telemetry or AI features.
 */
const SCRIPT = `Scalar.createApiReference('#api-reference', {
  url: '/api/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: false,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
  darkMode: true,
  hideDarkModeToggle: false,
  defaultOpenAllTags: true,
  metaData: { title: 'Strata API reference' },
  // System fonts: the renderer's own (Inter, from fonts.scalar.com) would be fetched from its CDN.
  // And no advertisement for Scalar's hosted products in the sidebar.
  customCss: ':root, .light-mode, .dark-mode { --scalar-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; --scalar-font-code: ui-monospace, "SFMono-Regular", Menlo, monospace; } .explore-scalar-cta { display: none !important; }' +
    // Muted text and method colours with enough contrast on the dark theme (WCAG AA; axe checks it).
    ' .dark-mode { --scalar-color-2: rgba(255, 255, 255, 0.82); --scalar-color-3: rgba(255, 255, 255, 0.68); --scalar-color-red: #ff8f87; --scalar-color-orange: #ffb86b; --scalar-color-yellow: #f5d46b; --scalar-color-blue: #8fb8ff; --scalar-color-green: #7ee08a; --scalar-color-purple: #d6b0ff; --scalar-color-accent: #8fb8ff; }',
});
`;

export const GET: RequestHandler = () => new Response(SCRIPT, { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' } });
