/**
 * The demo's sample documents: a few pages the web app itself serves under /demo/docs/ (files in
 * apps/web/static/demo/docs/), so the demo strategies' research tasks work on a machine without
 * internet.
 *
 * Fetching them means connecting to this machine, which the address guard (address.ts) refuses.
 * Rather than allowing the loopback host (which would open every port and path on it), the
 * research agent allows exactly these documents while the demo is on (STRATA_DEMO): the app's
 * own origin, a GET of one `/demo/docs/<name>.html` file, checked on every hop of a redirect.
 */
import type { Config } from '@strata/config';

const DEMO_DOCS_PATH = '/demo/docs/';
const DOC_PATH = /^\/demo\/docs\/[a-z0-9][a-z0-9-]{0,80}\.html$/;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '', 'localhost']);

export type DemoDocsConfig = Pick<Config, 'HOST' | 'PORT' | 'STRATA_DEMO'>;

/**
 * The origin a process on this machine reaches the web app at: its HOST and PORT, with a
 * wildcard or `localhost` HOST read as 127.0.0.1 (a name could resolve elsewhere).
 */
export function appOrigin(config: Pick<Config, 'HOST' | 'PORT'>): string {
  const host = config.HOST.trim().toLowerCase();
  const address = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`http://${address}:${config.PORT}`).origin;
}

/** The URL of a sample document the app serves (`name` without `.html`). */
export const demoDocUrl = (config: Pick<Config, 'HOST' | 'PORT'>, name: string): string => `${appOrigin(config)}${DEMO_DOCS_PATH}${name}.html`;

/**
 * A predicate for the fetch guard: true for a sample-document URL of this app while the demo is
 * on; undefined (nothing allowed) when it is off or the configuration does not say where the app is.
 */
export function demoDocsAllowance(config: Partial<DemoDocsConfig>): ((url: URL) => boolean) | undefined {
  if (!config.STRATA_DEMO || config.HOST === undefined || config.PORT === undefined) return undefined;
  const origin = appOrigin({ HOST: config.HOST, PORT: config.PORT });
  return (url) => url.protocol === 'http:' && url.origin === origin && DOC_PATH.test(url.pathname) && url.search === '' && url.username === '' && url.password === '';
}
