/**
 * JSON text to embed verbatim in a response: the tasks of a status body arrive from PostgreSQL
 * as JSON and would otherwise be parsed only to be serialised again. (ES2025's JSON.rawJSON
 * only takes primitives, so the REST adapter splices the text in itself.)
 */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export function rawJson<T>(text: string): T {
  return new RawJson(text) as unknown as T;
}

/** JSON.stringify that emits each RawJson's text in its place. */
export function stringifyWithRaw(value: unknown): string {
  const raws: string[] = [];
  const marker = `\u0000raw${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `${marker}${raws.length - 1}`;
    }
    return v;
  });
  if (raws.length === 0) return text;
  const quoted = JSON.stringify(marker).slice(1, -1);
  return text.replace(new RegExp(`"${quoted.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(\\d+)"`, 'g'), (_m, i: string) => raws[Number(i)]!);
}
