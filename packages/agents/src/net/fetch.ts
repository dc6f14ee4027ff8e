/**
 * An SSRF-safe HTTP GET for agents that fetch user-supplied URLs.
 *
 * - Each hop's host is resolved once (`dns.promises.lookup(host, { all: true })`); if any
 *   address is forbidden (see address.ts) the fetch is refused with a NonRetryableError that
 *   says so without naming the address (FetchRefusedError), unless the host name, or every forbidden address, is on the allow-list.
 * - The connection then goes to the vetted addresses only: the request's `lookup` hands the
 *   socket exactly what was checked, so a DNS answer that changes between check and connect
 *   (DNS rebinding) cannot swap in another address.
 * - Redirects are followed by hand (at most `maxRedirects`), each hop vetted the same way.
 * - One deadline covers the whole fetch (every hop and the body); the caller's signal aborts it too.
 * - The body is read up to `maxBytes` (after decompression, so a small gzip bomb stays small);
 *   reading stops there and the result says it was truncated.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { type IncomingHttpHeaders, type IncomingMessage, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { NonRetryableError } from '@strata/engine';
import { AGENT_ERROR_CODES, ActionableError, ActionableNonRetryableError, isOfflineError, NO_NETWORK_HINT } from '../errors.ts';
import { type AddressClass, parseIPv4, parseIPv6, pinnedLookup, refusedAddress } from '@strata/net';

export interface SafeFetchOptions {
  /** Canonical hosts (see `allowListSet`) that may be fetched even when they resolve to forbidden addresses. */
  allowHosts: ReadonlySet<string>;
  /** URLs fetched whatever their address, checked on every hop (the demo's own documents: demo-docs.ts). */
  allowUrl?: ((url: URL) => boolean) | undefined;
  /** A deadline for the whole fetch, redirects and body included. */
  timeoutMs: number;
  /** Stop reading the body after this many (decoded) bytes. */
  maxBytes: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface FetchedResponse {
  url: string;
  finalUrl: string;
  status: number;
  headers: IncomingHttpHeaders;
  /** The body of a 2xx answer (empty for any other status), at most `maxBytes` long. */
  body: Buffer;
  /** True when the body was longer than `maxBytes` and reading stopped. */
  truncated: boolean;
  /** The URLs redirected through, in order, not counting `finalUrl`. */
  redirects: string[];
}

/**
 * A fetch refused by the address guard. Its message (which becomes the task's error and goes
 * into its events) says that the address is private or internal but never names it: the
 * address a name resolves to on the worker's network is not the task author's to learn. A
 * host given by name is named (the author wrote it, or the server redirected to it); an
 * address literal is not repeated.
 */
export class FetchRefusedError extends ActionableNonRetryableError {
  readonly host: string;
  /** Why the address is refused (loopback, private, metadata, ...): for the worker's logs only. */
  readonly kind: AddressClass;
  constructor(host: string, kind: AddressClass) {
    const literal = parseIPv4(host) !== undefined || parseIPv6(host) !== undefined;
    super(
      AGENT_ERROR_CODES.fetchRefused,
      literal
        ? 'Refused to fetch a private or internal address (add it to AGENT_FETCH_ALLOW_HOSTS to allow it)'
        : `Refused to fetch ${host}: it resolves to a private or internal address (add the host to AGENT_FETCH_ALLOW_HOSTS to allow it)`,
    );
    this.name = 'FetchRefusedError';
    this.host = host;
    this.kind = kind;
  }
}

