import { NonRetryableError } from './errors.ts';

/** Default cap on a task's stored result (`TASK_RESULT_MAX_BYTES`). */
export const DEFAULT_RESULT_MAX_BYTES = 1024 * 1024;
/**
 * Cap on one `progress()` report: it is stored on the task and streamed to every watcher as a
 * `task-progress` event, so it stays far below the result cap.
 */
/**
 * A result up to this size (as JSON) rides on its `task-completed` event, so a live view shows it
 * at once; a larger one is marked `resultOmitted` and read from the status body.
 */
export const EVENT_RESULT_MAX_BYTES = 64 * 1024;
/**
 * The results the `task-completed` events of one re-run's carried-over tasks carry together: a
 * 10,000-task re-run must not put 10,000 results in one transaction's events. Past it, the
 * events say `resultOmitted` (the status body and the task endpoint have them).
 */
export const CARRIED_OVER_EVENT_RESULTS_MAX_BYTES = 4 * 1024 * 1024;

export const PROGRESS_MAX_BYTES = 64 * 1024;
/**
 * Default cap on the results one task's dependencies hold together (they are loaded into the
 * worker's memory to run it): 64 MiB, and always room for four results at the cap.
 */
export const defaultDependenciesMaxBytes = (resultMaxBytes: number): number => Math.max(64 * 1024 * 1024, 4 * resultMaxBytes);

/** Bytes for people: `512 B`, `12.5 KiB`, `1.3 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KiB'] : [bytes / (1024 * 1024), 'MiB'];
  return `${Number(value.toFixed(1))} ${unit}`;
}

/** "1.3 MiB (limit 1 MiB": exact byte counts where rounding would make the two look equal. */
function sizeAgainstLimit(bytes: number, limit: number): [string, string] {
  const [size, max] = [formatBytes(bytes), formatBytes(limit)];
  return size === max ? [`${bytes} bytes`, `${limit} bytes`] : [size, max];
}

/**
 * Serialises a value as JSON once and checks its UTF-8 size against a cap; over it, or when the
 * value is not JSON, a NonRetryableError (another attempt would produce the same thing).
 */
export function boundedJson(value: unknown, limit: number, what: { label: string; setting?: string }): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // A cycle or a BigInt: the same value would fail the same way on every attempt.
    throw new NonRetryableError(`${what.label} is not JSON-serialisable: ${(error as Error).message}`);
  }
  if (text === undefined) throw new NonRetryableError(`${what.label} is not JSON-serialisable`);
  const unstorable = unstorableEscape(text);
  if (unstorable) throw new NonRetryableError(`${what.label} cannot be stored: it contains ${unstorable}, which PostgreSQL's jsonb refuses`);
  // One UTF-16 unit is at most 3 UTF-8 bytes: a text that short is under the cap without counting.
  if (text.length * 3 <= limit) return text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limit) {
    const [size, max] = sizeAgainstLimit(bytes, limit);
    throw new NonRetryableError(`${what.label} too large: ${size} (limit ${max}${what.setting ? `, ${what.setting}` : ''})`);
  }
  return text;
}

/**
 * JSON text PostgreSQL's jsonb refuses although JSON allows it: a NUL character (`\u0000`) or an
 * unpaired UTF-16 surrogate (JSON.stringify escapes those as `\udXXX`). Only escapes preceded by
 * an even number of backslashes count (`\\u0000` is a backslash and the text "u0000").
 */
function unstorableEscape(text: string): string | undefined {
  if (!text.includes('\\u')) return undefined;
  const match = /(?<!\\)(?:\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/i.exec(text);
  if (!match) return undefined;
  return match[1] === '0000' ? 'a NUL character (\\u0000)' : `an unpaired UTF-16 surrogate (\\u${match[1]!.toLowerCase()})`;
}

/** Text for a PostgreSQL text column: NUL and unpaired surrogates (which it refuses) replaced by U+FFFD. */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

/** PostgreSQL's limit on one jsonb value (just under 256 MiB): a result cap above it is lowered to it. */
export const JSONB_MAX_BYTES = 255 * 1024 * 1024;
