/**
 * JSON to embed verbatim in a response: the tasks of a status body arrive from PostgreSQL as
 * JSON text and would otherwise be parsed only to be serialised again. A snapshot's tasks are
 * kept encoded (UTF-8 bytes), so a response reuses them without encoding 100s of KB again.
 * (ES2025's JSON.rawJSON only takes primitives, so the adapters splice the text in themselves.)
 */
export class RawJson {
  readonly #text: string | undefined;
  #bytes: Buffer | undefined;
  constructor(json: string | Buffer) {
    if (typeof json === 'string') this.#text = json;
    else this.#bytes = json;
  }
  get text(): string {
    return this.#text ?? this.#bytes!.toString('utf8');
  }
  get bytes(): Buffer {
    this.#bytes ??= Buffer.from(this.#text!);
    return this.#bytes;
  }
}

export function rawJson<T>(json: string | Buffer): T {
  return new RawJson(json) as unknown as T;
}

/** JSON.stringify, with each RawJson's place marked; returns the text and the raw parts in order. */
function stringifyMarked(value: unknown): { text: string; raws: RawJson[]; marker: RegExp | null } {
  const raws: RawJson[] = [];
  const marker = `\u0000raw${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v);
      return `${marker}${raws.length - 1}`;
    }
    return v;
  });
  if (raws.length === 0) return { text, raws, marker: null };
  const quoted = JSON.stringify(marker).slice(1, -1);
  return { text, raws, marker: new RegExp(`"${quoted.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(\\d+)"`, 'g') };
}

/** JSON.stringify that emits each RawJson's text in its place. */
export function stringifyWithRaw(value: unknown): string {
  const { text, raws, marker } = stringifyMarked(value);
  if (!marker) return text;
  return text.replace(marker, (_m, i: string) => raws[Number(i)]!.text);
}

/** The same JSON as UTF-8 bytes, each RawJson's bytes copied in place (never re-encoded). */
export function encodeWithRaw(value: unknown): Buffer {
  const { text, raws, marker } = stringifyMarked(value);
  if (!marker) return Buffer.from(text);
  const parts: Buffer[] = [];
  let at = 0;
  for (const match of text.matchAll(marker)) {
    parts.push(Buffer.from(text.slice(at, match.index)), raws[Number(match[1])]!.bytes);
    at = match.index + match[0].length;
  }
  parts.push(Buffer.from(text.slice(at)));
  return Buffer.concat(parts);
}