/** A fetch that ran out of time: retryable, like any plain Error. */
export class FetchTimeoutError extends Error {
  constructor(url: string, timeoutMs: number) {
    super(`Timed out after ${timeoutMs} ms fetching ${url}`);
    this.name = 'FetchTimeoutError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_HEADERS: Record<string, string> = {
  'user-agent': 'StrataResearchAgent/1.0',
  accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5',
  'accept-encoding': 'gzip, deflate, br',
};

/** Resolves a URL's host and checks every address; returns the addresses to connect to. */
export async function vetHost(url: URL, allowHosts: ReadonlySet<string>, signal?: AbortSignal, allowUrl?: (url: URL) => boolean): Promise<LookupAddress[]> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  if (parseIPv4(hostname) !== undefined) addresses = [{ address: hostname, family: 4 }];
  else if (parseIPv6(hostname)) addresses = [{ address: hostname, family: 6 }];
  else {
    try {
      addresses = await abortable(dnsLookup(hostname, { all: true }), signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (isOfflineError(error)) throw new ActionableError(AGENT_ERROR_CODES.networkUnavailable, `Could not resolve ${hostname} (${code}). ${NO_NETWORK_HINT}`, { cause: error });
      if (code === 'ENOTFOUND' || code === 'ENODATA') {
        throw new ActionableNonRetryableError(
          AGENT_ERROR_CODES.hostNotFound,
          `Host ${hostname} does not resolve (${code}): check the URL's spelling; if it is right, this machine may have no network or DNS access.`,
          { cause: error },
        );
      }
      throw new Error(`Resolving ${hostname} failed: ${(error as Error).message}`, { cause: error });
    }
    if (addresses.length === 0) throw new NonRetryableError(`Host ${hostname} does not resolve`);
  }
  if (allowUrl?.(url)) return addresses;
  const refused = refusedAddress(hostname, addresses, allowHosts);
  if (refused) throw new FetchRefusedError(hostname, refused);
  return addresses;
}

/** GET a URL safely (see the module comment). Any final status is returned; the caller judges it. */
export async function safeFetch(input: string, options: SafeFetchOptions): Promise<FetchedResponse> {
  const maxRedirects = options.maxRedirects ?? 5;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const redirects: string[] = [];
  let url = new URL(input);
  try {
    for (;;) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NonRetryableError(`Refused to fetch ${url.href}: only http and https URLs are fetched`);
      const addresses = await vetHost(url, options.allowHosts, signal, options.allowUrl);
      const response = await get(url, addresses, { ...DEFAULT_HEADERS, ...options.headers }, signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECTS.has(status) && location) {
        response.destroy();
        if (redirects.length >= maxRedirects) throw new NonRetryableError(`Too many redirects (more than ${maxRedirects}) fetching ${input}`);
        redirects.push(url.href);
        try {
          url = new URL(location, url);
        } catch {
          throw new NonRetryableError(`Bad redirect location from ${url.href}: ${location}`);
        }
        continue;
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        return { url: input, finalUrl: url.href, status, headers: response.headers, body: Buffer.alloc(0), truncated: false, redirects };
      }
      const { body, truncated } = await readBody(response, options.maxBytes, signal);
      return { url: input, finalUrl: url.href, status, headers: response.headers, body, truncated, redirects };
    }
  } catch (error) {
    if (error instanceof NonRetryableError) throw error;
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    if (deadline.aborted) throw new FetchTimeoutError(url.href, options.timeoutMs);
    if (error instanceof FetchTimeoutError || error instanceof ActionableError) throw error;
    if (isOfflineError(error)) throw new ActionableError(AGENT_ERROR_CODES.networkUnavailable, `Fetching ${url.href} failed: ${(error as Error).message}. ${NO_NETWORK_HINT}`, { cause: error });
    throw new Error(`Fetching ${url.href} failed: ${(error as Error).message}`, { cause: error });
  }
}

function get(url: URL, addresses: LookupAddress[], headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  // Hand the socket only the vetted addresses, whatever the resolver would say now.
  const lookup = pinnedLookup(addresses);
  const requestOptions: RequestOptions = {
    method: 'GET',
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    headers,
    lookup,
    agent: false, // a fresh connection per hop: no pooled socket from an earlier, differently vetted hop
    signal,
  };
  if (url.username || url.password) requestOptions.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(requestOptions, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readBody(response: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<{ body: Buffer; truncated: boolean }> {
  const encoding = String(response.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  const stream: Readable = decoder ? pipeline(response, decoder, () => {}) : response;
  const onAbort = () => {
    const reason = signal.reason instanceof Error ? signal.reason : new Error('Aborted');
    stream.destroy(reason);
    response.destroy(reason);
  };
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let total = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      const room = maxBytes - total;
      if (buf.length > room) {
        if (room > 0) chunks.push(buf.subarray(0, room));
        total += Math.max(room, 0);
        truncated = true;
        break;
      }
      chunks.push(buf);
      total += buf.length;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    stream.destroy();
    response.destroy();
  }
  return { body: Buffer.concat(chunks, total), truncated };
}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
