import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random lowercase alphanumeric string; 16 characters carry ~82 bits. */
export function randomId(length = 16): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i] ?? 0) % ALPHABET.length];
  return out;
}

export type IdPrefix = 'ws' | 'strat' | 'l4' | 'item' | 'task' | 'usr' | 'tok' | 'inv' | 'sched';

/** Prefixed ids as DESIGN.md gives them: `ws_…`, `strat_…`, `l4_…`, `task_…`, `usr_…`, `tok_…`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomId()}`;
}

/** An execution id in the seed's shape: `exec_<epoch ms>_<random>`. */
export function newExecutionId(now = Date.now()): string {
  return `exec_${now}_${randomId(8)}`;
}
