import { authenticate, type LoginThrottleSettings, type Principal } from '@strata/auth';
import type { Db } from '@strata/db';
import type { AgentRegistry, EngineContext } from '@strata/engine';
import type { RateLimits } from './rate-limit.ts';
import type { StatusCache } from './status-cache.ts';
import type { StreamGuard } from './stream/guard.ts';
import type { EventHub } from './stream/hub.ts';
import { isHttpsRequest, type TransportPolicy } from './transport-security.ts';

/** What the API needs from the process hosting it. */
export interface ApiDeps {
  db: Db;
  engine: EngineContext;
  rateLimits: RateLimits;
  /**
   * The agent types this server knows, built-in and custom (STRATA_AGENT_MODULES): items' inputs
   * are checked against their schemas when a strategy is created or edited, and `GET /api/agents` lists them.
   */
  agents: AgentRegistry;
  /** Marks the session cookie Secure on every request (else per request, see `transport`). */
  secureCookies?: boolean;
  /** How to tell that a request came over HTTPS (`ORIGIN`, `TRUST_PROXY`): its cookie is then Secure. */
  transport?: TransportPolicy;
  /** Status snapshots reused while an execution is unchanged; one per process. */
  statusCache?: StatusCache;
  /** The process's event hub, for the stream subscription. */
  hub?: EventHub;
  /** The process's stream guard: caps streams per credential, ends those whose credential or access ended. */
  streamGuard?: StreamGuard;
  /** Login throttling limits and clock; the defaults (10 per account, 50 per client, 15 min) when unset. */
  loginThrottle?: LoginThrottleSettings;
  /** Hosts a webhook URL may name although private (WEBHOOK_ALLOW_HOSTS, as `allowListSet` gives it); none when unset. */
  webhookAllowHosts?: ReadonlySet<string>;
}

export interface ApiContext extends ApiDeps {
  principal: Principal | null;
  /** Headers the procedure wants on the response (rate limits, cookies). */
  responseHeaders: Headers;
  idempotencyKey: string | null;
  /** Set by the REST adapter: large JSON (the tasks of a status) may pass through as raw text. */
  rawJson: boolean;
  /** The caller's address as the host saw it (the login throttle counts per address); null when unknown. */
  clientAddress: string | null;
}

export interface RequestInfo {
  rawJson?: boolean;
  /** The remote address, or the proxy's X-Forwarded-For entry where the proxy is trusted. */
  clientAddress?: string | null;
}

/** Builds a request's context from its headers and the address it came from: the same for tRPC and REST. */
export async function createContext(deps: ApiDeps, headers: Headers, options: RequestInfo = {}): Promise<ApiContext> {
  const principal = await authenticate(deps.db, { authorization: headers.get('authorization'), cookie: headers.get('cookie') });
  const secureCookies = deps.secureCookies || isHttpsRequest(headers.get('x-forwarded-proto'), deps.transport);
  return {
    ...deps,
    principal,
    secureCookies,
    responseHeaders: new Headers(),
    idempotencyKey: headers.get('idempotency-key'),
    rawJson: options.rawJson ?? false,
    clientAddress: options.clientAddress ?? null,
  };
}
