import type { Db } from '@strata/db';
import { NonRetryableError } from '@strata/engine';
import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { buildCalendar, escapeText, foldLine, type SchedulingResult, schedulingAgent, schedulingInputSchema, slugify, wallToInstant } from './scheduling.ts';
import type { AgentDeps } from './types.ts';
import { agentContext } from './testing.ts';

/** Parses with ical.js (an independent RFC 5545 implementation), registering the file's own VTIMEZONEs. */
function parse(ics: string) {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  for (const zone of calendar.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(zone);
  const vevent = calendar.getFirstSubcomponent('vevent');
  if (!vevent) throw new Error('no VEVENT');
  return { calendar, vevent, event: new ICAL.Event(vevent) };
}

/** The first `n` occurrences as ical.js expands them. */
function expand(event: InstanceType<typeof ICAL.Event>, n: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const it = event.iterator();
  for (let next = it.next(); next && out.length < n; next = it.next()) {
    const details = event.getOccurrenceDetails(next);
    out.push({ start: details.startDate.toJSDate().getTime(), end: details.endDate.toJSDate().getTime() });
  }
  return out;
}

const ours = (result: SchedulingResult) => result.events.map((e) => ({ start: Date.parse(e.start), end: Date.parse(e.end) }));

function checkLines(ics: string) {
  expect(ics.endsWith('\r\n')).toBe(true);
  expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  for (const line of ics.split('\r\n')) expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75);
}

