import { BridgeConnectionError, StrataApiError } from '@strata/client';

/** A failure the user can act on: its message is printed as it is, and the command exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Where the message can name the server and where the token came from. */
export interface ErrorContext {
  url?: string | undefined;
  tokenSource?: string | undefined;
}

const TOKEN_SOURCES: Record<string, string> = { flag: 'the --token flag', env: 'STRATA_TOKEN', config: 'the config file' };

/** One readable line (or two) for any error a command can meet. */
export function describeError(error: unknown, context: ErrorContext = {}): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof StrataApiError) return describeStatus(error.status, error.message, fieldOf(error.body), context);
  if (error instanceof BridgeConnectionError) {
    if (error.status !== undefined) return describeStatus(error.status, error.message, undefined, context);
    return error.message;
  }
  const network = networkCode(error);
  if (network) {
    const where = context.url ? `the Strata server at ${context.url}` : 'the Strata server';
    if (network === 'ECONNREFUSED') return `Cannot reach ${where}: connection refused. Is it running? Set the server with --url, STRATA_URL or \`strata login\`.`;
    if (network === 'ENOTFOUND' || network === 'EAI_AGAIN') return `Cannot reach ${where}: the host name does not resolve (${network}).`;
    return `Cannot reach ${where}: ${network}.`;
  }
  // fetch's own refusals (a bad port, an invalid URL) carry no system code.
  if (error instanceof TypeError && error.message === 'fetch failed') {
    const cause = (error as { cause?: unknown }).cause;
    return `Cannot reach ${context.url ? `the Strata server at ${context.url}` : 'the Strata server'}: ${cause instanceof Error ? cause.message : 'the request failed'}.`;
  }
  return error instanceof Error ? error.message : String(error);
}

function describeStatus(status: number, message: string, field: string | undefined, context: ErrorContext): string {
  const source = context.tokenSource ? ` (from ${TOKEN_SOURCES[context.tokenSource] ?? context.tokenSource})` : '';
  switch (status) {
    case 400:
      return `Refused (400): ${message}${field && !message.includes(field) ? ` [field: ${field}]` : ''}`;
    case 401:
      return `Not authenticated (401): ${message}. The token${source} is missing, expired or revoked: run \`strata login\` or pass --token.`;
    case 403:
      return `Access denied (403): ${message}. Your role in this workspace (or a token bound to another workspace) does not allow it.`;
    case 404:
      return `Not found (404): ${message}.`;
    case 409:
      return `Conflict (409): ${message}.`;
    case 413:
      return `Too large (413): ${message}.`;
    case 429:
      return `Rate limited (429): ${message}. The workspace's limit for this kind of call was reached; wait a minute and try again.`;
    default:
      return status >= 500 ? `Server error (${status}): ${message}. Try again; if it persists, check the server's log.` : `${message} (HTTP ${status})`;
  }
}

function fieldOf(body: unknown): string | undefined {
  const field = body && typeof body === 'object' ? (body as { field?: unknown }).field : undefined;
  return typeof field === 'string' ? field : undefined;
}

/** The system error code of a failed fetch (undici puts it on `cause`). */
function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
