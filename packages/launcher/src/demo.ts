import { hashPassword } from '@strata/auth';
import { createDatabase, memberships, newId, strategies, strategyItems, users, workspaces } from '@strata/db';
import { eq, sql } from 'drizzle-orm';

export const DEMO_EMAIL = 'demo@strata.local';

interface DemoItem {
  key: string;
  title: string;
  agentType: 'email' | 'content' | 'research' | 'scheduling' | 'analysis' | 'coordination';
  priority: 'high' | 'medium' | 'low';
  dependsOn: string[];
  input: Record<string, unknown>;
  l3: string;
}

const DEMO_ITEMS: DemoItem[] = [
  { key: 'research-market', title: 'Research the market', agentType: 'research', priority: 'high', dependsOn: [], input: { urls: [] }, l3: 'Discovery' },
  { key: 'analyse-findings', title: 'Analyse the findings', agentType: 'analysis', priority: 'medium', dependsOn: ['research-market'], input: {}, l3: 'Discovery' },
  { key: 'write-announcement', title: 'Write the launch announcement', agentType: 'content', priority: 'high', dependsOn: ['research-market'], input: { prompt: 'Announce the launch of our newsletter' }, l3: 'Launch' },
  { key: 'schedule-kickoff', title: 'Schedule the kickoff call', agentType: 'scheduling', priority: 'low', dependsOn: [], input: { title: 'Newsletter kickoff', durationMinutes: 30 }, l3: 'Launch' },
  { key: 'email-subscribers', title: 'Email the first subscribers', agentType: 'email', priority: 'medium', dependsOn: ['write-announcement'], input: { to: ['subscribers@example.com'], subject: 'We are live' }, l3: 'Launch' },
  { key: 'wrap-up', title: 'Wrap up the launch', agentType: 'coordination', priority: 'low', dependsOn: ['analyse-findings', 'email-subscribers', 'schedule-kickoff'], input: {}, l3: 'Launch' },
];

/**
 * A demo account, workspace and strategy, so a new user has something to run at once.
 * Idempotent: nothing happens when the demo user already exists.
 */
export async function seedDemo(databaseUrl: string, password: string): Promise<{ created: boolean }> {
  const database = createDatabase(databaseUrl, { max: 1, applicationName: 'strata-seed' });
  try {
    const [existing] = await database.db
      .select({ id: users.id })
      .from(users)
      .where(eq(sql`lower(${users.email})`, DEMO_EMAIL));
    if (existing) return { created: false };
    const passwordHash = await hashPassword(password);
    await database.db.transaction(async (tx) => {
      const userId = newId('usr');
      const workspaceId = newId('ws');
      const strategyId = newId('strat');
      const inserted = await tx
        .insert(users)
        .values({ id: userId, email: DEMO_EMAIL, name: 'Demo user', passwordHash })
        .onConflictDoNothing()
        .returning({ id: users.id });
      if (inserted.length === 0) return; // another process seeded it first
      await tx.insert(workspaces).values({ id: workspaceId, name: 'Demo workspace' });
      await tx.insert(memberships).values({ workspaceId, userId, role: 'owner' });
      await tx.insert(strategies).values({
        id: strategyId,
        workspaceId,
        name: 'Launch a newsletter',
        description: 'A small strategy that uses all six agent types.',
        createdBy: userId,
      });
      const l1 = newId('item');
      const l2 = newId('item');
      const l3s = new Map<string, string>();
      const rows: (typeof strategyItems.$inferInsert)[] = [
        { id: l1, strategyId, level: 1, title: 'Grow the audience', position: 0 },
        { id: l2, strategyId, parentId: l1, level: 2, title: 'Newsletter', position: 0 },
      ];
      for (const item of DEMO_ITEMS) {
        if (!l3s.has(item.l3)) {
          const id = newId('item');
          l3s.set(item.l3, id);
          rows.push({ id, strategyId, parentId: l2, level: 3, title: item.l3, position: l3s.size - 1 });
        }
      }
      DEMO_ITEMS.forEach((item, position) => {
        rows.push({
          id: newId('l4'),
          strategyId,
          parentId: l3s.get(item.l3) ?? null,
          level: 4,
          key: item.key,
          title: item.title,
          agentType: item.agentType,
          priority: item.priority,
          dependsOn: item.dependsOn,
          input: item.input,
          maxRetries: 3,
          timeoutSeconds: 300,
          position,
        });
      });
      await tx.insert(strategyItems).values(rows);
    });
    return { created: true };
  } finally {
    await database.close();
  }
}
