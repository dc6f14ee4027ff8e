import type { LookupAllOptions } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Db } from '@strata/db';
import { NonRetryableError } from '@strata/engine';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { allowListSet } from '@strata/net';
import { FetchRefusedError, FetchTimeoutError, vetHost } from './net/fetch.ts';
import { findHighlights, htmlToText, type ResearchResult, researchAgent, researchInputSchema } from './research.ts';
import type { AgentDeps } from './types.ts';
import { agentContext, expectLinearTime } from './testing.ts';

// The resolver the guard uses knows one extra name, which the system resolver (used by a socket
// that was not handed the vetted address) does not: fetching it proves the connection is pinned.
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = (async (host: string, options: LookupAllOptions) =>
    host === 'pinned.strata.test' ? [{ address: '127.0.0.1', family: 4 }] : real.lookup(host, options)) as unknown as typeof real.lookup;
  return { ...real, lookup, default: { ...real, lookup } };
});

const ARTICLE = `<!doctype html>
<html lang="en"><head>
  <meta charset="utf-8">
  <title>Quarterly Report &amp; Outlook | Example News</title>
  <meta name="description" content="What the quarter brought, in brief.">
  <meta property="og:title" content="Quarterly Report &amp; Outlook">
  <style>body { color: red; } .secret { display: none }</style>
  <script>window.tracking = "SCRIPT-TEXT";</script>
</head><body>
  <header class="site"><a href="/">Example News</a> HEADER-CHROME</header>
  <nav><a href="/a">NAV-LINK one</a> <a href="/b">two</a></nav>
  <main>
    <article>
      <header><h1>Quarterly   Report</h1></header>
      <p>Revenue grew by 12 percent in the third quarter, driven by exports.</p>
      <p>Costs   stayed flat.
         The company expects steady growth next year.</p>
      <div hidden>HIDDEN-TEXT</div>
      <ul><li>Exports: up</li><li>Imports: down</li></ul>
      <p>Caf&eacute; sales &mdash; a small line &#8212; were unchanged.</p>
      <footer>ARTICLE-FOOTER</footer>
    </article>
    <aside>ASIDE-TEXT</aside>
  </main>
  <footer>FOOTER-CHROME &copy; 2025</footer>
  <svg><title>SVG-TITLE</title><text>SVG-TEXT</text></svg>
</body></html>`;

