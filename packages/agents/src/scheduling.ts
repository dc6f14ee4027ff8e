/**
 * The scheduling agent: turns a title, a start, a duration (or end), an optional recurrence,
 * attendees and a time zone into an iCalendar object (RFC 5545) and lists the first occurrences.
 *
 * The iCalendar text is written here rather than with a generator package: the subset needed is
 * small (one VEVENT, an RRULE, attendees), and the popular generators either leave time zones to
 * the caller (no VTIMEZONE, so TZID times are ambiguous to strict readers) or pull in a time zone
 * database. Time zones come from the runtime's own Intl data instead:
 *
 * - Without `timeZone`, times are written in UTC (`DTSTART:20250310T130000Z`).
 * - With `timeZone`, times are local with `TZID=<IANA name>`, and a VTIMEZONE built from Intl
 *   gives the offsets and every transition from the first occurrence to the last (to 20 years
 *   ahead for a recurrence with no end), so readers without an IANA database agree. A recurrence
 *   keeps its wall-clock time across daylight-saving changes, as RFC 5545 prescribes for TZID times.
 * - A start without an offset is a wall-clock time in `timeZone` (or UTC); a start with an offset
 *   is that instant. A wall-clock time in a daylight-saving gap is read with the offset before the
 *   gap, and one in a repeated hour as its first instance (RFC 5545 section 3.3.5).
 * - A monthly recurrence on a day some months lack (the 31st) skips those months, as RFC 5545 does.
 */
import { createHash } from 'node:crypto';
import { NonRetryableError } from '@strata/engine';
import { z } from 'zod';
import type { BuiltInAgent } from './types.ts';

/** How many occurrences the result lists (the .ics holds the whole recurrence). */
export const LISTED_OCCURRENCES = 50;
const DEFAULT_DURATION_MINUTES = 60;
/** How far ahead a VTIMEZONE describes transitions, at most (a recurrence with no end gets this). */
const ZONE_YEARS = 30;
/** Steps walked to count a recurrence to its `until`. */
const MAX_STEPS = 100_000;
const MINUTE = 60_000;
const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Time zones through Intl

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The canonical IANA name for a time zone the runtime knows, or undefined. */
export function canonicalTimeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** A wall-clock date and time: month 1-12. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const wallToNumber = (w: Wall): number => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
const numberToWall = (ms: number): Wall => {
  const d = new Date(ms);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
};

/** The wall clock in `timeZone` at an instant (whole seconds). */
export function wallAt(ms: number, timeZone: string): Wall {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year ?? 0, month: parts.month ?? 1, day: parts.day ?? 1, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0 };
}

/** The offset from UTC of `timeZone` at an instant, in milliseconds (whole seconds). */
export function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallToNumber(wallAt(whole, timeZone)) - whole;
}

/** The instant of a wall-clock time in `timeZone`: a gap reads with the offset before it, a repeat as its first instance. */
export function wallToInstant(wall: Wall, timeZone: string): number {
  const t = wallToNumber(wall);
  const before = offsetAt(t - DAY, timeZone);
  const after = offsetAt(t + DAY, timeZone);
  const valid = [...new Set([before, after])].map((o) => t - o).filter((u) => offsetAt(u, timeZone) === t - u);
  if (valid.length > 0) return Math.min(...valid);
  return t - before;
}

/** The offset transitions of `timeZone` in (from, to]: each instant with the offsets before and after. */
export function transitions(timeZone: string, from: number, to: number): { at: number; from: number; to: number }[] {
  const out: { at: number; from: number; to: number }[] = [];
  let t = from;
  let offset = offsetAt(t, timeZone);
  while (t < to) {
    // Weekly samples: offsets do not change twice within a week.
    const next = Math.min(t + 7 * DAY, to);
    const nextOffset = offsetAt(next, timeZone);
    if (nextOffset !== offset) {
      // Binary search to the second: lo has the old offset, hi the new.
      let lo = t;
      let hi = next;
      while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2000) * 1000;
        if (mid <= lo || mid >= hi) break;
        if (offsetAt(mid, timeZone) === offset) lo = mid;
        else hi = mid;
      }
      out.push({ at: Math.ceil(hi / 1000) * 1000, from: offset, to: nextOffset });
      offset = nextOffset;
    }
    t = next;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Input

const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateTime = z.iso.datetime({ offset: true, local: true, error: 'must be an ISO 8601 date-time, e.g. 2025-03-10T09:00:00 or 2025-03-10T09:00:00Z' });
const timeZoneName = z
  .string()
  .trim()
  .min(1)
  .refine((name) => canonicalTimeZone(name) !== undefined, { error: 'must be an IANA time zone name, e.g. Europe/Paris' });
const person = z.object({ email: z.email(), name: z.string().trim().min(1).max(200).optional() });

