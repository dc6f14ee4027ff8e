import { hashPassword, verifyPassword } from '@strata/auth';
import { createDatabase, type Db, memberships, newId, users, workspaces } from '@strata/db';
import { type AgentDeps, builtInRegistry } from '@strata/agents';
import { createStrategy, type StrategyInput } from '@strata/engine';
import { eq, sql } from 'drizzle-orm';

export const DEMO_EMAIL = 'demo@strata.local';

const DEMO_ITEMS: StrategyInput['items'] = [
  { key: 'research-market', description: 'Research the market', agentType: 'research', priority: 'high', input: { urls: ['https://example.com/'], keywords: ['domain'] }, l1: 'Grow the audience', l2: 'Newsletter', l3: 'Discovery' },
  { key: 'analyse-findings', description: 'Analyse the findings', agentType: 'analysis', dependsOn: ['research-market'], input: { path: 'sources', fields: ['status'] }, l1: 'Grow the audience', l2: 'Newsletter', l3: 'Discovery' },
  { key: 'write-announcement', description: 'Write the launch announcement', agentType: 'content', priority: 'high', dependsOn: ['research-market'], input: { prompt: 'Announce the launch of our newsletter' }, l1: 'Grow the audience', l2: 'Newsletter', l3: 'Launch' },
  { key: 'schedule-kickoff', description: 'Schedule the kickoff call', agentType: 'scheduling', priority: 'low', input: { title: 'Newsletter kickoff', start: '2030-01-15T15:00:00Z', durationMinutes: 30, attendees: [{ email: 'team@example.com' }] }, l1: 'Grow the audience', l2: 'Newsletter', l3: 'Launch' },
  { key: 'email-subscribers', description: 'Email the first subscribers', agentType: 'email', dependsOn: ['write-announcement'], input: { to: ['subscribers@example.com'], subject: 'We are live', template: '{{deps.write-announcement.text}}' }, l1: 'Grow the audience', l2: 'Newsletter', l3: 'Launch' },
  { key: 'wrap-up', description: 'Wrap up the launch', agentType: 'coordination', priority: 'low', dependsOn: ['analyse-findings', 'email-subscribers', 'schedule-kickoff'], input: { waitSeconds: 5 }, l1: 'Grow the audience', l2: 'Newsletter', l3: 'Launch' },
];

async function findDemoUser(db: Db): Promise<{ id: string; passwordHash: string | null } | undefined> {
  const [demo] = await db
    .select({ id: users.id, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(sql`lower(${users.email})`, DEMO_EMAIL));
  return demo;
}

/**
 * A demo account, workspace and strategy, so a new user has something to run at once.
 * Idempotent: nothing happens when the demo user already exists.
 */
export async function seedDemo(databaseUrl: string, password: string, config: AgentDeps['config']): Promise<{ created: boolean }> {
  const database = createDatabase(databaseUrl, { max: 1, applicationName: 'strata-seed' });
  try {
    if (await findDemoUser(database.db)) return { created: false };
    const passwordHash = await hashPassword(password);
    const userId = newId('usr');
    const workspaceId = newId('ws');
    const created = await database.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(users)
        .values({ id: userId, email: DEMO_EMAIL, name: 'Demo user', passwordHash })
        .onConflictDoNothing()
        .returning({ id: users.id });
      if (inserted.length === 0) return false; // another process seeded it first
      await tx.insert(workspaces).values({ id: workspaceId, name: 'Demo workspace' });
      await tx.insert(memberships).values({ workspaceId, userId, role: 'owner' });
      return true;
    });
    if (!created) return { created: false };
    const agents = builtInRegistry({ config, db: database.db });
    await createStrategy(
      database.db,
      { workspaceId, name: 'Launch a newsletter', description: 'A small strategy that uses all six agent types.', items: DEMO_ITEMS },
      { createdBy: userId, checkInput: agents.checkInput.bind(agents) },
    );
    return { created: true };
  } finally {
    await database.close();
  }
}

/** True when the demo account exists and still has `password` (an earlier run's default). */
export async function demoHasPassword(databaseUrl: string, password: string): Promise<boolean> {
  const database = createDatabase(databaseUrl, { max: 1, applicationName: 'strata-seed' });
  try {
    const demo = await findDemoUser(database.db);
    return demo?.passwordHash ? await verifyPassword(demo.passwordHash, password) : false;
  } finally {
    await database.close();
  }
}
