import { hashPassword, verifyPassword } from '@strata/auth';
import { createDatabase, type Db, memberships, newId, users, workspaces } from '@strata/db';
import { type AgentDeps, builtInRegistry, demoDocUrl } from '@strata/agents';
import type { Config } from '@strata/config';
import { createStrategy, type StrategyInput } from '@strata/engine';
import { eq, sql } from 'drizzle-orm';

export const DEMO_EMAIL = 'demo@strata.local';

type DemoStrategy = Pick<StrategyInput, 'name' | 'description' | 'items' | 'inputSchema'> & { onTaskFailure?: 'fail' | 'continue' };
type AppAddress = Pick<Config, 'HOST' | 'PORT'>;

/**
 * The demo's strategies. Between them they use all six agent types, and they complete on a
 * machine without internet: research reads the sample documents the app itself serves
 * (/demo/docs/, allowed for the research agent while the demo is on), content falls back to
 * the template generator without an LLM, and email goes to the workspace outbox without SMTP.
 */
export function demoStrategies(app: AppAddress): DemoStrategy[] {
  const doc = (name: string) => demoDocUrl(app, name);
  const newsletter = { l1: 'Grow the audience', l2: 'Newsletter' };
  const release = { l1: 'Ship version 2.4', l2: 'Launch communication' };
  return [
    {
      name: 'Launch a newsletter',
      description: 'Researches the audience, writes and mails the announcement, schedules a kickoff: all six agent types.',
      items: [
        { key: 'research-market', description: 'Research the market', agentType: 'research', priority: 'high', input: { urls: [doc('market-notes'), doc('reader-survey')], questions: ['What do readers want?'], keywords: ['weekly', 'digest'] }, ...newsletter, l3: 'Discovery' },
        { key: 'analyse-findings', description: 'Compare the sources', agentType: 'analysis', dependsOn: ['research-market'], input: { path: 'sources', fields: ['status'], groupBy: 'title' }, ...newsletter, l3: 'Discovery' },
        { key: 'write-announcement', description: 'Write the launch announcement', agentType: 'content', priority: 'high', dependsOn: ['research-market'], input: { prompt: 'Announce the launch of our weekly newsletter digest', kind: 'post' }, ...newsletter, l3: 'Launch' },
        { key: 'schedule-kickoff', description: 'Schedule the kickoff call', agentType: 'scheduling', priority: 'low', input: { title: 'Newsletter kickoff', start: '2030-01-15T15:00:00Z', durationMinutes: 30, attendees: [{ email: 'team@example.com' }] }, ...newsletter, l3: 'Launch' },
        { key: 'email-subscribers', description: 'Email the first subscribers', agentType: 'email', dependsOn: ['write-announcement'], input: { to: ['subscribers@example.com'], subject: 'We are live', template: '{{deps.write-announcement.text}}' }, ...newsletter, l3: 'Launch' },
        { key: 'wrap-up', description: 'Wrap up the launch', agentType: 'coordination', priority: 'low', dependsOn: ['analyse-findings', 'email-subscribers', 'schedule-kickoff'], input: { waitSeconds: 3, note: 'Give the team a moment before closing the launch' }, ...newsletter, l3: 'Launch' },
      ],
    },
    {
      name: 'Announce release 2.4',
      description: 'Reads the release notes, writes a customer brief, mails it and books the release review.',
      onTaskFailure: 'continue',
      items: [
        { key: 'read-release-notes', description: 'Read the release notes', agentType: 'research', priority: 'high', input: { urls: [doc('release-notes')], keywords: ['dashboards', 'exports', 'calendar'] }, ...release, l3: 'Prepare' },
        { key: 'size-the-release', description: 'Summarise the sources read', agentType: 'analysis', dependsOn: ['read-release-notes'], input: { path: 'sources', fields: ['status'] }, ...release, l3: 'Prepare' },
        { key: 'write-brief', description: 'Write the customer brief', agentType: 'content', dependsOn: ['read-release-notes'], input: { prompt: 'Brief customers on version 2.4, leading with shared dashboards', kind: 'brief' }, ...release, l3: 'Announce' },
        { key: 'mail-customers', description: 'Mail the brief to customers', agentType: 'email', dependsOn: ['write-brief'], input: { to: ['customers@example.com'], subject: 'Version 2.4 is out', template: '{{deps.write-brief.text}}' }, ...release, l3: 'Announce' },
        { key: 'book-review', description: 'Book the release review', agentType: 'scheduling', input: { title: 'Release 2.4 review', start: '2030-02-03T10:00:00Z', durationMinutes: 45, attendees: [{ email: 'product@example.com' }, { email: 'support@example.com' }] }, ...release, l3: 'Follow up' },
        { key: 'close-release', description: 'Close the release', agentType: 'coordination', dependsOn: ['size-the-release', 'mail-customers', 'book-review'], input: { note: 'Everything for 2.4 is out' }, ...release, l3: 'Follow up' },
      ],
    },
    {
      name: 'Plan the weekly digest',
      description: 'A short one with parameters: reads the reader survey, outlines an issue of the digest and mails the outline to its editor.',
      inputSchema: {
        type: 'object',
        properties: {
          editor: { type: 'string', format: 'email', title: 'Editor', description: 'Who receives the outline', default: 'editor@example.com' },
          issue: { type: 'integer', minimum: 1, title: 'Issue number', default: 1 },
        },
        required: ['editor'],
      },
      items: [
        { key: 'read-survey', description: 'Read the reader survey', agentType: 'research', input: { urls: [doc('reader-survey')], questions: ['Which topics do readers ask for?'] }, l1: 'Grow the audience', l2: 'Weekly digest', l3: 'Plan' },
        { key: 'outline-digest', description: 'Outline the digest', agentType: 'content', dependsOn: ['read-survey'], input: { prompt: 'Outline the weekly digest from the survey', kind: 'outline' }, l1: 'Grow the audience', l2: 'Weekly digest', l3: 'Plan' },
        { key: 'send-outline', description: 'Send the outline to the editor', agentType: 'email', dependsOn: ['outline-digest'], input: { to: '{{input.editor}}', subject: 'Digest #{{input.issue}}: the outline', template: '{{deps.outline-digest.text}}' }, l1: 'Grow the audience', l2: 'Weekly digest', l3: 'Review' },
      ],
    },
  ];
}

async function findDemoUser(db: Db): Promise<{ id: string; passwordHash: string | null } | undefined> {
  const [demo] = await db
    .select({ id: users.id, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(sql`lower(${users.email})`, DEMO_EMAIL));
  return demo;
}

/**
 * A demo account, workspace and strategies (demoStrategies), so a new user has something to run at once.
 * Idempotent: nothing happens when the demo user already exists.
 */
export async function seedDemo(databaseUrl: string, password: string, config: AgentDeps['config'] & AppAddress): Promise<{ created: boolean }> {
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
    for (const strategy of demoStrategies(config)) {
      await createStrategy(database.db, { workspaceId, ...strategy }, { createdBy: userId, checkInput: agents.checkInput.bind(agents) });
    }
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
