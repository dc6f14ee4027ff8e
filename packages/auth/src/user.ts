import { users } from '@strata/db';

/** What auth hands out about a user: never the password hash. */
export interface AuthUser {
  id: string;
  email: string;
  name: string | null;
}

export const authUserColumns = { id: users.id, email: users.email, name: users.name };
