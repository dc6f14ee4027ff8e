/**
 * The schedules section's logic, kept out of the Svelte files: where a server error goes in the
 * form, a wall-clock time in a time zone as an instant, and a schedule's timing in words.
 */
import { parsePath, inputPathKey } from './strategy/field-errors.ts';

/** The form's fields a refusal can name; the strategy's parameters are `input.<path>`. */
export type ScheduleField = 'strategyId' | 'cron' | 'runAt' | 'timezone' | 'enabled';
export type ScheduleErrorPlace = { at: ScheduleField } | { at: 'input'; key: string } | { at: 'form' };

const FIELDS: readonly string[] = ['strategyId', 'cron', 'runAt', 'timezone', 'enabled'];

/** Where the API's `field` (`cron`, `input.audience`, `input.to[1]`) is shown; anything else goes above the form. */
export function schedulePlaceOf(field: string | null): ScheduleErrorPlace {
  if (!field) return { at: 'form' };
  if (FIELDS.includes(field)) return { at: field as ScheduleField };
  const [head, ...rest] = parsePath(field);
  if (head === 'input') return { at: 'input', key: inputPathKey(rest) };
  return { at: 'form' };
}

/** The refusal's text without the field name it starts with (`cron: Invalid value…` → `Invalid value…`), shown beside that field. */
export function messageFor(field: string, message: string): string {
  return message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClockOf(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
}

/**
 * The instant a wall-clock date-time (`2026-12-05T09:00`, as <input type="datetime-local">
 * gives it) names in an IANA time zone; null when it is not such a date-time or the zone is
 * unknown. A time in a spring-forward gap lands just after it.
 */
export function zonedToInstant(local: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  try {
    const first = wall - (wallClockOf(wall, timeZone) - wall);
    return new Date(wall - (wallClockOf(first, timeZone) - first));
  } catch {
    return null;
  }
}

/** A schedule's timing for the list: its cron expression, or when it runs once. */
export function describeTiming(schedule: { cron: string | null; runAt: Date | string | null; timezone: string }): string {
  if (schedule.cron) return schedule.cron;
  if (!schedule.runAt) return '—';
  const at = new Date(schedule.runAt);
  return `once, ${new Intl.DateTimeFormat('en-GB', { timeZone: schedule.timezone, dateStyle: 'medium', timeStyle: 'short' }).format(at)}`;
}

/** The time zones this browser knows, UTC first, for the form's suggestions. */
export function timeZones(): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...known.filter((zone) => zone !== 'UTC')];
}

/** The visitor's own time zone, the form's default. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
