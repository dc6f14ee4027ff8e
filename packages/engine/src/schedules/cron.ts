import { Cron, CronPattern } from 'croner';
import { validationError } from '../errors.ts';

/**
 * When a schedule's ticks fall: croner reads the five-field expression and walks the calendar in
 * the schedule's IANA timezone. Its DST handling is Vixie cron's, which is what cron users expect
 * (croner's README, "DST handling"):
 * - a fixed-time job (no `*` and no step in its minute and hour fields, e.g. `30 2 * * *` or
 *   `0 9,17 * * 1-5`) whose time falls in a spring-forward gap runs once, right after the gap;
 *   one whose time occurs twice in a fall-back runs once, at the first occurrence;
 * - any other job (a `*` or a step in its minute or hour field, e.g. `30 * * * *`) runs at every
 *   time that exists: none in a gap, both occurrences of a repeated time.
 * Nothing here parses cron: every refusal carries croner's own reason.
 */

const OPTIONS = { mode: '5-part', fixedTimeRule: 'no-wildcard', domAndDow: false } as const;

/** The longest a cron expression may be (a five-field line is short; this only bounds hostile input). */
export const CRON_MAX_LENGTH = 200;

/**
 * croner's extensions beyond the standard five fields: `L`, `W`, `#`, `+` and `?` (last day,
 * nearest weekday, nth weekday, AND of the day fields, wildcard alias). They are refused so a
 * schedule means the same in every cron.
 */
function extensionIn(fields: readonly string[]): string | undefined {
  const [, , dayOfMonth = '', , dayOfWeek = ''] = fields;
  if (fields.some((field) => field.includes('?'))) return '`?`';
  if (/[lw]/i.test(dayOfMonth)) return '`L`/`W` in day-of-month';
  // Day names (MON…SUN) hold no L, #, or +.
  if (/[l#+]/i.test(dayOfWeek)) return '`L`, `#` or `+` in day-of-week';
  return undefined;
}

/** An IANA timezone name as given (`Europe/Berlin`), checked by the runtime's time zone database; its canonical spelling. */
export function checkTimezone(timezone: string): string {
  // An offset (`+01:00`) is a valid Intl time zone but no IANA name: DST needs the name.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(timezone)) throw validationError(`timezone: "${timezone.slice(0, 64)}" is not an IANA time zone name (such as Europe/Berlin or UTC)`, { path: 'timezone' });
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    throw validationError(`timezone: "${timezone}" is not a known IANA time zone (such as Europe/Berlin or UTC)`, { path: 'timezone' });
  }
}

/** A checked five-field cron expression in a timezone: its ticks, forwards and backwards. */
export interface CronSchedule {
  /** The first tick strictly after `after`, or null when the expression matches no later date. */
  next(after: Date): Date | null;
  /** Up to `count` ticks at or before `atOrBefore`, latest first. */
  previous(atOrBefore: Date, count: number): Date[];
}

/**
 * Checks `expression` (five fields, standard syntax, or one of the nicknames `@hourly`,
 * `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`) in `timezone` (already
 * checked), throwing a VALIDATION error naming `cron` with croner's reason.
 */
export function cronSchedule(expression: string, timezone: string): CronSchedule {
  const refuse = (reason: string) => validationError(`cron: ${reason}`, { path: 'cron' });
  const text = expression.trim();
  if (text.length === 0) throw refuse('is empty');
  if (text.length > CRON_MAX_LENGTH) throw refuse(`at most ${CRON_MAX_LENGTH} characters`);
  if (!text.startsWith('@')) {
    const extension = extensionIn(text.split(/\s+/));
    if (extension) throw refuse(`${extension} is not standard five-field cron syntax`);
  }
  try {
    // The pattern alone first: `new Cron` would take a string with a colon for a one-off date.
    new CronPattern(text, timezone, OPTIONS);
  } catch (error) {
    throw refuse((error as Error).message.replace(/^CronPattern: /, ''));
  }
  const cron = new Cron(text, { ...OPTIONS, timezone, paused: true });
  if (!cron.nextRun(new Date())) throw refuse('matches no date from now on (such as 30 February)');
  return {
    next: (after) => cron.nextRun(after),
    previous: (atOrBefore, count) =>
      // croner's previous runs are strictly before their start, in whole seconds: start a second later and drop what is later.
      cron.previousRuns(count + 1, new Date(atOrBefore.getTime() + 1000)).filter((tick) => tick.getTime() <= atOrBefore.getTime()).slice(0, count),
  };
}