const baseSchema = z.object({
  title: z.string().trim().min(1).max(500),
  /** ISO 8601; without an offset it is a wall-clock time in `timeZone` (UTC when none is given). */
  start: dateTime,
  /** Default 60 minutes when neither this nor `end` is given. */
  durationMinutes: z.number().int().min(1).max(60 * 24 * 31).optional(),
  end: dateTime.optional(),
  timeZone: timeZoneName.optional(),
  recurrence: z
    .object({
      frequency: z.enum(['daily', 'weekly', 'monthly']),
      interval: z.number().int().min(1).max(1000).optional(),
      count: z.number().int().min(1).max(1000).optional(),
      /** Inclusive: the last occurrence starts at or before it. A date alone means the end of that day. */
      until: z.union([dateTime, z.iso.date()]).optional(),
    })
    .refine((r) => r.count === undefined || r.until === undefined, { error: 'takes count or until, not both', path: ['until'] })
    .optional(),
  attendees: z.array(person).max(200).optional(),
  organizer: person.optional(),
  location: z.string().trim().max(1000).optional(),
  description: z.string().max(20_000).optional(),
});

export const schedulingInputSchema = baseSchema.superRefine((input, ctx) => {
  if (input.durationMinutes !== undefined && input.end !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'takes durationMinutes or end, not both', path: ['end'] });
    return;
  }
  if (input.timeZone !== undefined && canonicalTimeZone(input.timeZone) === undefined) return; // reported by the field
  const problem = timingProblem(input);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
});
export type SchedulingInput = z.infer<typeof baseSchema>;

/** An ISO date-time as an instant: with an offset as given, without one as wall-clock time in the zone. */
function instantOf(text: string, timeZone: string | undefined): number {
  const local = LOCAL_DATETIME.exec(text);
  if (!local) return Date.parse(text);
  const [, y, mo, d, h, mi, s] = local;
  const wall: Wall = { year: Number(y), month: Number(mo), day: Number(d), hour: Number(h), minute: Number(mi), second: Number(s ?? 0) };
  return timeZone ? wallToInstant(wall, timeZone) : wallToNumber(wall);
}

function untilInstant(text: string, timeZone: string | undefined): number {
  const date = DATE_ONLY.exec(text);
  if (!date) return instantOf(text, timeZone);
  const wall: Wall = { year: Number(date[1]), month: Number(date[2]), day: Number(date[3]), hour: 23, minute: 59, second: 59 };
  return timeZone ? wallToInstant(wall, timeZone) : wallToNumber(wall);
}

