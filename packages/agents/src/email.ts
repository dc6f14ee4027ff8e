import { AGENT_ERROR_CODES, ActionableError } from './errors.ts';
import { emailOutbox, randomId } from '@strata/db';
import { type AgentContext, NonRetryableError } from '@strata/engine';
import { createTransport } from 'nodemailer';
import { z } from 'zod';
import { dependencyScope, escapeHtml, fillTemplate, htmlToText, parseInput, placeholderValue, TemplateError } from './template.ts';
import type { AgentDeps, BuiltInAgent } from './types.ts';

const MAX_RECIPIENTS = 50;
/** RFC 5322's line limit; also keeps a subject filled from dependency results from growing hop by hop. */
const MAX_SUBJECT_CHARS = 998;

const emailAddress = z.email({ error: 'must be a valid email address' }).max(254);
/** `{{input.<path>}}` alone: a recipient the execution's input gives (an address or a list), checked when the task runs. */
const INPUT_RECIPIENT = /^\{\{\s*input(?:\.[\w:-]+)+\s*\}\}$/;
const address = z
  .string()
  .trim()
  .refine((value) => INPUT_RECIPIENT.test(value) || emailAddress.safeParse(value).success, { error: 'must be a valid email address (or {{input.<path>}})' });
const required = (what: string) => (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`);

const addresses = z
  .union([address, z.array(address)], { error: required('an email address or a list of email addresses') })
  .transform((value) => (Array.isArray(value) ? value : [value]))
  .pipe(z.array(z.string()).min(1, 'needs at least one address').max(MAX_RECIPIENTS, `may hold at most ${MAX_RECIPIENTS} addresses`));

/**
 * `{ to, cc?, subject, body | template, variables?, html? }`.
 * `to` and `cc` take one address or a list; an entry may be `{{input.<path>}}`, filled from the
 * execution's input when the task runs (an address or a list of them). `body` is sent as written; a `template` has
 * `{{name}}` / `{{deps.<key>.<path>}}` placeholders (see template.ts), filled in the subject
 * too, from `variables`, the rest of the input, and the dependencies' results. With
 * `html: true` the body or template is HTML (inserted values are escaped) and a plain-text
 * alternative is derived from it.
 */
export const emailInputSchema = z
  .object({
    to: addresses,
    cc: addresses.optional(),
    subject: z.string({ error: required('a string') }).trim().min(1, 'must not be empty').max(MAX_SUBJECT_CHARS, `may be at most ${MAX_SUBJECT_CHARS} characters`),
    body: z.string({ error: required('a string') }).min(1, 'must not be empty').max(1_000_000).optional(),
    template: z.string({ error: required('a string') }).min(1, 'must not be empty').max(1_000_000).optional(),
    variables: z.record(z.string(), z.unknown(), { error: 'must be an object of name: value' }).optional(),
    html: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.body === undefined && value.template === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required (or give a template)', path: ['body'] });
    } else if (value.body !== undefined && value.template !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'cannot be given together with a body', path: ['template'] });
    }
  });

export type EmailInput = z.output<typeof emailInputSchema>;

export type EmailResult =
  | { delivered: 'smtp'; messageId: string; accepted: string[]; rejected: string[]; to: string[]; subject: string }
  | { delivered: 'outbox'; outboxId: string; to: string[]; subject: string };

export interface ComposedEmail {
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  html: string | undefined;
}

/** Builds the message: fills the template (if any) and derives the text and HTML parts. */
export function composeEmail(input: EmailInput, context: Pick<AgentContext, 'task' | 'dependencies'> & Partial<Pick<AgentContext, 'execution'>>, from: string): ComposedEmail {
  let subject = input.subject;
  let content = input.body ?? '';
  const parameters = context.execution?.input ?? {};
  if (input.template !== undefined) {
    const scope = { variables: [input.variables ?? {}, context.task.input ?? {}], deps: dependencyScope(context.dependencies), input: parameters };
    try {
      subject = fillTemplate(input.subject, scope);
      content = fillTemplate(input.template, scope, input.html ? { escape: escapeHtml } : {});
    } catch (error) {
      if (error instanceof TemplateError) throw new NonRetryableError(`Email template: ${error.message}`, { cause: error });
      throw error;
    }
  }
  subject = oneLineHeader(subject);
  if (subject === '') throw new NonRetryableError('Invalid email input: subject is empty after filling the template');
  if (subject.length > MAX_SUBJECT_CHARS) {
    throw new NonRetryableError(`Invalid email input: subject is ${subject.length} characters after filling the template (at most ${MAX_SUBJECT_CHARS})`);
  }
  return {
    from,
    to: recipients(input.to, parameters, 'to'),
    cc: recipients(input.cc ?? [], parameters, 'cc'),
    subject,
    text: input.html ? htmlToText(content) : content,
    html: input.html ? content : undefined,
  };
}

/** The recipients with each `{{input.<path>}}` filled from the execution's input, every one checked as an address. */
function recipients(entries: readonly string[], parameters: Record<string, unknown>, field: 'to' | 'cc'): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    if (!INPUT_RECIPIENT.test(entry)) {
      out.push(entry);
      continue;
    }
    let value: unknown;
    try {
      value = placeholderValue(entry, { variables: [], deps: {}, input: parameters });
    } catch (error) {
      throw new NonRetryableError(`Invalid email input: ${field}: ${(error as Error).message}`, { cause: error });
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      const parsed = emailAddress.safeParse(typeof item === 'string' ? item.trim() : item);
      if (!parsed.success) {
        const given = typeof item === 'string' ? JSON.stringify(item) : item === null ? 'null' : Array.isArray(item) ? 'a list' : typeof item === 'object' ? 'an object' : `a ${typeof item}`;
        throw new NonRetryableError(`Invalid email input: ${field}: ${entry.trim()} gave ${given}, which is not a valid email address`);
      }
      out.push(parsed.data);
    }
  }
  if (out.length > MAX_RECIPIENTS) throw new NonRetryableError(`Invalid email input: ${field} holds ${out.length} addresses after filling (at most ${MAX_RECIPIENTS})`);
  return out;
}

/**
 * A header never spans lines, whatever a filled value held: each line break, with the
 * whitespace around it, becomes one space. Split and trim, linear in the length (the regular
 * expression `\s*[\r\n]+\s*` backtracked quadratically on long runs of spaces).
 */
export function oneLineHeader(text: string): string {
  return text
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
}

/** Delivers through SMTP; any refusal (connection, auth, a 4xx/5xx reply) is a retryable failure. */
async function sendSmtp(smtpUrl: string, mail: ComposedEmail, signal: AbortSignal): Promise<EmailResult> {
  const transport = createTransport(smtpUrl);
  const onAbort = () => transport.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      ...(mail.cc.length ? { cc: mail.cc } : {}),
      subject: mail.subject,
      text: mail.text,
      ...(mail.html !== undefined ? { html: mail.html } : {}),
    });
    return {
      delivered: 'smtp',
      messageId: info.messageId,
      accepted: info.accepted.map(addressText),
      rejected: info.rejected.map(addressText),
      to: mail.to,
      subject: mail.subject,
    };
  } catch (error) {
    signal.throwIfAborted();
    const detail = error instanceof Error ? error.message : String(error);
    const code = (error as { responseCode?: unknown }).responseCode;
    throw new ActionableError(
      AGENT_ERROR_CODES.smtpUnavailable,
      `SMTP delivery failed${typeof code === 'number' ? ` (${code})` : ''}: ${detail}. Check SMTP_URL (host, port, credentials), or unset it to keep mails in the workspace outbox.`,
      { cause: error },
    );
  } finally {
    signal.removeEventListener('abort', onAbort);
    transport.close();
  }
}

function addressText(value: string | { address: string }): string {
  return typeof value === 'string' ? value : value.address;
}

/**
 * The email agent: composes a message and sends it through SMTP when `SMTP_URL` is set, or
 * stores it in the `email_outbox` table otherwise, so nothing is ever silently dropped.
 */
export const emailAgent: BuiltInAgent = (deps: AgentDeps) => ({
  inputSchema: emailInputSchema,
  description: 'Sends an email through SMTP when SMTP_URL is set, or keeps it in the workspace outbox.',
  example: { to: 'team@example.com', subject: 'Launch update', template: 'Hello {{name}}, the launch is on track.', variables: { name: 'team' } },
  async run(ctx) {
    const input = parseInput(emailInputSchema, ctx.task.input, 'email');
    const mail = composeEmail(input, ctx, deps.config.SMTP_FROM);
    const via = deps.config.SMTP_URL ? 'smtp' : 'outbox';
    await ctx.progress({ step: 'sending', via, to: mail.to, subject: mail.subject });
    ctx.signal.throwIfAborted();
    if (deps.config.SMTP_URL) return sendSmtp(deps.config.SMTP_URL, mail, ctx.signal);
    const outboxId = `mail_${randomId()}`;
    await deps.db.insert(emailOutbox).values({
      id: outboxId,
      executionId: ctx.task.executionId,
      taskId: ctx.task.id,
      from: mail.from,
      to: mail.to,
      cc: mail.cc,
      subject: mail.subject,
      text: mail.text,
      html: mail.html ?? null,
    });
    return { delivered: 'outbox', outboxId, to: mail.to, subject: mail.subject } satisfies EmailResult;
  },
});
