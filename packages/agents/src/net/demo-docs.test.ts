import type { LookupAllOptions } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '@strata/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AGENT_ERROR_CODES } from '../errors.ts';
import { type ResearchResult, researchAgent } from '../research.ts';
import { agentConfig, agentContext } from '../testing.ts';
import type { AgentDeps } from '../types.ts';
import { appOrigin, demoDocsAllowance, demoDocUrl } from './demo-docs.ts';
import { FetchRefusedError } from './fetch.ts';

// A resolver that answers like a machine without network for one name, and like a mistyped host for another.
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  const fail = (code: string) => Object.assign(new Error(`getaddrinfo ${code}`), { code });
  const lookup = (async (host: string, options: LookupAllOptions) => {
    if (host === 'offline.strata.test') throw fail('EAI_AGAIN');
    if (host === 'nowhere.strata.test') throw fail('ENOTFOUND');
    return real.lookup(host, options);
  }) as unknown as typeof real.lookup;
  return { ...real, lookup, default: { ...real, lookup } };
});

const DOC = '<!doctype html><title>Market notes</title><main><p>Readers want a weekly digest.</p></main>';
let server: Server;
let port = 0;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/demo/docs/market-notes.html') res.writeHead(200, { 'content-type': 'text/html' }).end(DOC);
    else if (req.url === '/demo/docs/to-api.html') res.writeHead(302, { location: '/api/me' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('not a demo document');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const deps = (demo: boolean): AgentDeps =>
  ({
    config: { ...agentConfig(), HOST: '127.0.0.1', PORT: port, STRATA_DEMO: demo },
    db: undefined as unknown as Db,
  }) as AgentDeps;

async function research(demo: boolean, urls: string[]): Promise<ResearchResult | Error> {
  const { ctx } = agentContext({ input: { urls, keywords: ['digest'] } });
  try {
    return (await researchAgent(deps(demo)).run(ctx)) as ResearchResult;
  } catch (error) {
    return error as Error;
  }
}

describe('the demo documents allowance', () => {
  it('reads a demo document from the app itself while the demo is on', async () => {
    const result = await research(true, [demoDocUrl({ HOST: '127.0.0.1', PORT: port }, 'market-notes')]);
    expect(result).not.toBeInstanceOf(Error);
    const source = (result as ResearchResult).sources[0];
    expect(source).toMatchObject({ title: 'Market notes', status: 200, highlights: ['Readers want a weekly digest.'] });
  });

  it('refuses the same document when the demo is off, with the private-address code and advice', async () => {
    const error = await research(false, [`http://127.0.0.1:${port}/demo/docs/market-notes.html`]);
    expect(error).toBeInstanceOf(FetchRefusedError);
    expect((error as FetchRefusedError).code).toBe(AGENT_ERROR_CODES.fetchRefused);
    expect((error as Error).message).toContain('AGENT_FETCH_ALLOW_HOSTS');
  });

  it('allows nothing else on the machine: other paths, ports, queries, traversal, or a redirect out of /demo/docs/', async () => {
    const before = hits.length;
    for (const url of [
      `http://127.0.0.1:${port}/api/me`,
      `http://127.0.0.1:${port}/demo/docs/`,
      `http://127.0.0.1:${port}/demo/docs/market-notes.html?x=1`,
      `http://127.0.0.1:${port}/demo/docs/../../api/me.html`,
      `http://127.0.0.1:${port}/demo/docs/%2e%2e/secret.html`,
      `http://127.0.0.1:${port}/demo/docs/a%2Fb.html`,
      `http://127.0.0.1:${port + 1}/demo/docs/market-notes.html`,
      `http://localhost:${port}/demo/docs/market-notes.html`,
      `http://user:pw@127.0.0.1:${port}/demo/docs/market-notes.html`,
    ]) {
      const error = await research(true, [url]);
      expect(error, url).toBeInstanceOf(FetchRefusedError);
    }
    expect(hits.length).toBe(before); // refused before connecting
    const redirected = await research(true, [`http://127.0.0.1:${port}/demo/docs/to-api.html`]);
    expect(redirected).toBeInstanceOf(FetchRefusedError);
    expect(hits.slice(before)).toEqual(['/demo/docs/to-api.html']);
  });

  it('is off without a demo, and a wildcard or localhost HOST means 127.0.0.1', () => {
    expect(demoDocsAllowance({ STRATA_DEMO: false, HOST: '127.0.0.1', PORT: 3008 })).toBeUndefined();
    expect(demoDocsAllowance({ STRATA_DEMO: true })).toBeUndefined();
    expect(appOrigin({ HOST: '0.0.0.0', PORT: 3008 })).toBe('http://127.0.0.1:3008');
    expect(appOrigin({ HOST: 'localhost', PORT: 3008 })).toBe('http://127.0.0.1:3008');
    expect(appOrigin({ HOST: '::1', PORT: 3008 })).toBe('http://[::1]:3008');
    expect(appOrigin({ HOST: '10.1.2.3', PORT: 80 })).toBe('http://10.1.2.3');
  });
});

describe('failures a person can act on', () => {
  it('no network: a retryable failure coded network_unavailable that says what to do', async () => {
    const error = await research(true, ['https://offline.strata.test/']);
    expect(error).toMatchObject({ name: 'ActionableError', code: AGENT_ERROR_CODES.networkUnavailable });
    expect((error as Error).message).toMatch(/^Could not resolve offline\.strata\.test \(EAI_AGAIN\)\. This machine seems to have no network access/);
  });

  it('a host that does not exist: not retried, coded host_not_found, with advice', async () => {
    const error = await research(true, ['https://nowhere.strata.test/']);
    expect(error).toMatchObject({ name: 'NonRetryableError', code: AGENT_ERROR_CODES.hostNotFound });
    expect((error as Error).message).toContain("check the URL's spelling");
  });
});
