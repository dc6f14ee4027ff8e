import { z } from 'zod';

/** An email as accounts and invitations store it: trimmed, lower-cased, valid, at most 254 characters. */
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email({ error: 'must be a valid email address' }).max(254));
