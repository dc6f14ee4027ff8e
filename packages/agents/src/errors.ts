/**
 * Failures the person running a strategy can act on carry a stable `code` (for programs and the
 * dashboard) and a message that ends with what to do. The engine records the message as the
 * task's error and passes the code along in the `task-failed` event.
 */
import { NonRetryableError } from '@strata/engine';

export const AGENT_ERROR_CODES = {
  /** The URL's host is private or internal (loopback, LAN, cloud metadata) and not allowed. */
  fetchRefused: 'fetch_refused_private_address',
  /** This machine could not reach the network (no DNS, no route). */
  networkUnavailable: 'network_unavailable',
  /** The host name does not exist. */
  hostNotFound: 'host_not_found',
  /** LLM_BASE_URL is set but the provider could not be reached or refused the request. */
  llmUnavailable: 'llm_unavailable',
  /** SMTP_URL is set but the mail server could not be reached or refused the message. */
  smtpUnavailable: 'smtp_unavailable',
} as const;
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[keyof typeof AGENT_ERROR_CODES];

/** A failure another attempt may cure (the network may come back), with a code and a hint. */
export class ActionableError extends Error {
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ActionableError';
    this.code = code;
  }
}

/** A failure no retry cures (a private address, a host that does not exist), with a code and a hint. */
export class ActionableNonRetryableError extends NonRetryableError {
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Socket and resolver error codes that mean "this machine has no way out", not "that server is down". */
const OFFLINE_CODES = new Set(['EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EAI_FAIL']);

/** The system error code (`ENETUNREACH`, ...) anywhere in an error's cause chain. */
export function systemErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

export const isOfflineError = (error: unknown): boolean => OFFLINE_CODES.has(systemErrorCode(error) ?? '');

export const NO_NETWORK_HINT =
  'This machine seems to have no network access: check the connection, or use pages the app serves itself (the demo strategies read /demo/docs/).';