let server: Server;
let port = 0;
let slowHits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/article') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(ARTICLE);
    } else if (path === '/gzip') {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
      res.end(gzipSync('<html><head><title>Zipped</title></head><body><p>Compressed body text.</p></body></html>'));
    } else if (path === '/latin1') {
      res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' });
      res.end(Buffer.from('<title>Cr\u00e8me br\u00fbl\u00e9e</title><p>D\u00e9j\u00e0 vu.</p>', 'latin1'));
    } else if (path === '/plain') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('line one\n\n   line   two  \n');
    } else if (path === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(3 * 1024 * 1024));
    } else if (path === '/500') {
      res.writeHead(500).end('boom');
    } else if (path === '/503') {
      res.writeHead(503).end('later');
    } else if (path === '/404') {
      res.writeHead(404).end('no such page');
    } else if (path === '/slow') {
      slowHits++;
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/html' }).end('<title>late</title>');
      }, 5_000).unref();
    } else if (path === '/redirect-relative') {
      res.writeHead(302, { location: '/article' }).end();
    } else if (path === '/redirect-loopback') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/article` }).end();
    } else if (path === '/redirect-mapped') {
      res.writeHead(301, { location: `http://[::ffff:127.0.0.1]:${port}/article` }).end();
    } else if (path === '/redirect-loop') {
      res.writeHead(307, { location: '/redirect-loop' }).end();
    } else if (path === '/redirect-ftp') {
      res.writeHead(302, { location: 'ftp://example.com/file' }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function deps(allow: string[]): AgentDeps {
  return {
    config: { SMTP_URL: undefined, SMTP_FROM: 'strata@localhost', LLM_BASE_URL: undefined, LLM_MODEL: undefined, LLM_API_KEY: undefined, AGENT_FETCH_ALLOW_HOSTS: allow },
    db: undefined as unknown as Db,
  } as AgentDeps;
}

const context = (input: Record<string, unknown>, signal = new AbortController().signal) =>
  agentContext({ input, signal, task: { id: 'task-1', executionId: 'exec-1', workspaceId: 'ws-1', key: 'research', agentType: 'research', description: 'Research' } });

const local = (path: string) => `http://localhost:${port}${path}`;
const run = async (allow: string[], input: Record<string, unknown>, signal?: AbortSignal) => {
  const { ctx, progress } = context(input, signal);
  const result = (await researchAgent(deps(allow)).run(ctx)) as ResearchResult;
  return { result, progress };
};
/** The error a run fails with. */
const failure = async (allow: string[], input: Record<string, unknown>, signal?: AbortSignal): Promise<Error> => {
  try {
    await run(allow, input, signal);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the run to fail');
};

describe('research agent against a local HTTP server', () => {
  it('fetches a page and extracts title, description, main text and highlights', async () => {
    const { result, progress } = await run(['localhost'], {
      urls: [local('/article')],
      keywords: ['exports'],
      questions: ['What growth does the company expect next year?'],
    });
    expect(result.sources).toHaveLength(1);
    const source = result.sources[0];
    expect(source).toMatchObject({
      url: local('/article'),
      finalUrl: local('/article'),
      status: 200,
      contentType: 'text/html',
      title: 'Quarterly Report & Outlook',
      description: 'What the quarter brought, in brief.',
      truncated: false,
    });
    expect(source?.text).toBe(
      [
        'Quarterly Report',
        'Revenue grew by 12 percent in the third quarter, driven by exports.',
        'Costs stayed flat. The company expects steady growth next year.',
        'Exports: up',
        'Imports: down',
        'Café sales — a small line — were unchanged.',
      ].join('\n'),
    );
    for (const noise of ['SCRIPT-TEXT', 'HEADER-CHROME', 'NAV-LINK', 'HIDDEN-TEXT', 'ARTICLE-FOOTER', 'ASIDE-TEXT', 'FOOTER-CHROME', 'SVG', 'color: red']) {
      expect(source?.text).not.toContain(noise);
    }
    expect(source?.highlights).toEqual([
      'Revenue grew by 12 percent in the third quarter, driven by exports.',
      'The company expects steady growth next year.',
      'Exports: up',
    ]);
    expect(Date.parse(source?.fetchedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(progress.at(-1)).toMatchObject({ stage: 'fetched', url: local('/article'), status: 200, done: 1, total: 1 });
  });

  it('fetches several URLs, keeps their order, and reports progress per URL', async () => {
    const urls = [local('/gzip'), local('/latin1'), local('/plain'), local('/redirect-relative')];
    const { result, progress } = await run(['localhost'], { urls });
    expect(result.sources.map((s) => s.url)).toEqual(urls);
    expect(result.sources[0]).toMatchObject({ title: 'Zipped', text: 'Compressed body text.' });
    expect(result.sources[1]).toMatchObject({ title: 'Crème brûlée', text: 'Déjà vu.' });
    expect(result.sources[2]).toMatchObject({ contentType: 'text/plain', title: '', text: 'line one\nline two' });
    expect(result.sources[3]).toMatchObject({ finalUrl: local('/article'), status: 200, title: 'Quarterly Report & Outlook' });
    const fetched = progress.filter((p) => p.stage === 'fetched');
    expect(fetched.map((p) => p.url).sort()).toEqual([...urls].sort());
    expect(fetched.map((p) => p.done)).toEqual([1, 2, 3, 4]);
  });

  it('stops reading at maxBytes and says the source was truncated', async () => {
    const { result } = await run(['localhost'], { urls: [local('/big')], maxBytes: 4096 });
    expect(result.sources[0]?.truncated).toBe(true);
    expect(result.sources[0]?.text).toHaveLength(4096);
  });

  it('fails a 5xx with a retryable error', async () => {
    for (const path of ['/500', '/503']) {
      const error = await failure(['localhost'], { urls: [local(path)] });
      expect(error).not.toBeInstanceOf(NonRetryableError);
      expect(error.message).toContain(`HTTP ${path.slice(1)}`);
    }
  });

  it('fails a 4xx with a non-retryable error', async () => {
    const error = await failure(['localhost'], { urls: [local('/404')] });
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toContain('HTTP 404');
  });

  it('times out a slow answer with a retryable error', async () => {
    const started = Date.now();
    const error = await failure(['localhost'], { urls: [local('/slow')], timeoutMs: 300 });
    expect(error).toBeInstanceOf(FetchTimeoutError);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.message).toMatch(/Timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('honours the task signal', async () => {
    const controller = new AbortController();
    const before = slowHits;
    setTimeout(() => controller.abort(new Error('worker stopping')), 200);
    const error = await failure(['localhost'], { urls: [local('/slow')] }, controller.signal);
    expect(error.message).toBe('worker stopping');
    expect(slowHits).toBe(before + 1);
  });

  const LITERAL_REFUSED = 'Refused to fetch a private or internal address (add it to AGENT_FETCH_ALLOW_HOSTS to allow it)';

  it('refuses a redirect to 127.0.0.1 when only localhost is allowed, without naming the address', async () => {
    const error = await failure(['localhost'], { urls: [local('/redirect-loopback')] });
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error).toBeInstanceOf(FetchRefusedError);
    expect(error.message).toBe(LITERAL_REFUSED);
    expect((error as FetchRefusedError).kind).toBe('loopback');
  });

  it('refuses a redirect to an IPv4-mapped IPv6 loopback address', async () => {
    const error = await failure(['localhost'], { urls: [local('/redirect-mapped')] });
    expect(error).toBeInstanceOf(FetchRefusedError);
    expect(error.message).toBe(LITERAL_REFUSED);
  });

  it('refuses loopback by address and, after DNS resolution, by name when nothing is allowed, naming no address', async () => {
    const byAddress = await failure([], { urls: [`http://127.0.0.1:${port}/article`] });
    expect(byAddress).toBeInstanceOf(FetchRefusedError);
    expect(byAddress.message).toBe(LITERAL_REFUSED);
    const { ctx, progress } = context({ urls: [local('/article')] });
    const byName = await Promise.resolve(researchAgent(deps([])).run(ctx)).then(
      () => new Error('expected a refusal'),
      (e: unknown) => e as Error,
    );
    expect(byName).toBeInstanceOf(FetchRefusedError);
    expect(byName.message).toBe('Refused to fetch localhost: it resolves to a private or internal address (add the host to AGENT_FETCH_ALLOW_HOSTS to allow it)');
    // The progress events carry the same message: no resolved address anywhere.
    expect(progress.at(-1)).toMatchObject({ stage: 'failed', error: byName.message });
    expect(JSON.stringify(progress)).not.toMatch(/127\.0\.0\.1|::1\b/);
  });

  it('allows an address on the allow-list, with or without a port on the entry', async () => {
    for (const allow of [['127.0.0.1'], [`127.0.0.1:${port + 1}`]]) {
      const { result } = await run(allow, { urls: [`http://127.0.0.1:${port}/article`] });
      expect(result.sources[0]?.title).toBe('Quarterly Report & Outlook');
    }
    // An allowed address also allows a name that resolves only to it.
    await expect(vetHost(new URL('http://localhost/'), allowListSet(['127.0.0.1', '::1']))).resolves.not.toHaveLength(0);
  });

  it('connects to the address it checked, not to a fresh DNS answer', async () => {
    const { result } = await run(['127.0.0.1'], { urls: [`http://pinned.strata.test:${port}/article`] });
    expect(result.sources[0]?.title).toBe('Quarterly Report & Outlook');
    const refused = await failure([], { urls: [`http://pinned.strata.test:${port}/article`] });
    expect(refused.message).toBe('Refused to fetch pinned.strata.test: it resolves to a private or internal address (add the host to AGENT_FETCH_ALLOW_HOSTS to allow it)');
  });

  it('gives up after five redirects and refuses non-http redirects', async () => {
    const loop = await failure(['localhost'], { urls: [local('/redirect-loop')] });
    expect(loop).toBeInstanceOf(NonRetryableError);
    expect(loop.message).toContain('Too many redirects');
    const ftp = await failure(['localhost'], { urls: [local('/redirect-ftp')] });
    expect(ftp).toBeInstanceOf(NonRetryableError);
    expect(ftp.message).toContain('only http and https');
  });

  it('fails the whole run when one of several URLs fails', async () => {
    const error = await failure(['localhost'], { urls: [local('/article'), local('/404'), local('/plain')] });
    expect(error).toBeInstanceOf(NonRetryableError);
  });

  it('rejects bad input with a non-retryable error', async () => {
    expect(researchInputSchema.safeParse({ urls: [] }).success).toBe(false);
    expect(researchInputSchema.safeParse({ urls: ['ftp://example.com/'] }).success).toBe(false);
    expect(researchInputSchema.safeParse({ urls: ['not a url'] }).success).toBe(false);
    expect(researchInputSchema.safeParse({ urls: Array.from({ length: 21 }, (_, i) => `https://example.com/${i}`) }).success).toBe(false);
    expect(researchInputSchema.safeParse({ urls: ['https://example.com/'], keywords: ['x'] }).success).toBe(true);
    const error = await failure([], { urls: 'https://example.com' });
    expect(error).toBeInstanceOf(NonRetryableError);
  });
});

describe('HTML to text', () => {
  it('falls back to the body and the first h1, and decodes entities', () => {
    const page = htmlToText('<body><nav>menu</nav><h1>Plain &lt;Page&gt;</h1><p>One.</p><table><tr><td>a</td><td>b</td></tr></table></body>');
    expect(page).toEqual({ title: 'Plain <Page>', description: '', text: 'Plain <Page>\nOne.\na b' });
  });

  it('prefers main when there is no article, and uses og:description', () => {
    const page = htmlToText('<meta property="og:description" content="OG desc"><div>outside</div><div role="main"><p>Inside main.</p></div>');
    expect(page.description).toBe('OG desc');
    expect(page.text).toBe('Inside main.');
  });

  it('keeps the lines of <pre> and drops a body-level <title>', () => {
    const page = htmlToText('<title>T</title><pre>a  b\nc</pre><p>x\ny</p>');
    expect(page).toEqual({ title: 'T', description: '', text: 'a b\nc\nx y' });
  });

  it('survives malformed markup', () => {
    const page = htmlToText('<p>Unclosed <b>bold <i>both</p><script>never</script><p>after</div>end');
    expect(page.text).toBe('Unclosed bold both\nafterend'); // a stray </div> is ignored, as browsers do
  });

  it('finds highlights for keywords as whole words only', () => {
    const text = 'Solar output rose. Solaris is a film. Wind power fell sharply in May.';
    expect(findHighlights(text, [], ['solar'])).toEqual(['Solar output rose.']);
    expect(findHighlights(text, ['How did wind power change?'], [])).toEqual(['Wind power fell sharply in May.']);
    expect(findHighlights(text, [], [])).toEqual([]);
  });
});

describe('htmlToText on hostile pages', () => {
  const repeat = (unit: string) => (size: number) => unit.repeat(Math.ceil(size / unit.length));
  const pages: [string, (size: number) => string][] = [
    // htmlparser2's Parser keeps open elements with unshift and finds end tags with indexOf: quadratic in the depth.
    ['deeply nested blocks', repeat('<p><li><div>x')],
    ['deep nesting closed at the end', (size) => `${'<span>'.repeat(size / 12)}${'</span>'.repeat(size / 14)}`],
    ['<a href=" repeated', repeat('<a href="')],
    ['<script without a close', repeat('<script ')],
    ['a style attribute of spaces', (size) => `<div style="display${' '.repeat(size)}">x</div>`],
    ['text without a sentence end', repeat('word ')],
  ];
  for (const [name, make] of pages) {
    it(`runs in linear time: ${name}`, () => {
      expectLinearTime(make, (html) => findHighlights(htmlToText(html).text, ['word problem'], ['word']));
    });
  }

  it('keeps a title and a description short however long the page makes them', () => {
    const page = htmlToText(`<title>${'T'.repeat(100_000)}</title><meta name="description" content="${'d'.repeat(1_000_000)}"><p>x</p>`);
    expect([page.title.length, page.description.length, page.text]).toEqual([500, 2000, 'x']);
  });

  it('still closes implied elements and ignores stray end tags', () => {
    expect(htmlToText('<ul><li>one<li>two</ul><p>a<p>b</span>c').text).toBe('one\ntwo\na\nbc');
  });
});
