/**
 * The one request-body policy of the HTTP API (REST and tRPC alike): at most 1 MiB, judged
 * while the body streams in, so an oversized body is refused without being read whole.
 */

export const MAX_BODY_BYTES = 1024 * 1024;

export const BODY_TOO_LARGE = 'Request body too large (limit 1 MiB)';

export class BodyError extends Error {
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(message);
    this.name = 'BodyError';
    this.status = status;
  }
}

/** The host's own limit (SvelteKit's BODY_SIZE_LIMIT) errors the stream with a 413 of its own. */
const isHostTooLarge = (error: unknown) => typeof error === 'object' && error !== null && (error as { status?: unknown }).status === 413;

/**
 * A request's body as text, at most `limit` bytes: the declared Content-Length is judged before
 * anything is read, and the bytes actually received (chunked bodies too) as they arrive.
 * No body reads as undefined.
 */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit) throw new BodyError(413, BODY_TOO_LARGE);
  if (!request.body) return undefined;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (isHostTooLarge(error)) throw new BodyError(413, BODY_TOO_LARGE);
      throw error;
    }
    if (chunk.done) break;
    size += chunk.value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyError(413, BODY_TOO_LARGE);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON body of at most 1 MiB; an empty body reads as undefined, broken JSON is a 400. */
export async function readJsonBody(request: Request): Promise<unknown> {
  const text = await readBodyText(request);
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BodyError(400, 'Invalid JSON body');
  }
}
