import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentRegistry, type DependencyResult, NonRetryableError } from '@strata/engine';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contentAgent, contentInputSchema, firstSentences, generateFromTemplate, TEMPLATE_NOTE } from './content.ts';
import type { AgentDeps } from './types.ts';
import { agentConfig, agentContext, expectLinearTime } from './testing.ts';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TOKENS = ['# Launch', ' plan', '\n\n', 'We', ' ship', ' the', ' beta', ' on', ' Monday', '.', ' Revenue', ' grew', ' 12%', ' last', ' quarter', '.'];

const chunk = (content: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;

/** Plays an OpenAI-compatible streaming chat completions endpoint. */
const streaming: Handler = async (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': keep-alive\n\n');
  res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] })}\n\n`);
  for (const [i, token] of TOKENS.entries()) {
    const frame = chunk(token);
    if (i === 3) {
      // A frame split across writes, and CRLF line ends, must still parse.
      res.write(frame.slice(0, 9));
      await sleep(5);
      res.write(frame.slice(9).replace(/\n/g, '\r\n'));
    } else {
      res.write(frame);
    }
    await sleep(25);
  }
  res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 42, completion_tokens: TOKENS.length, total_tokens: 42 + TOKENS.length } })}\n\n`);
  res.end('data: [DONE]\n\n');
};

let server: Server;
let baseUrl: string;
let handler: Handler = streaming;
const requests: Recorded[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => {
      raw += part;
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {} });
      Promise.resolve(handler(req, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests.length = 0;
  handler = streaming;
});

const config = agentConfig;

const llmAgent = (overrides: Partial<AgentDeps['config']> = {}) =>
  contentAgent({ config: config({ LLM_BASE_URL: baseUrl, LLM_MODEL: 'test-model', LLM_API_KEY: 'sk-test', ...overrides }), db: undefined as never });
const templateAgent = () => contentAgent({ config: config(), db: undefined as never });

const research: DependencyResult = {
  taskId: 'task_r',
  key: 'research',
  agentType: 'research',
  result: {
    pages: [
      {
        url: 'https://example.com/launch',
        title: 'Beta launch checklist',
        description: 'Everything a team needs before a public beta. Start with the basics.',
        wordCount: 1520,
      },
      { url: 'https://example.org/market', title: 'Market report Q3', text: 'Revenue grew 12% last quarter. Churn fell to 3.1%. More in the appendix.' },
    ],
  },
};
const analysis: DependencyResult = {
  taskId: 'task_a',
  key: 'stats',
  agentType: 'analysis',
  result: { rows: 240, mean: 17.25, groups: [{ name: 'EMEA', total: 1200 }] },
};

const context = (input: Record<string, unknown>, dependencies: DependencyResult[] = [research, analysis], signal = new AbortController().signal) =>
  agentContext({ input, dependencies, signal, task: { id: 'task_c', executionId: 'exec_c', workspaceId: 'ws_c', key: 'write', agentType: 'content', description: 'Write the post' } });

const failure = (promise: unknown) => Promise.resolve(promise).then(
  () => {
    throw new Error('expected the run to fail');
  },
  (error: unknown) => error as Error,
);

