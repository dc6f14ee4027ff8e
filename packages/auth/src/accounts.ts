import { type Db, newId, users } from '@strata/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { AuthError, isUniqueViolation } from './errors.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { type AuthUser, authUserColumns } from './user.ts';

export const PASSWORD_MIN_LENGTH = 8;
/** Caps the work one request can make argon2 do. */
export const PASSWORD_MAX_LENGTH = 200;

const emailSchema = z.string().trim().toLowerCase().pipe(z.email({ error: 'must be a valid email address' }).max(254));

const signUpSchema = z.object({
  email: emailSchema,
  password: z
    .string()
    .min(PASSWORD_MIN_LENGTH, { error: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
    .max(PASSWORD_MAX_LENGTH, { error: `must be at most ${PASSWORD_MAX_LENGTH} characters` }),
  name: z
    .string()
    .trim()
    .max(100)
    .nullish()
    .transform((name) => name || null),
});

const logInSchema = z.object({ email: z.string().trim().toLowerCase(), password: z.string() });

export interface SignUpInput {
  email: string;
  password: string;
  name?: string | null;
}

export interface LogInInput {
  email: string;
  password: string;
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

export async function logIn(db: Db, input: LogInInput): Promise<AuthUser> {
  const parsed = logInSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  const { email, password } = parsed.data;
  const invalid = new AuthError('UNAUTHORIZED', 'Invalid email or password');
  // No account can have such a password; refusing before argon2 keeps huge inputs cheap.
  if (password.length > PASSWORD_MAX_LENGTH) throw invalid;

  // lower(email) is what the unique index covers, so this lookup uses it.
  const [row] = await db
    .select({ ...authUserColumns, passwordHash: users.passwordHash })
    .from(users)
    .where(sql`lower(${users.email}) = ${email}`);
  if (!row) {
    dummyHash ??= hashPassword('strata-dummy-password');
    await verifyPassword(await dummyHash, password);
    throw invalid;
  }
  if (!(await verifyPassword(row.passwordHash, password))) throw invalid;
  return { id: row.id, email: row.email, name: row.name };
}
