/// <reference path="./types/parse-prometheus-text-format.d.ts" />
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

/** A scrape's text parsed by an independent Prometheus text-format parser, with lookups by name and labels. */
export function parseScrape(text: string) {
  const families = new Map<string, ParsedFamily>(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
  const series = (name: string) => {
    const family = families.get(name);
    if (!family) throw new Error(`no metric ${name} in the scrape`);
    return family.metrics;
  };
  const matches = (labels: Record<string, string> | undefined, want: Record<string, string>) => Object.entries(want).every(([k, v]) => labels?.[k] === v);
  return {
    families,
    /** The value of the one series of `name` with these labels (0 when there is none). */
    value(name: string, labels: Record<string, string> = {}): number {
      const found = series(name).filter((m) => matches(m.labels, labels));
      if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} names ${found.length} series`);
      return found[0] ? Number(found[0].value) : 0;
    },
    /** Every series of `name` (label sets and values), for comparing whole tables. */
    table(name: string, keys: string[]): Record<string, number> {
      const out: Record<string, number> = {};
      for (const m of series(name)) {
        const value = Number(m.value);
        if (value !== 0) out[keys.map((k) => m.labels?.[k]).join('/')] = value;
      }
      return out;
    },
  };
}