describe('content agent with an OpenAI-compatible LLM', () => {
  it('reports a long generation by its tail, so every progress report stays far under the 64 KiB cap', async () => {
    handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 100; i++) res.write(chunk(`${String(i).padStart(3, '0')}${'x'.repeat(997)}`));
      res.end('data: [DONE]\n\n');
    };
    const { ctx, progress } = context({ prompt: 'Write a very long post' });
    const result = (await llmAgent().run(ctx)) as { text: string };
    expect(result.text).toHaveLength(100_000);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ step: 'generated', chars: 100_000, truncated: true });
    expect(result.text.endsWith(last.text as string)).toBe(true);
    for (const p of progress) expect(JSON.stringify(p).length).toBeLessThan(20_000);
  });

  it('streams the completion, reporting tokens as progress', async () => {
    const { ctx, progress } = context({ prompt: 'Write a launch post for the beta', kind: 'post', maxTokens: 300, temperature: 0.3 });
    const result = await llmAgent().run(ctx);
    const text = TOKENS.join('');
    expect(result).toEqual({
      provider: 'llm',
      model: 'test-model',
      kind: 'post',
      text,
      usage: { prompt_tokens: 42, completion_tokens: TOKENS.length, total_tokens: 42 + TOKENS.length },
      finishReason: 'stop',
    });

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe('Bearer sk-test');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toMatchObject({ model: 'test-model', stream: true, max_tokens: 300, temperature: 0.3 });
    const messages = request?.body.messages as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[0]?.content).toMatch(/post/);
    expect(messages[1]?.content).toMatch(/^Write a launch post for the beta/);
    expect(messages[1]?.content).toContain('### research (research)');
    expect(messages[1]?.content).toContain('Beta launch checklist');
    expect(messages[1]?.content).toContain('### stats (analysis)');

    // Tokens arrive as progress, batched, growing, ending with the whole text.
    const streamed = progress.filter((p) => typeof p.tokens === 'number' && (p.tokens as number) > 0);
    expect(streamed.length).toBeGreaterThanOrEqual(2);
    expect(streamed.length).toBeLessThan(TOKENS.length);
    const counts = streamed.map((p) => p.tokens as number);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    for (const p of streamed) expect(text.startsWith(p.text as string)).toBe(true);
    expect(streamed.at(-1)).toMatchObject({ tokens: TOKENS.length, text });
    expect(streamed.some((p) => (p.tokens as number) < TOKENS.length)).toBe(true);
  });

  it('sends no Authorization header without a key, and accepts a trailing slash on the base URL', async () => {
    const { ctx } = context({ prompt: 'An outline', kind: 'outline' }, []);
    const result = await llmAgent({ LLM_API_KEY: undefined, LLM_BASE_URL: `${baseUrl}/` }).run(ctx);
    expect(result).toMatchObject({ provider: 'llm', kind: 'outline' });
    expect(requests[0]?.url).toBe('/v1/chat/completions');
    expect(requests[0]?.headers.authorization).toBeUndefined();
    expect(requests[0]?.body).not.toHaveProperty('max_tokens');
    expect((requests[0]!.body.messages as { content: string }[])[1]?.content).toBe('An outline');
  });

  it('takes a non-streamed JSON answer too', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'One shot.' }, finish_reason: 'stop' }], usage: { total_tokens: 5 } }));
    };
    const { ctx } = context({ prompt: 'Brief me', kind: 'brief' });
    expect(await llmAgent().run(ctx)).toEqual({ provider: 'llm', model: 'test-model', kind: 'brief', text: 'One shot.', usage: { total_tokens: 5 }, finishReason: 'stop' });
  });

  it('fails retryably on a 500', async () => {
    handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'model is loading' } }));
    };
    const error = await failure(llmAgent().run(context({ prompt: 'x' }).ctx));
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.message).toBe('LLM request failed with HTTP 500: model is loading');
  });

  it('fails without retry on a 400', async () => {
    handler = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'model "test-model" not found', type: 'invalid_request_error' } }));
    };
    const error = await failure(llmAgent().run(context({ prompt: 'x' }).ctx));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toBe('LLM request failed with HTTP 400: model "test-model" not found');
  });

  it('fails retryably when the server cannot be reached or the stream breaks off', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await failure(llmAgent({ LLM_BASE_URL: `http://127.0.0.1:${port}/v1` }).run(context({ prompt: 'x' }).ctx));
    expect(unreachable).not.toBeInstanceOf(NonRetryableError);
    expect(unreachable.message).toMatch(/^LLM request to .* failed/);
    // It says what to do, and carries a code a program can act on.
    expect(unreachable.message).toContain('unset it to use the built-in template generator');
    expect(unreachable).toMatchObject({ code: 'llm_unavailable' });

    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('partial'));
      setTimeout(() => res.destroy(), 20);
    };
    const broken = await failure(llmAgent().run(context({ prompt: 'x' }).ctx));
    expect(broken).not.toBeInstanceOf(NonRetryableError);
    expect(broken.message).toMatch(/stream (broke off|ended before \[DONE\])/);
  });

  it('stops when the task is aborted', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('slow'));
      // …and never finishes.
    };
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('Timed out after 1 s')), 150);
    const error = await failure(llmAgent().run(context({ prompt: 'x' }, [], controller.signal).ctx));
    expect(error.message).toBe('Timed out after 1 s');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('content agent without an LLM: the built-in template generator', () => {
  it('is used unless both LLM_BASE_URL and LLM_MODEL are set, and says what it is', async () => {
    const onlyUrl = contentAgent({ config: config({ LLM_BASE_URL: baseUrl }), db: undefined as never });
    const { ctx, progress } = context({ prompt: 'Write a launch post for the beta' });
    const result = (await onlyUrl.run(ctx)) as Record<string, unknown>;
    expect(requests).toHaveLength(0);
    expect(result).toMatchObject({ provider: 'template', kind: 'post', note: "Generated by Strata's built-in template generator (no LLM configured)" });
    expect(result.note).toBe(TEMPLATE_NOTE);
    expect(result.text).toContain("Generated by Strata's built-in template generator (no LLM configured)");
    expect(result.text).toMatch(/not written by a language model/);
    expect(progress).toContainEqual({ step: 'generating', provider: 'template' });
  });

  it('is deterministic and uses the dependency results', async () => {
    const input = { prompt: 'Write a launch post for the beta. Keep it short.' };
    const first = (await templateAgent().run(context(input).ctx)) as { text: string };
    const second = (await templateAgent().run(context(input).ctx)) as { text: string };
    expect(second.text).toBe(first.text);
    const text = first.text;
    expect(text.startsWith('# Launch post for the beta\n')).toBe(true);
    expect(text).toContain('research (research), stats (analysis)');
    expect(text).toContain('**Beta launch checklist** — Everything a team needs before a public beta. Start with the basics. (https://example.com/launch)');
    expect(text).toContain('**Market report Q3** — Revenue grew 12% last quarter. Churn fell to 3.1%. More in the appendix.');
    expect(text).toContain('## By the numbers');
    expect(text).toContain('research › pages › wordCount: 1,520');
    expect(text).toContain('stats › rows: 240');
    expect(text).toContain('stats › mean: 17.25');
    expect(text).toContain('stats › groups › EMEA › total: 1,200');
    expect(text).not.toContain('**EMEA**');
    expect(text).toContain('- https://example.org/market');
  });

  it('writes a brief and an outline', async () => {
    const brief = generateFromTemplate(contentInputSchema.parse({ prompt: 'Prepare the go/no-go decision', kind: 'brief' }), [research, analysis]);
    expect(brief).toMatch(/^# Brief: Go\/no-go decision\n/);
    expect(brief).toContain('**Objective:** Prepare the go/no-go decision');
    expect(brief).toContain('## Key findings');
    expect(brief).toContain('## Key figures');
    expect(brief).toContain('## Recommended next steps');
    expect(brief).toContain('Beta launch checklist');

    const outline = generateFromTemplate(contentInputSchema.parse({ prompt: 'Plan the launch webinar', kind: 'outline' }), [research]);
    expect(outline).toMatch(/^# Outline: Plan the launch webinar\n\n1\. Introduction\n/);
    expect(outline).toContain('2. Beta launch checklist\n   - Everything a team needs before a public beta. Start with the basics.\n   - Source: https://example.com/launch');
    expect(outline).toContain('3. Market report Q3');
    expect(outline).toMatch(/5\. Conclusion/);

    const alone = generateFromTemplate(contentInputSchema.parse({ prompt: 'Something', kind: 'outline' }), []);
    expect(alone).toContain('No earlier task results were available');
    expect(alone).toContain(TEMPLATE_NOTE);
  });
});

describe('content agent input', () => {
  it.each([
    [{}, /prompt: is required/],
    [{ prompt: '   ' }, /prompt: must not be empty/],
    [{ prompt: 'x', kind: 'poem' }, /kind: must be one of post, brief, outline/],
    [{ prompt: 'x', maxTokens: 0 }, /maxTokens: must be at least 1/],
    [{ prompt: 'x', temperature: 3 }, /temperature: must be between 0 and 2/],
  ])('refuses %j without retry', async (input, message) => {
    const error = await failure(llmAgent().run(context(input).ctx));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toMatch(/^Invalid content input: /);
    expect(error.message).toMatch(message);
    expect(requests).toHaveLength(0);
  });

  it('is the schema the registry checks at strategy creation', () => {
    const registry = new AgentRegistry().register('content', templateAgent());
    expect(registry.checkInput('content', { prompt: 'x', kind: 'essay' })).toBe('kind: must be one of post, brief, outline');
    expect(registry.checkInput('content', { prompt: 'x' })).toBeUndefined();
  });
});

describe('firstSentences', () => {
  it('keeps whole sentences up to the limit', () => {
    expect(firstSentences('One is here. Two is 3.5 long! Three? Four.', 30)).toBe('One is here. Two is 3.5 long!');
  });

  it('runs in linear time on text without a sentence end', () => {
    expectLinearTime((size) => 'a'.repeat(size), (text) => firstSentences(text, 280));
    expectLinearTime((size) => 'a.b'.repeat(size / 3), (text) => firstSentences(text, 280));
  });
});
