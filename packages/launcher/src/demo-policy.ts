import { passwordProblem } from '@strata/auth';
import type { Config } from '@strata/config';
import { DEMO_EMAIL } from './demo.ts';

export const DEFAULT_DEMO_PASSWORD = 'strata-demo';

/** True when `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

export type DemoPlan =
  | { create: true; password: string; announcement: string }
  | { create: false; reason: string | null }
  /** STRATA_DEMO_PASSWORD fails the password policy: start-up stops, saying why. */
  | { create: false; refused: string };

/**
 * Whether `pnpm start` creates the demo owner account, and what it says about it. A
 * well-known password is only safe where nobody else can reach the app: on loopback. Listening
 * anywhere else, the demo account needs a password of the operator's choosing.
 */
export function planDemo(config: Pick<Config, 'HOST' | 'STRATA_DEMO' | 'STRATA_DEMO_PASSWORD'>): DemoPlan {
  if (!config.STRATA_DEMO) return { create: false, reason: null };
  if (config.STRATA_DEMO_PASSWORD) {
    // The demo owner gets the same password policy as every account.
    const problem = passwordProblem(config.STRATA_DEMO_PASSWORD);
    if (problem) return { create: false, refused: `STRATA_DEMO_PASSWORD is refused: ${problem}` };
    return { create: true, password: config.STRATA_DEMO_PASSWORD, announcement: `demo workspace created: log in as ${DEMO_EMAIL} with the password set in STRATA_DEMO_PASSWORD` };
  }
  if (isLoopbackHost(config.HOST)) {
    return {
      create: true,
      password: DEFAULT_DEMO_PASSWORD,
      announcement: `demo workspace created: log in as ${DEMO_EMAIL} / ${DEFAULT_DEMO_PASSWORD} (reachable from this machine only: HOST is ${config.HOST})`,
    };
  }
  return {
    create: false,
    reason:
      `no demo account created: HOST=${config.HOST} is reachable from the network, and the demo account's default password is public. ` +
      'Set STRATA_DEMO_PASSWORD to create it with a password of your own, or STRATA_DEMO=false to silence this message.',
  };
}