describe('scheduling: iCalendar read back by ical.js', () => {
  it('writes a weekly meeting in a time zone across a DST change, with attendees and escaped text', () => {
    const description = `Agenda; budget, hiring \\ misc.\nSecond line.\n${'Café crème — '.repeat(12)}end`;
    const result = buildCalendar(
      {
        title: 'Team sync; planning, Q1',
        start: '2025-03-03T09:00',
        durationMinutes: 45,
        timeZone: 'America/New_York',
        recurrence: { frequency: 'weekly', count: 4 },
        attendees: [{ email: 'ann@example.com', name: 'Ann Lee, PhD' }, { email: 'bob@example.org' }],
        organizer: { email: 'lead@example.com', name: 'Lead' },
        location: 'Room 4, Floor 2; East wing',
        description,
      },
      { uidSeed: 'task-42', now: new Date('2025-02-01T12:00:00Z') },
    );
    checkLines(result.ics);
    expect(result.filename).toBe('team-sync-planning-q1.ics');
    expect(result.timeZone).toBe('America/New_York');
    expect(result.totalOccurrences).toBe(4);
    expect(result.ics).toContain('DTSTART;TZID=America/New_York:20250303T090000\r\n');
    expect(result.ics).toContain('DTSTAMP:20250201T120000Z\r\n');
    expect(result.events.map((e) => e.start)).toEqual(['2025-03-03T09:00:00-05:00', '2025-03-10T09:00:00-04:00', '2025-03-17T09:00:00-04:00', '2025-03-24T09:00:00-04:00']);
    expect(result.events[0]?.end).toBe('2025-03-03T09:45:00-05:00');

    const { event, vevent } = parse(result.ics);
    expect(event.summary).toBe('Team sync; planning, Q1');
    expect(event.description).toBe(description);
    expect(event.location).toBe('Room 4, Floor 2; East wing');
    expect(event.uid).toBe(result.events[0]?.uid);
    expect(event.startDate.zone?.tzid).toBe('America/New_York');
    expect(event.isRecurring()).toBe(true);
    const rrule = vevent.getFirstPropertyValue('rrule') as InstanceType<typeof ICAL.Recur>;
    expect(rrule.freq).toBe('WEEKLY');
    expect(rrule.count).toBe(4);
    expect(event.attendees.map((a) => [a.getFirstValue(), a.getParameter('cn') ?? null])).toEqual([
      ['mailto:ann@example.com', 'Ann Lee, PhD'],
      ['mailto:bob@example.org', null],
    ]);
    expect(vevent.getFirstProperty('organizer')?.getParameter('cn')).toBe('Lead');
    // ical.js computes the instants from the VTIMEZONE rules; ours come from Intl.
    expect(expand(event, 10)).toEqual(ours(result));
    expect(new Date(expand(event, 1)[0]?.start ?? 0).toISOString()).toBe('2025-03-03T14:00:00.000Z');
  });

  it('writes a one-off event in UTC with an explicit end', () => {
    const result = buildCalendar({ title: 'Launch', start: '2025-06-01T12:00:00Z', end: '2025-06-01T13:30:00+00:00' }, { uidSeed: 'x' });
    checkLines(result.ics);
    expect(result.ics).not.toContain('VTIMEZONE');
    expect(result.ics).not.toContain('RRULE');
    expect(result.ics).toContain('DTSTART:20250601T120000Z\r\n');
    expect(result.ics).toContain('DTEND:20250601T133000Z\r\n');
    expect(result.events).toEqual([{ uid: result.events[0]?.uid, title: 'Launch', start: '2025-06-01T12:00:00Z', end: '2025-06-01T13:30:00Z' }]);
    const { event } = parse(result.ics);
    expect(event.isRecurring()).toBe(false);
    expect(event.startDate.toJSDate().toISOString()).toBe('2025-06-01T12:00:00.000Z');
    expect(event.endDate.toJSDate().toISOString()).toBe('2025-06-01T13:30:00.000Z');
    expect(event.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('reads a start with an offset as that instant, shown in the time zone', () => {
    const result = buildCalendar({ title: 'Call', start: '2025-06-01T12:00:00Z', timeZone: 'Europe/Paris', durationMinutes: 30 }, { uidSeed: 'x' });
    expect(result.ics).toContain('DTSTART;TZID=Europe/Paris:20250601T140000\r\n');
    expect(result.events[0]).toMatchObject({ start: '2025-06-01T14:00:00+02:00', end: '2025-06-01T14:30:00+02:00' });
    expect(expand(parse(result.ics).event, 1)).toEqual(ours(result));
  });

  it('skips months without the day, as RFC 5545 does', () => {
    const result = buildCalendar(
      { title: 'Month end', start: '2025-01-31T18:00', timeZone: 'Europe/Berlin', recurrence: { frequency: 'monthly', count: 5 } },
      { uidSeed: 'x' },
    );
    expect(result.events.map((e) => e.start.slice(0, 10))).toEqual(['2025-01-31', '2025-03-31', '2025-05-31', '2025-07-31', '2025-08-31']);
    expect(result.events.map((e) => e.start.slice(11))).toEqual(['18:00:00+01:00', '18:00:00+02:00', '18:00:00+02:00', '18:00:00+02:00', '18:00:00+02:00']);
    expect(expand(parse(result.ics).event, 10)).toEqual(ours(result));
  });

  it('ends a recurrence at an inclusive until date, with an interval, in a zone without DST', () => {
    const result = buildCalendar(
      { title: 'Stand-up', start: '2025-05-01T09:30', timeZone: 'Asia/Kolkata', recurrence: { frequency: 'daily', interval: 2, until: '2025-05-09' } },
      { uidSeed: 'x' },
    );
    expect(result.ics).toContain('RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20250509T182959Z\r\n');
    expect(result.events.map((e) => e.start)).toEqual([1, 3, 5, 7, 9].map((d) => `2025-05-0${d}T09:30:00+05:30`));
    expect(result.totalOccurrences).toBe(5);
    expect(expand(parse(result.ics).event, 20)).toEqual(ours(result));
  });

  it('lists the first 50 occurrences of an endless recurrence, and the zone holds for years', () => {
    const result = buildCalendar(
      { title: 'Daily check', start: '2025-01-01T08:00', timeZone: 'Europe/London', durationMinutes: 15, recurrence: { frequency: 'daily' } },
      { uidSeed: 'x' },
    );
    expect(result.events).toHaveLength(50);
    expect(result.totalOccurrences).toBeNull();
    const { event } = parse(result.ics);
    const theirs = expand(event, 3700);
    expect(theirs.slice(0, 50)).toEqual(ours(result));
    // Ten years on, both still agree on 08:00 London time (summer and winter).
    for (const index of [3650, 3650 - 180]) {
      const day = new Date(Date.UTC(2025, 0, 1 + index));
      const expected = wallToInstant({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hour: 8, minute: 0, second: 0 }, 'Europe/London');
      expect(theirs[index]?.start).toBe(expected);
    }
  });

  it('reads a wall-clock time in a DST gap with the offset before the gap', () => {
    const result = buildCalendar({ title: 'Gap', start: '2025-03-09T02:30', timeZone: 'America/New_York' }, { uidSeed: 'x' });
    expect(result.events[0]?.start).toBe('2025-03-09T03:30:00-04:00');
    expect(new Date(Date.parse(result.events[0]?.start ?? '')).toISOString()).toBe('2025-03-09T07:30:00.000Z');
    // A repeated hour reads as its first instance.
    const repeated = buildCalendar({ title: 'Fold', start: '2025-11-02T01:30', timeZone: 'America/New_York' }, { uidSeed: 'x' });
    expect(repeated.events[0]?.start).toBe('2025-11-02T01:30:00-04:00');
  });

  it('escapes, folds and slugs', () => {
    expect(escapeText('a,b;c\\d\r\ne\nf')).toBe('a\\,b\\;c\\\\d\\ne\\nf');
    const folded = foldLine(`DESCRIPTION:${'é'.repeat(80)}`);
    for (const line of folded.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
    expect(folded.split('\r\n').slice(1).every((l) => l.startsWith(' '))).toBe(true);
    expect(folded.replace(/\r\n /g, '')).toBe(`DESCRIPTION:${'é'.repeat(80)}`);
    expect(slugify('  Crème Brûlée: Review #3!  ')).toBe('creme-brulee-review-3');
    expect(slugify('日本語')).toBe('event');
  });
});

describe('scheduling agent', () => {
  const deps = { config: { AGENT_FETCH_ALLOW_HOSTS: [] }, db: undefined as unknown as Db } as unknown as AgentDeps;
  const context = (input: Record<string, unknown>, id = 'task-7') =>
    agentContext({ input, task: { id, executionId: 'e', workspaceId: 'w', key: 'schedule', agentType: 'scheduling' } });

  it('runs, reports progress and keeps the UID stable per task', async () => {
    const input = { title: 'Review', start: '2025-04-01T10:00', timeZone: 'Europe/Paris', recurrence: { frequency: 'weekly', count: 2 } };
    const agent = schedulingAgent(deps);
    const first = context(input);
    const a = (await agent.run(first.ctx)) as SchedulingResult;
    const b = (await agent.run(context(input).ctx)) as SchedulingResult;
    const c = (await agent.run(context(input, 'task-8').ctx)) as SchedulingResult;
    expect(a.events).toHaveLength(2);
    expect(a.events[0]?.uid).toBe(b.events[0]?.uid);
    expect(a.events[0]?.uid).not.toBe(c.events[0]?.uid);
    expect(first.progress).toEqual([{ stage: 'scheduled', filename: 'review.ics', occurrences: 2, totalOccurrences: 2 }]);
  });

  it.each([
    [{ start: '2025-04-01T10:00' }, 'title'],
    [{ title: 'x', start: 'tomorrow' }, 'start'],
    [{ title: 'x', start: '2025-04-01T10:00', timeZone: 'Mars/Olympus' }, 'timeZone'],
    [{ title: 'x', start: '2025-04-01T10:00', end: '2025-04-01T09:00' }, 'end'],
    [{ title: 'x', start: '2025-04-01T10:00', end: '2025-04-01T11:00', durationMinutes: 5 }, 'end'],
    [{ title: 'x', start: '2025-04-01T10:00', recurrence: { frequency: 'daily', count: 2, until: '2025-05-01' } }, 'recurrence.until'],
    [{ title: 'x', start: '2025-04-01T10:00', recurrence: { frequency: 'daily', until: '2025-03-01' } }, 'recurrence.until'],
    [{ title: 'x', start: '2025-04-01T10:00', recurrence: { frequency: 'yearly' } }, 'recurrence.frequency'],
    [{ title: 'x', start: '2025-04-01T10:00', attendees: [{ email: 'not-an-email' }] }, 'attendees.0.email'],
  ])('rejects %j at %s', async (input, path) => {
    const parsed = schedulingInputSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain(path);
    await expect(schedulingAgent(deps).run(context(input).ctx)).rejects.toBeInstanceOf(NonRetryableError);
  });

  it('accepts a time zone in any case and a UTC alias', () => {
    const r = buildCalendar({ title: 'x', start: '2025-04-01T10:00', timeZone: 'UTC' }, { uidSeed: 'x' });
    expect(r.ics).toContain('DTSTART:20250401T100000Z');
    expect(schedulingInputSchema.safeParse({ title: 'x', start: '2025-04-01T10:00', timeZone: 'europe/paris' }).success).toBe(true);
  });
});
