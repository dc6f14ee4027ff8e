import { describe, expect, it } from 'vitest';
import { describeTiming, messageFor, schedulePlaceOf, zonedToInstant } from './schedules.ts';

describe('schedule form helpers', () => {
  it('puts each refusal beside its field', () => {
    expect(schedulePlaceOf('cron')).toEqual({ at: 'cron' });
    expect(schedulePlaceOf('timezone')).toEqual({ at: 'timezone' });
    expect(schedulePlaceOf('input.audience')).toEqual({ at: 'input', key: 'audience' });
    expect(schedulePlaceOf('input.to[1]')).toEqual({ at: 'input', key: 'to[1]' });
    expect(schedulePlaceOf('input')).toEqual({ at: 'input', key: '' });
    expect(schedulePlaceOf(null)).toEqual({ at: 'form' });
    expect(schedulePlaceOf('workspaceId')).toEqual({ at: 'form' });
    expect(messageFor('cron', 'cron: Invalid value for hour: 25')).toBe('Invalid value for hour: 25');
  });

  it('reads a wall-clock time in a time zone, across DST', () => {
    expect(zonedToInstant('2026-12-05T09:00', 'Europe/Berlin')?.toISOString()).toBe('2026-12-05T08:00:00.000Z');
    expect(zonedToInstant('2026-07-05T09:00', 'Europe/Berlin')?.toISOString()).toBe('2026-07-05T07:00:00.000Z');
    expect(zonedToInstant('2025-11-02T12:30', 'America/New_York')?.toISOString()).toBe('2025-11-02T17:30:00.000Z');
    expect(zonedToInstant('2026-12-05T09:00', 'UTC')?.toISOString()).toBe('2026-12-05T09:00:00.000Z');
    expect(zonedToInstant('tomorrow', 'UTC')).toBeNull();
    expect(zonedToInstant('2026-12-05T09:00', 'Nowhere/Special')).toBeNull();
  });

  it('describes a schedule’s timing', () => {
    expect(describeTiming({ cron: '0 9 * * 1-5', runAt: null, timezone: 'UTC' })).toBe('0 9 * * 1-5');
    expect(describeTiming({ cron: null, runAt: '2026-12-05T08:00:00Z', timezone: 'Europe/Berlin' })).toBe('once, 5 Dec 2026, 09:00');
  });
});
