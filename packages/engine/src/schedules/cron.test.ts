import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { checkTimezone, cronSchedule } from './cron.ts';

/** The ticks after `from`, one after another, as ISO instants. */
function ticks(expression: string, timezone: string, from: string, count: number): string[] {
  const cron = cronSchedule(expression, timezone);
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < count; i++) {
    const next = cron.next(at);
    if (!next) break;
    out.push(next.toISOString());
    at = next;
  }
  return out;
}

function refusal(run: () => unknown): { message: string; path: unknown } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    const e = error as EngineError;
    expect(e.code).toBe('VALIDATION');
    return { message: e.message, path: e.details?.path };
  }
  throw new Error('not refused');
}

describe('cron ticks across DST (Vixie cron rules)', () => {
  // America/New_York 2025: 02:00 EST -> 03:00 EDT on 9 March (07:00Z); 02:00 EDT -> 01:00 EST on 2 November (06:00Z).
  it('New York, spring forward: a fixed time in the gap runs once, right after it; the next day as usual', () => {
    expect(ticks('30 2 * * *', 'America/New_York', '2025-03-08T12:00:00Z', 3)).toEqual(['2025-03-09T07:00:00.000Z', '2025-03-10T06:30:00.000Z', '2025-03-11T06:30:00.000Z']);
    // Two fixed times in the gap meet at its end: one run, not two.
    expect(ticks('0,30 2 * * *', 'America/New_York', '2025-03-09T05:00:00Z', 2)).toEqual(['2025-03-09T07:00:00.000Z', '2025-03-10T06:00:00.000Z']);
  });

  it('New York, fall back: a fixed time in the repeated hour runs once, at its first occurrence', () => {
    expect(ticks('30 1 * * *', 'America/New_York', '2025-11-01T12:00:00Z', 2)).toEqual(['2025-11-02T05:30:00.000Z', '2025-11-03T06:30:00.000Z']);
    // Asked from inside the second 01:xx (a process started then): the tick that ran is not run again.
    expect(ticks('30 1 * * *', 'America/New_York', '2025-11-02T06:10:00Z', 1)).toEqual(['2025-11-03T06:30:00.000Z']);
  });

  it('New York: a job with * in its hour field runs every hour that exists', () => {
    // Spring: 01:30 EST, then 03:30 EDT: no 02:30 and no catch-up.
    expect(ticks('30 * * * *', 'America/New_York', '2025-03-09T05:00:00Z', 3)).toEqual(['2025-03-09T05:30:00.000Z', '2025-03-09T06:30:00.000Z', '2025-03-09T07:30:00.000Z']);
    // Fall: 01:30 EDT and 01:30 EST are two hours that exist.
    expect(ticks('30 * * * *', 'America/New_York', '2025-11-02T04:00:00Z', 4)).toEqual([
      '2025-11-02T04:30:00.000Z',
      '2025-11-02T05:30:00.000Z',
      '2025-11-02T06:30:00.000Z',
      '2025-11-02T07:30:00.000Z',
    ]);
  });

  // Europe/Berlin 2025: 02:00 CET -> 03:00 CEST on 30 March (01:00Z); 03:00 CEST -> 02:00 CET on 26 October (01:00Z).
  it('Berlin, both boundaries', () => {
    expect(ticks('15 2 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z', 2)).toEqual(['2025-03-30T01:00:00.000Z', '2025-03-31T00:15:00.000Z']);
    expect(ticks('15 2 * * *', 'Europe/Berlin', '2025-10-25T12:00:00Z', 2)).toEqual(['2025-10-26T00:15:00.000Z', '2025-10-27T01:15:00.000Z']);
    expect(ticks('*/30 2 * * *', 'Europe/Berlin', '2025-10-25T23:00:00Z', 5)).toEqual([
      '2025-10-26T00:00:00.000Z',
      '2025-10-26T00:30:00.000Z',
      '2025-10-26T01:00:00.000Z',
      '2025-10-26T01:30:00.000Z',
      '2025-10-27T01:00:00.000Z',
    ]);
    // Spring: the step job has no time in the gap, so nothing that day.
    expect(ticks('*/30 2 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z', 1)).toEqual(['2025-03-31T00:00:00.000Z']);
  });

  it('reads day names, month names and nicknames; day-of-month and day-of-week are ORed as in Vixie cron', () => {
    expect(ticks('0 9 * * MON-FRI', 'UTC', '2025-01-03T10:00:00Z', 2)).toEqual(['2025-01-06T09:00:00.000Z', '2025-01-07T09:00:00.000Z']);
    expect(ticks('@daily', 'Europe/Berlin', '2025-01-01T12:00:00Z', 1)).toEqual(['2025-01-01T23:00:00.000Z']);
    expect(ticks('0 0 13 * FRI', 'UTC', '2025-06-01T00:00:00Z', 2)).toEqual(['2025-06-06T00:00:00.000Z', '2025-06-13T00:00:00.000Z']);
  });

  it('lists the ticks at or before a time, latest first, the same ones as forwards', () => {
    const cron = cronSchedule('30 * * * *', 'America/New_York');
    expect(cron.previous(new Date('2025-11-02T06:30:00Z'), 3).map((d) => d.toISOString())).toEqual(['2025-11-02T06:30:00.000Z', '2025-11-02T05:30:00.000Z', '2025-11-02T04:30:00.000Z']);
    const fixed = cronSchedule('30 1 * * *', 'America/New_York');
    expect(fixed.previous(new Date('2025-11-03T12:00:00Z'), 2).map((d) => d.toISOString())).toEqual(['2025-11-03T06:30:00.000Z', '2025-11-02T05:30:00.000Z']);
  });
});

describe('cron and timezone refusals name the field with the reason', () => {
  it.each([
    ['* * * * * *', /cron: .*5 parts/],
    ['* * * *', /cron: .*five/],
    ['@reboot', /cron: @reboot is not supported/],
    ['61 * * * *', /cron: Invalid value for minute: 61/],
    ['0 0 L * *', /cron: `L`\/`W` in day-of-month is not standard/],
    ['0 0 * * MON#1', /cron: `L`, `#` or `\+` in day-of-week is not standard/],
    ['0 0 ? * *', /cron: `\?` is not standard/],
    ['2025-01-01T00:00:00', /cron: /],
    ['0 0 30 2 *', /cron: matches no date/],
    ['   ', /cron: is empty/],
    ['x'.repeat(300), /cron: at most 200 characters/],
  ])('%s', (expression, message) => {
    const { message: text, path } = refusal(() => cronSchedule(expression, 'UTC'));
    expect(text).toMatch(message);
    expect(path).toBe('cron');
  });

  it('refuses unknown timezones and offsets, and spells known ones canonically', () => {
    expect(refusal(() => checkTimezone('Mars/Olympus_Mons'))).toEqual({ message: expect.stringMatching(/^timezone: "Mars\/Olympus_Mons" is not a known IANA time zone/), path: 'timezone' });
    expect(refusal(() => checkTimezone('+01:00')).path).toBe('timezone');
    expect(refusal(() => checkTimezone('')).path).toBe('timezone');
    expect(checkTimezone('utc')).toBe('UTC');
    expect(checkTimezone('europe/berlin')).toBe('Europe/Berlin');
  });
});
