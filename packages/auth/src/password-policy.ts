import { dictionary } from '@zxcvbn-ts/language-common';
import { z } from 'zod';

export const PASSWORD_MIN_LENGTH = 8;
/** Caps the work one request can make argon2 do. */
export const PASSWORD_MAX_LENGTH = 256;
/** How many of the most common passwords are refused. */
export const COMMON_PASSWORD_COUNT = 10_000;

/**
 * zxcvbn-ts's `passwords-common` dictionary is ordered by how often each password appears in
 * leaked password sets, so its head is "the N most common passwords". Built on first use, so a
 * process that never checks a password (the worker) never holds the set.
 */
let commonPasswords: Set<string> | undefined;

export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(dictionary['passwords-common'].slice(0, COMMON_PASSWORD_COUNT).map((p) => p.toLowerCase()));
  return commonPasswords.has(password.toLowerCase());
}

/**
 * A password a new account (or a password change) may choose: 8–256 characters, not blank, not
 * one of the 10,000 most common (compared case-insensitively: `Password1` is as guessable as
 * `password1`). Logging in checks none of this, so older passwords keep working.
 */
export const newPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, { error: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
  .max(PASSWORD_MAX_LENGTH, { error: `must be at most ${PASSWORD_MAX_LENGTH} characters` })
  .refine((password) => password.trim() !== '', { error: 'must not be blank' })
  .refine((password) => !isCommonPassword(password), { error: 'this password is too common' });

/** Why a password would be refused (`must not be blank`), or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  const parsed = newPasswordSchema.safeParse(password);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'is not acceptable');
}