function timingProblem(input: SchedulingInput): { message: string; path: string[] } | undefined {
  const timeZone = input.timeZone ? canonicalTimeZone(input.timeZone) : undefined;
  const start = instantOf(input.start, timeZone);
  if (Number.isNaN(start)) return { message: 'is not a valid date-time', path: ['start'] };
  if (input.end !== undefined) {
    const end = instantOf(input.end, timeZone);
    if (Number.isNaN(end)) return { message: 'is not a valid date-time', path: ['end'] };
    if (end <= start) return { message: 'must be after start', path: ['end'] };
  }
  if (input.recurrence?.until !== undefined) {
    const until = untilInstant(input.recurrence.until, timeZone);
    if (Number.isNaN(until)) return { message: 'is not a valid date or date-time', path: ['recurrence', 'until'] };
    if (until < start) return { message: 'must not be before start', path: ['recurrence', 'until'] };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Occurrences

export interface Occurrence {
  start: number;
  end: number;
}

/**
 * The occurrences from the first, at most `limit` listed: wall-clock stepping in the zone (or
 * UTC), ending at `count` or `until` when given. `total` and `lastStart` cover the whole
 * recurrence (null / undefined when it has no end, or an end too far to walk to).
 */
function occurrences(
  first: Wall,
  durationMs: number,
  timeZone: string | undefined,
  recurrence: SchedulingInput['recurrence'],
  limit: number,
): { list: Occurrence[]; total: number | null; lastStart: number | undefined } {
  const toInstant = (w: Wall) => (timeZone ? wallToInstant(w, timeZone) : wallToNumber(w));
  if (!recurrence) {
    const start = toInstant(first);
    return { list: [{ start, end: start + durationMs }], total: 1, lastStart: start };
  }
  const interval = recurrence.interval ?? 1;
  const until = recurrence.until !== undefined ? untilInstant(recurrence.until, timeZone) : undefined;
  const count = recurrence.count;
  const bounded = count !== undefined || until !== undefined;
  const list: Occurrence[] = [];
  let total = 0;
  let lastStart: number | undefined;
  for (let k = 0; k < MAX_STEPS; k++) {
    let wall: Wall | undefined;
    if (recurrence.frequency === 'monthly') {
      const monthIndex = first.month - 1 + k * interval;
      const year = first.year + Math.floor(monthIndex / 12);
      const month = (monthIndex % 12) + 1;
      const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
      if (first.day <= daysInMonth) wall = { ...first, year, month };
    } else {
      const days = k * interval * (recurrence.frequency === 'weekly' ? 7 : 1);
      wall = { ...numberToWall(wallToNumber(first) + days * DAY), hour: first.hour, minute: first.minute, second: first.second };
    }
    if (!wall) continue;
    const start = toInstant(wall);
    if (until !== undefined && start > until) return { list, total, lastStart };
    total++;
    lastStart = start;
    if (list.length < limit) list.push({ start, end: start + durationMs });
    if (count !== undefined && total >= count) return { list, total, lastStart };
    if (!bounded && list.length >= limit) break;
  }
  return { list, total: null, lastStart: undefined };
}

// ---------------------------------------------------------------------------------------------
// iCalendar text

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');
const formatWall = (w: Wall) => `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}T${pad(w.hour)}${pad(w.minute)}${pad(w.second)}`;
const formatUtc = (ms: number) => `${formatWall(numberToWall(Math.floor(ms / 1000) * 1000))}Z`;
function formatOffset(ms: number): string {
  const total = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${ms < 0 ? '-' : '+'}${pad(h)}${pad(m)}${s ? pad(s) : ''}`;
}
/** ISO 8601 with the zone's offset (or Z), e.g. 2025-03-10T09:00:00-04:00. */
function isoIn(ms: number, timeZone: string | undefined): string {
  if (!timeZone) return new Date(ms).toISOString().replace('.000Z', 'Z');
  const w = wallAt(ms, timeZone);
  const offset = offsetAt(ms, timeZone);
  const off = offset === 0 ? 'Z' : `${formatOffset(offset).slice(0, 3)}:${formatOffset(offset).slice(3, 5)}`;
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${off}`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma, newlines. */
export function escapeText(text: string): string {
  return text
    .replace(CONTROL, '')
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/** A parameter value: no control characters or DQUOTE; quoted when it holds : ; or ,. */
function paramValue(text: string): string {
  const clean = text.replace(CONTROL, '').replace(/[\r\n\t]+/g, ' ').replace(/"/g, "'");
  return /[:;,]/.test(clean) ? `"${clean}"` : clean;
}

/** Folds a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence. */
export function foldLine(line: string): string {
  if (Buffer.byteLength(line, 'utf8') <= 75) return line;
  const pieces: string[] = [];
  let current = '';
  let bytes = 0;
  let limit = 75;
  for (const ch of line) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > limit) {
      pieces.push(current);
      current = '';
      bytes = 0;
      limit = 74; // the leading space of a continuation line counts
    }
    current += ch;
    bytes += size;
  }
  pieces.push(current);
  return pieces.join('\r\n ');
}

function vtimezone(timeZone: string, from: number, to: number): string[] {
  const lines = ['BEGIN:VTIMEZONE', `TZID:${paramValue(timeZone)}`];
  const observance = (t: { at: number; from: number; to: number }, kind?: 'STANDARD' | 'DAYLIGHT') => {
    const type = kind ?? (t.to > t.from ? 'DAYLIGHT' : 'STANDARD');
    lines.push(
      `BEGIN:${type}`,
      `DTSTART:${formatWall(numberToWall(t.at + t.from))}`,
      `TZOFFSETFROM:${formatOffset(t.from)}`,
      `TZOFFSETTO:${formatOffset(t.to)}`,
      `END:${type}`,
    );
  };
  // The observance in force at `from`: the last transition in the year before it, else a fixed offset.
  const earlier = transitions(timeZone, from - 366 * DAY, from).at(-1);
  if (earlier) observance(earlier);
  else {
    const offset = offsetAt(from, timeZone);
    lines.push('BEGIN:STANDARD', 'DTSTART:19700101T000000', `TZOFFSETFROM:${formatOffset(offset)}`, `TZOFFSETTO:${formatOffset(offset)}`, 'END:STANDARD');
  }
  for (const t of transitions(timeZone, from, to)) observance(t);
  lines.push('END:VTIMEZONE');
  return lines;
}

const UTC_ZONES = /^(Etc\/)?(UTC|UCT|Universal|Zulu|Greenwich|GMT|GMT0|GMT[+-]0)$/i;

export interface SchedulingEvent {
  uid: string;
  title: string;
  /** ISO 8601, with the time zone's offset when one was given (else UTC). */
  start: string;
  end: string;
}

export interface SchedulingResult {
  ics: string;
  events: SchedulingEvent[];
  filename: string;
  /** The IANA zone the times are written in, or UTC. */
  timeZone: string;
  /** How many occurrences the event has in all; null for a recurrence without count or until. */
  totalOccurrences: number | null;
}

/** A UUID derived from a seed, so the same task always yields the same UID (re-imports update rather than duplicate). */
function uidFor(seed: string): string {
  const h = createHash('sha256').update(`strata-scheduling:${seed}`).digest('hex');
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug || 'event';
}

/** Builds the calendar for a valid input (see the module comment). `uidSeed` fixes the UID; `now` the DTSTAMP. */
export function buildCalendar(input: SchedulingInput, options: { uidSeed: string; now?: Date }): SchedulingResult {
  const named = input.timeZone ? canonicalTimeZone(input.timeZone) : undefined;
  const zoned = named !== undefined && !UTC_ZONES.test(named) ? named : undefined;
  const start = instantOf(input.start, named);
  const durationMs = input.end !== undefined ? instantOf(input.end, named) - start : (input.durationMinutes ?? DEFAULT_DURATION_MINUTES) * MINUTE;
  const firstWall = zoned ? wallAt(start, zoned) : numberToWall(Math.floor(start / 1000) * 1000);
  const { list, total, lastStart } = occurrences(firstWall, durationMs, zoned, input.recurrence, LISTED_OCCURRENCES);
  const uid = uidFor(options.uidSeed);
  const firstOccurrence = list[0] ?? { start, end: start + durationMs };
  const when = (ms: number) => (zoned ? `;TZID=${paramValue(zoned)}:${formatWall(wallAt(ms, zoned))}` : `:${formatUtc(ms)}`);

  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Strata//Scheduling Agent//EN', 'CALSCALE:GREGORIAN'];
  if (zoned) {
    // Transitions from the first occurrence to the end of the last (or ZONE_YEARS ahead).
    const horizon = start + ZONE_YEARS * 366 * DAY;
    const to = lastStart === undefined ? horizon : Math.min(lastStart + durationMs + DAY, horizon);
    lines.push(...vtimezone(zoned, start - DAY, to));
  }
  lines.push(
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `DTSTAMP:${formatUtc((options.now ?? new Date()).getTime())}`,
    `DTSTART${when(firstOccurrence.start)}`,
    `DTEND${when(firstOccurrence.start + durationMs)}`,
    `SUMMARY:${escapeText(input.title)}`,
  );
  if (input.recurrence) {
    const r = input.recurrence;
    const parts = [`FREQ=${r.frequency.toUpperCase()}`];
    if (r.interval !== undefined && r.interval !== 1) parts.push(`INTERVAL=${r.interval}`);
    if (r.count !== undefined) parts.push(`COUNT=${r.count}`);
    if (r.until !== undefined) parts.push(`UNTIL=${formatUtc(untilInstant(r.until, named))}`);
    lines.push(`RRULE:${parts.join(';')}`);
  }
  if (input.location) lines.push(`LOCATION:${escapeText(input.location)}`);
  if (input.description) lines.push(`DESCRIPTION:${escapeText(input.description)}`);
  if (input.organizer) {
    const cn = input.organizer.name ? `;CN=${paramValue(input.organizer.name)}` : '';
    lines.push(`ORGANIZER${cn}:mailto:${input.organizer.email}`);
  }
  for (const attendee of input.attendees ?? []) {
    const cn = attendee.name ? `;CN=${paramValue(attendee.name)}` : '';
    lines.push(`ATTENDEE${cn};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:${attendee.email}`);
  }
  lines.push('END:VEVENT', 'END:VCALENDAR');

  return {
    ics: `${lines.map(foldLine).join('\r\n')}\r\n`,
    events: list.map((o) => ({ uid, title: input.title, start: isoIn(o.start, zoned), end: isoIn(o.end, zoned) })),
    filename: `${slugify(input.title)}.ics`,
    timeZone: zoned ?? 'UTC',
    totalOccurrences: total,
  };
}

export const schedulingAgent: BuiltInAgent = () => ({
  inputSchema: schedulingInputSchema,
  description: 'Plans an event or a recurring series and produces an .ics calendar file.',
  example: { title: 'Launch review', start: '2027-03-01T10:00', durationMinutes: 45, timeZone: 'Europe/Paris', attendees: [{ email: 'team@example.com' }] },
  async run(ctx): Promise<SchedulingResult> {
    const parsed = schedulingInputSchema.safeParse(ctx.task.input);
    if (!parsed.success) throw new NonRetryableError(`Invalid scheduling input: ${z.prettifyError(parsed.error)}`);
    const result = buildCalendar(parsed.data, { uidSeed: ctx.task.id });
    await ctx.progress({ stage: 'scheduled', filename: result.filename, occurrences: result.events.length, totalOccurrences: result.totalOccurrences });
    return result;
  },
});
