import { randomFillSync } from 'node:crypto';
import { generateRandomString, type RandomReader } from '@oslojs/crypto/random';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const random: RandomReader = { read: (bytes) => void randomFillSync(bytes) };

/**
 * A random lowercase alphanumeric string; 16 characters carry ~82 bits. Every character is
 * equally likely (rejection sampling: a byte modulo 36 would favour the first 4).
 */
export function randomId(length = 16): string {
  return generateRandomString(random, ALPHABET, length);
}

export type IdPrefix = 'ws' | 'strat' | 'l4' | 'item' | 'task' | 'usr' | 'tok' | 'inv' | 'sched' | 'whk' | 'whd';

/** Prefixed ids as DESIGN.md gives them: `ws_…`, `strat_…`, `l4_…`, `task_…`, `usr_…`, `tok_…`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomId()}`;
}

/** An execution id in the seed's shape: `exec_<epoch ms>_<random>`. */
export function newExecutionId(now = Date.now()): string {
  return `exec_${now}_${randomId(8)}`;
}
