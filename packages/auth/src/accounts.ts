import { type Db, newId, sessions, users } from '@strata/db';
import { and, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { emailSchema } from './email.ts';
import { AuthError, isUniqueViolation } from './errors.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { newPasswordSchema, PASSWORD_MAX_LENGTH } from './password-policy.ts';
import { beginLoginAttempt, DEFAULT_LOGIN_THROTTLE, type LoginThrottleSettings } from './throttle.ts';
import { type AuthUser, authUserColumns } from './user.ts';

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy.ts';


const signUpSchema = z.object({
  email: emailSchema,
  password: newPasswordSchema,
  name: z
    .string()
    .trim()
    .max(100)
    .nullish()
    .transform((name) => name || null),
});

const logInSchema = z.object({ email: z.string().trim().toLowerCase(), password: z.string() });

const changePasswordSchema = z.object({ currentPassword: z.string(), newPassword: newPasswordSchema });

export interface SignUpInput {
  email: string;
  password: string;
  name?: string | null;
}

export interface LogInInput {
  email: string;
  password: string;
}

/** Who is trying, beyond what they typed: the login throttle counts per client address too. */
export interface AttemptOptions {
  clientAddress?: string | null;
  throttle?: LoginThrottleSettings;
}

export interface ChangePasswordInput {
  userId: string;
  currentPassword: string;
  newPassword: string;
  /** The session making the change survives it; every other session of the user ends. */
  keepSessionId?: string | null;
}

function validationError(error: z.ZodError): AuthError {
  const issue = error.issues[0];
  const field = issue?.path.join('.');
  return new AuthError('VALIDATION', issue ? (field ? `${field}: ${issue.message}` : issue.message) : 'Invalid input');
}

export async function signUp(db: Db, input: SignUpInput): Promise<AuthUser> {
  const parsed = signUpSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const { email, password, name } = parsed.data;
  const passwordHash = await hashPassword(password);
  try {
    const [user] = await db.insert(users).values({ id: newId('usr'), email, name, passwordHash }).returning(authUserColumns);
    return user!;
  } catch (error) {
    // The unique index on lower(email) is the arbiter, so two sign-ups racing still yield one account.
    if (isUniqueViolation(error, 'users_email_unique')) throw new AuthError('CONFLICT', 'An account with this email already exists');
    throw error;
  }
}

/** Verified against when the email is unknown, so both failures cost one argon2 verify. */
let dummyHash: Promise<string> | undefined;

/**
 * Checks a password under the login throttle: refused (RATE_LIMITED) before argon2 runs when
 * the account or the client has failed too often, counted as a failure when wrong. The hash is
 * null for an unknown email, which fails the same way, at the same cost.
 */
async function verifyThrottled(db: Db, email: string, passwordHash: string | null, password: string, options: AttemptOptions): Promise<boolean> {
  const attempt = await beginLoginAttempt(db, { email, clientAddress: options.clientAddress }, options.throttle ?? DEFAULT_LOGIN_THROTTLE);
  let ok = false;
  // No account can have such a password; refusing before argon2 keeps huge inputs cheap.
  if (password.length <= PASSWORD_MAX_LENGTH) {
    if (passwordHash) ok = await verifyPassword(passwordHash, password);
    else {
      dummyHash ??= hashPassword('strata-dummy-password');
      await verifyPassword(await dummyHash, password);
    }
  }
  await (ok ? attempt.succeeded() : attempt.failed());
  return ok;
}

export async function logIn(db: Db, input: LogInInput, options: AttemptOptions = {}): Promise<AuthUser> {
  const parsed = logInSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const { email, password } = parsed.data;

  // lower(email) is what the unique index covers, so this lookup uses it.
  const [row] = await db
    .select({ ...authUserColumns, passwordHash: users.passwordHash })
    .from(users)
    .where(sql`lower(${users.email}) = ${email}`);
  if (!(await verifyThrottled(db, email, row?.passwordHash ?? null, password, options)) || !row) {
    throw new AuthError('UNAUTHORIZED', 'Invalid email or password');
  }
  return { id: row.id, email: row.email, name: row.name };
}

/**
 * Changes a password after proving the current one. A wrong current password is FORBIDDEN and
 * counts as a failed login of the account (so a stolen session cannot guess it freely); the new
 * one must pass the password policy. Every other session of the user ends with the change.
 */
export async function changePassword(db: Db, input: ChangePasswordInput, options: AttemptOptions = {}): Promise<void> {
  const parsed = changePasswordSchema.safeParse({ currentPassword: input.currentPassword, newPassword: input.newPassword });
  if (!parsed.success) throw validationError(parsed.error);
  const { currentPassword, newPassword } = parsed.data;
  const [row] = await db.select({ email: users.email, passwordHash: users.passwordHash }).from(users).where(eq(users.id, input.userId));
  if (!row) throw new AuthError('UNAUTHORIZED', 'Unauthorized');
  if (!(await verifyThrottled(db, row.email, row.passwordHash, currentPassword, options))) {
    throw new AuthError('FORBIDDEN', 'Current password is incorrect');
  }
  const passwordHash = await hashPassword(newPassword);
  await db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash }).where(eq(users.id, input.userId));
    await tx
      .delete(sessions)
      .where(and(eq(sessions.userId, input.userId), input.keepSessionId ? ne(sessions.id, input.keepSessionId) : undefined));
  });
}
