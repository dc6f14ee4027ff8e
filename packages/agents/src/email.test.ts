import type { AddressInfo } from 'node:net';
import { emailOutbox, executions, strategies, workspaces } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { AgentRegistry, type DependencyResult, NonRetryableError } from '@strata/engine';
import { eq } from 'drizzle-orm';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { composeEmail, emailAgent, emailInputSchema, oneLineHeader } from './email.ts';
import type { AgentDeps } from './types.ts';
import { agentContext, expectLinearTime } from './testing.ts';

interface Received {
  from: string;
  rcptTo: string[];
  mail: ParsedMail;
}

/** A real SMTP server on a free port: it records what it receives and refuses `bounce@…` recipients. */
async function startSmtp(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('bounce@')) {
        callback(Object.assign(new Error('No such user here'), { responseCode: 550 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            mail,
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const addressesOf = (field: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) => a.value.map((v) => v.address));

let database: TestDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let executionId: string;

function config(overrides: Partial<AgentDeps['config']> = {}): AgentDeps['config'] {
  return {
    SMTP_URL: undefined,
    SMTP_FROM: 'Strata Test <strata@test.local>',
    LLM_BASE_URL: undefined,
    LLM_MODEL: undefined,
    LLM_API_KEY: undefined,
    AGENT_FETCH_ALLOW_HOSTS: [],
    ...overrides,
  };
}

const context = (input: Record<string, unknown>, dependencies: DependencyResult[] = [], executionInput: Record<string, unknown> = {}) =>
  agentContext({
    input,
    dependencies,
    executionInput,
    task: { id: 'task_email1', executionId, workspaceId: 'ws_email', key: 'notify', agentType: 'email', description: 'Send the report' },
  });

const smtpAgent = () => emailAgent({ config: config({ SMTP_URL: smtp.url }), db: database.db });
const outboxAgent = () => emailAgent({ config: config(), db: database.db });

const research: DependencyResult = {
  taskId: 'task_r',
  key: 'research',
  agentType: 'research',
  result: { pages: [{ url: 'https://example.com/a', title: 'Quarterly <growth> report', description: 'Revenue grew 12%.' }], count: 3 },
};
const analysis: DependencyResult = {
  taskId: 'task_a',
  key: 'stats.q3',
  agentType: 'analysis',
  result: { table: [{ field: 'revenue', mean: 1234.5 }] },
};

beforeAll(async () => {
  database = await createTestDatabase();
  smtp = await startSmtp();
  await database.db.insert(workspaces).values({ id: 'ws_email', name: 'Email tests' });
  await database.db.insert(strategies).values({ id: 'strat_email', workspaceId: 'ws_email', name: 'Email strategy' });
  executionId = 'exec_email_1';
  await database.db.insert(executions).values({ id: executionId, workspaceId: 'ws_email', strategyId: 'strat_email' });
});

afterAll(async () => {
  await smtp?.close();
  await database?.drop();
});

beforeEach(() => {
  smtp.received.length = 0;
});

describe('email agent over SMTP', () => {
  it('delivers a message with the right headers and body', async () => {
    const { ctx, progress } = context({
      to: ['ann@example.com', 'bob@example.org'],
      cc: 'carol@example.net',
      subject: 'Weekly update',
      body: 'Hello team,\n\nAll tasks are on track.\n',
    });
    const result = (await smtpAgent().run(ctx)) as Record<string, unknown>;
    expect(result).toMatchObject({
      delivered: 'smtp',
      accepted: ['ann@example.com', 'bob@example.org', 'carol@example.net'],
      rejected: [],
      to: ['ann@example.com', 'bob@example.org'],
      subject: 'Weekly update',
    });
    expect(result.messageId).toMatch(/^<.+@.+>$/);
    expect(progress).toContainEqual(expect.objectContaining({ step: 'sending', via: 'smtp' }));

    expect(smtp.received).toHaveLength(1);
    const [got] = smtp.received;
    expect(got?.from).toBe('strata@test.local');
    expect(got?.rcptTo).toEqual(['ann@example.com', 'bob@example.org', 'carol@example.net']);
    const mail = got!.mail;
    expect(mail.from?.value).toEqual([{ address: 'strata@test.local', name: 'Strata Test' }]);
    expect(addressesOf(mail.to)).toEqual(['ann@example.com', 'bob@example.org']);
    expect(addressesOf(mail.cc)).toEqual(['carol@example.net']);
    expect(mail.subject).toBe('Weekly update');
    expect(mail.messageId).toBe(result.messageId);
    expect(mail.text?.trim()).toBe('Hello team,\n\nAll tasks are on track.');
    expect(mail.html).toBe(false);
  });

  it('fills a template from variables, input and dependency results, with an HTML part', async () => {
    const { ctx } = context(
      {
        to: 'ann@example.com',
        subject: 'Report: {{ deps.research.pages.0.title }}',
        template:
          '<p>Hi {{name}},</p><p>{{deps.research.pages.0.title}}: {{deps.research.pages.0.description}}</p>' +
          '<p>Sources: {{deps.research.count}}, mean revenue {{deps.stats.q3.table.0.mean}}, by {{team}}.</p>',
        variables: { name: 'Ann & co' },
        team: 'Growth',
        html: true,
      },
      [research, analysis],
    );
    const result = (await smtpAgent().run(ctx)) as Record<string, unknown>;
    expect(result).toMatchObject({ delivered: 'smtp', subject: 'Report: Quarterly <growth> report' });
    const mail = smtp.received[0]!.mail;
    expect(mail.subject).toBe('Report: Quarterly <growth> report');
    expect(mail.html).toBe(
      '<p>Hi Ann &amp; co,</p><p>Quarterly &lt;growth&gt; report: Revenue grew 12%.</p><p>Sources: 3, mean revenue 1234.5, by Growth.</p>',
    );
    expect(mail.text?.trim()).toBe('Hi Ann & co,\n\nQuarterly <growth> report: Revenue grew 12%.\n\nSources: 3, mean revenue 1234.5, by Growth.');
  });

  it('fails the attempt, retryably, when the server refuses the recipient', async () => {
    const { ctx } = context({ to: 'bounce@example.com', subject: 'Hello', body: 'Nobody home' });
    const error = await Promise.resolve(smtpAgent().run(ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toMatch(/SMTP delivery failed/);
    expect((error as Error).message).toMatch(/550|No such user/);
    expect((error as Error).message).toContain('Check SMTP_URL');
    expect(error).toMatchObject({ code: 'smtp_unavailable' });
    expect(smtp.received).toHaveLength(0);
  });

  it('reports a partial refusal in the result', async () => {
    const { ctx } = context({ to: ['ann@example.com', 'bounce@example.com'], subject: 'Hello', body: 'Partly home' });
    const result = await smtpAgent().run(ctx);
    expect(result).toMatchObject({ delivered: 'smtp', accepted: ['ann@example.com'], rejected: ['bounce@example.com'] });
    expect(smtp.received[0]?.rcptTo).toEqual(['ann@example.com']);
  });

  it('fails retryably when the SMTP server cannot be reached', async () => {
    const closed = await startSmtp();
    await closed.close();
    const agent = emailAgent({ config: config({ SMTP_URL: closed.url }), db: database.db });
    const { ctx } = context({ to: 'ann@example.com', subject: 'Hello', body: 'x' });
    const error = await Promise.resolve(agent.run(ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toMatch(/SMTP delivery failed/);
  });
});

describe('email agent without SMTP: the outbox', () => {
  it('stores the message in email_outbox', async () => {
    const { ctx, progress } = context(
      { to: ['ann@example.com'], cc: ['bob@example.org'], subject: 'Found {{deps.research.count}} pages', template: 'Top: {{deps.research.pages.0.title}}' },
      [research],
    );
    const result = (await outboxAgent().run(ctx)) as Record<string, unknown>;
    expect(result).toEqual({ delivered: 'outbox', outboxId: expect.stringMatching(/^mail_[a-z0-9]{16}$/), to: ['ann@example.com'], subject: 'Found 3 pages' });
    expect(progress).toContainEqual(expect.objectContaining({ step: 'sending', via: 'outbox' }));
    const rows = await database.db.select().from(emailOutbox).where(eq(emailOutbox.id, result.outboxId as string));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      executionId,
      taskId: 'task_email1',
      from: 'Strata Test <strata@test.local>',
      to: ['ann@example.com'],
      cc: ['bob@example.org'],
      subject: 'Found 3 pages',
      text: 'Top: Quarterly <growth> report',
      html: null,
    });
    expect(rows[0]?.createdAt).toBeInstanceOf(Date);
    expect(smtp.received).toHaveLength(0);
  });

  it('keeps the HTML part and removes the rows with their execution', async () => {
    await database.db.insert(executions).values({ id: 'exec_email_2', workspaceId: 'ws_email', strategyId: 'strat_email' });
    const { ctx } = context({ to: 'ann@example.com', subject: 'Hi', body: '<h1>Title</h1><p>Line <a href="https://x.test/">link</a></p>', html: true });
    ctx.task.executionId = 'exec_email_2';
    const result = (await outboxAgent().run(ctx)) as { outboxId: string };
    const [row] = await database.db.select().from(emailOutbox).where(eq(emailOutbox.id, result.outboxId));
    expect(row?.html).toBe('<h1>Title</h1><p>Line <a href="https://x.test/">link</a></p>');
    expect(row?.text).toBe('Title\n\nLine link (https://x.test/)');
    await database.db.delete(executions).where(eq(executions.id, 'exec_email_2'));
    expect(await database.db.select().from(emailOutbox).where(eq(emailOutbox.executionId, 'exec_email_2'))).toEqual([]);
  });
});

describe('email agent input', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['an invalid address', { to: 'not-an-address', subject: 's', body: 'b' }, /to: must be a valid email address \(or \{\{input\.<path>\}\}\)/],
    ['an invalid cc in a list', { to: 'a@example.com', cc: ['b@example.com', 'nope@'], subject: 's', body: 'b' }, /cc\.1: must be a valid email address/],
    ['no recipients', { to: [], subject: 's', body: 'b' }, /to: needs at least one address/],
    ['no subject', { to: 'a@example.com', body: 'b' }, /subject: is required/],
    ['a subject of spaces', { to: 'a@example.com', subject: '  ', body: 'b' }, /subject: must not be empty/],
    ['a non-boolean html', { to: 'a@example.com', subject: 's', body: 'b', html: 'yes' }, /html: must be true or false/],
    ['neither body nor template', { to: 'a@example.com', subject: 's' }, /body: is required \(or give a template\)/],
    ['both body and template', { to: 'a@example.com', subject: 's', body: 'b', template: 't' }, /template: cannot be given together with a body/],
  ];
  it.each(bad)('refuses %s without retry', async (_name, input, message) => {
    const { ctx } = context(input);
    const error = await Promise.resolve(outboxAgent().run(ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toMatch(/^Invalid email input: /);
    expect((error as Error).message).toMatch(message);
  });

  it('is the schema the registry checks at strategy creation', () => {
    const registry = new AgentRegistry().register('email', outboxAgent());
    expect(registry.checkInput('email', { to: 'x', subject: 's', body: 'b' })).toBe('to: must be a valid email address (or {{input.<path>}})');
    expect(registry.checkInput('email', { to: 'a@example.com', subject: 's', template: 'Hi {{name}}' })).toBeUndefined();
    expect(emailInputSchema.parse({ to: ' a@example.com ', subject: 's', body: 'b' }).to).toEqual(['a@example.com']);
  });

  it('refuses a template with unknown placeholders, naming them', async () => {
    const { ctx } = context(
      { to: 'a@example.com', subject: 'About {{topic}}', template: '{{deps.research.pages.0.title}} {{deps.research.missing}} {{deps.nope.x}}' },
      [research],
    );
    const error = await Promise.resolve(outboxAgent().run(ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toMatch(/Unknown template placeholder \{\{topic\}\}/);
    const bodyCtx = context({ to: 'a@example.com', subject: 'Fine', template: '{{deps.research.pages.0.title}} {{deps.research.missing}} {{deps.nope.x}}' }, [research]);
    const bodyError = await Promise.resolve(outboxAgent().run(bodyCtx.ctx)).catch((e: unknown) => e);
    expect(bodyError).toBeInstanceOf(NonRetryableError);
    expect((bodyError as Error).message).toBe(
      'Email template: Unknown template placeholders {{deps.research.missing}}, {{deps.nope.x}}: not found in variables, the item input, the execution input or dependency results (dependencies: research)',
    );
    const rows = await database.db.select().from(emailOutbox).where(eq(emailOutbox.subject, 'Fine'));
    expect(rows).toEqual([]);
  });

  it('sends a body as written, braces and all', async () => {
    const { ctx } = context({ to: 'a@example.com', subject: 'Literal {{x}}', body: 'Use {{name}} in templates.' });
    const result = (await outboxAgent().run(ctx)) as { outboxId: string; subject: string };
    expect(result.subject).toBe('Literal {{x}}');
    const [row] = await database.db.select().from(emailOutbox).where(eq(emailOutbox.id, result.outboxId));
    expect(row?.text).toBe('Use {{name}} in templates.');
  });
});

describe("the execution's input", () => {
  const parameters = { customer: { name: 'Ann', email: 'ann@example.com' }, team: ['a@example.com', 'b@example.com'], product: 'Rocket' };

  it('fills {{input.<path>}} in the subject and template, and a lone {{input.<path>}} in to and cc (an address or a list)', async () => {
    const { ctx } = context(
      { to: '{{input.customer.email}}', cc: ['{{ input.team }}', 'c@example.com'], subject: '{{input.product}} for {{input.customer.name}}', template: 'Hello {{input.customer.name}}, {{input.product}} ships.' },
      [],
      parameters,
    );
    const result = (await outboxAgent().run(ctx)) as { outboxId: string; to: string[]; subject: string };
    expect(result).toMatchObject({ to: ['ann@example.com'], subject: 'Rocket for Ann' });
    const [row] = await database.db.select().from(emailOutbox).where(eq(emailOutbox.id, result.outboxId));
    expect(row).toMatchObject({ to: ['ann@example.com'], cc: ['a@example.com', 'b@example.com', 'c@example.com'], text: 'Hello Ann, Rocket ships.' });
  });

  it('accepts {{input.<path>}} recipients at strategy creation, and nothing else that is not an address', () => {
    const registry = new AgentRegistry().register('email', outboxAgent());
    expect(registry.checkInput('email', { to: '{{input.customer.email}}', subject: 's', body: 'b' })).toBeUndefined();
    expect(registry.checkInput('email', { to: 'Dear {{input.customer.email}}', subject: 's', body: 'b' })).toBe('to: must be a valid email address (or {{input.<path>}})');
    expect(registry.checkInput('email', { to: '{{name}}', subject: 's', body: 'b' })).toBe('to: must be a valid email address (or {{input.<path>}})');
  });

  it.each([
    ['a missing input field', { to: '{{input.nobody}}', subject: 's', body: 'b' }, 'Invalid email input: to: Unknown template placeholder {{input.nobody}}: not found in variables, the item input, the execution input or dependency results'],
    ['a value that is not an address', { to: '{{input.product}}', subject: 's', body: 'b' }, 'Invalid email input: to: {{input.product}} gave "Rocket", which is not a valid email address'],
    ['a list holding a non-address', { to: 'a@example.com', cc: '{{input.customer}}', subject: 's', body: 'b' }, 'Invalid email input: cc: {{input.customer}} gave an object, which is not a valid email address'],
    ['an unknown input in the template', { to: 'a@example.com', subject: 's', template: '{{input.missing}}' }, 'Email template: Unknown template placeholder {{input.missing}}: not found in variables, the item input, the execution input or dependency results'],
  ])('fails without retry on %s, sending nothing', async (_, input, message) => {
    const before = (await database.db.select().from(emailOutbox)).length;
    const error = await Promise.resolve(outboxAgent().run(context(input, [], parameters).ctx)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toBe(message);
    expect((await database.db.select().from(emailOutbox)).length).toBe(before);
  });
});

describe('subject lines', () => {
  it('fold line breaks and the whitespace around them into one space', () => {
    expect(oneLineHeader(' Hello \r\n\n  world\u2028\nagain ')).toBe('Hello world again');
  });

  it('stay within 998 characters after filling, so a chain of emails quoting subjects cannot grow them hop by hop', () => {
    const input = emailInputSchema.parse({ to: 'a@example.com', subject: '{{deps.prev.subject}} {{deps.prev.subject}}', template: 'x' });
    const { ctx } = agentContext({ input: {}, dependencies: [{ taskId: 't', key: 'prev', agentType: 'email', result: { subject: 's'.repeat(600) } }] });
    expect(() => composeEmail(input, ctx, 'from@example.com')).toThrow(new NonRetryableError('Invalid email input: subject is 1201 characters after filling the template (at most 998)'));
  });

  it('fold in linear time', () => {
    expectLinearTime((size) => `${' '.repeat(size)}x`, oneLineHeader);
    expectLinearTime((size) => ' \n'.repeat(size / 2), oneLineHeader);
  });
});
