/**
 * The research agent: fetches the URLs in its input over the SSRF-safe fetch (net/fetch.ts),
 * extracts each page's title, description and main text, and, given questions or keywords,
 * the sentences that bear on them.
 *
 * HTML to text uses htmlparser2's streaming tokenizer (the forgiving, widely used parser under
 * cheerio) through html.ts, which closes implied tags in linear time, with a small extraction
 * of our own on top: no DOM is built, scripts, styles, navigation, asides, page headers and footers and hidden
 * elements are dropped, block elements become line breaks, and `<article>` (else `<main>` or
 * `role=main`, else the body) is preferred as the main text.
 */
import { NonRetryableError } from '@strata/engine';
import { z } from 'zod';
import { parseHtml } from './html.ts';
import { allowListSet } from '@strata/net';
import { demoDocsAllowance } from './net/demo-docs.ts';
import { type FetchedResponse, type SafeFetchOptions, safeFetch } from './net/fetch.ts';
import type { BuiltInAgent } from './types.ts';

const MiB = 1024 * 1024;
export const RESEARCH_DEFAULTS = {
  timeoutMs: 10_000,
  maxBytes: 2 * MiB,
  maxChars: 20_000,
  maxRedirects: 5,
  concurrency: 3,
  maxHighlights: 20,
} as const;
const MAX_TITLE_CHARS = 500;
const MAX_DESCRIPTION_CHARS = 2000;

export const researchInputSchema = z.object({
  urls: z
    .array(z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }))
    .min(1, 'needs at least one URL')
    .max(20, 'takes at most 20 URLs'),
  questions: z.array(z.string().trim().min(1).max(500)).max(20).optional(),
  keywords: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
  /** Body bytes read per URL; reading stops beyond it. Default 2 MiB, at most 10 MiB. */
  maxBytes: z.number().int().min(1024).max(10 * MiB).optional(),
  /** Deadline per URL, redirects and body included. Default 10 s. */
  timeoutMs: z.number().int().min(50).max(60_000).optional(),
  /** Characters of main text kept per source. Default 20,000. */
  maxChars: z.number().int().min(100).max(200_000).optional(),
});
export type ResearchInput = z.infer<typeof researchInputSchema>;

export interface ResearchSource {
  url: string;
  finalUrl: string;
  status: number;
  contentType: string;
  title: string;
  description: string;
  text: string;
  /** True when the body passed maxBytes or the text passed maxChars. */
  truncated: boolean;
  highlights: string[];
  fetchedAt: string;
}

export interface ResearchResult {
  sources: ResearchSource[];
}

export const researchAgent: BuiltInAgent = (deps) => {
  const allowHosts = allowListSet(deps.config.AGENT_FETCH_ALLOW_HOSTS);
  const allowUrl = demoDocsAllowance(deps.config);
  return {
    inputSchema: researchInputSchema,
    description: 'Fetches web pages and extracts their title, main text, answers to questions and keyword hits.',
    example: { urls: ['https://example.com/'], questions: ['What is this page about?'], keywords: ['example'] },
    async run(ctx): Promise<ResearchResult> {
      const parsed = researchInputSchema.safeParse(ctx.task.input);
      if (!parsed.success) throw new NonRetryableError(`Invalid research input: ${z.prettifyError(parsed.error)}`);
      const input = parsed.data;
      const total = input.urls.length;
      // One failure fails the attempt, so stop the other fetches as soon as one fails.
      const stop = new AbortController();
      const signal = AbortSignal.any([ctx.signal, stop.signal]);
      const sources: ResearchSource[] = new Array(total);
      let done = 0;
      let firstError: unknown;
      let next = 0;
      const worker = async () => {
        while (firstError === undefined && next < total) {
          const index = next++;
          const url = input.urls[index] as string;
          try {
            const source = await fetchSource(url, input, { allowHosts, allowUrl }, signal);
            sources[index] = source;
            done++;
            await ctx.progress({ stage: 'fetched', url, finalUrl: source.finalUrl, status: source.status, title: source.title, done, total });
          } catch (error) {
            if (firstError === undefined) {
              firstError = error;
              stop.abort(error);
              await ctx.progress({ stage: 'failed', url, error: error instanceof Error ? error.message : String(error), done, total }).catch(() => {});
            }
          }
        }
      };
      await ctx.progress({ stage: 'fetching', done: 0, total });
      await Promise.all(Array.from({ length: Math.min(RESEARCH_DEFAULTS.concurrency, total) }, worker));
      if (firstError !== undefined) throw firstError;
      return { sources };
    },
  };
};

async function fetchSource(url: string, input: ResearchInput, allow: Pick<SafeFetchOptions, 'allowHosts' | 'allowUrl'>, signal: AbortSignal): Promise<ResearchSource> {
  const response = await safeFetch(url, {
    ...allow,
    timeoutMs: input.timeoutMs ?? RESEARCH_DEFAULTS.timeoutMs,
    maxBytes: input.maxBytes ?? RESEARCH_DEFAULTS.maxBytes,
    maxRedirects: RESEARCH_DEFAULTS.maxRedirects,
    signal,
  });
  checkStatus(response);
  const contentType = headerValue(response.headers['content-type']);
  const page = extractPage(response.body, contentType);
  const maxChars = input.maxChars ?? RESEARCH_DEFAULTS.maxChars;
  const text = capChars(page.text, maxChars);
  return {
    url,
    finalUrl: response.finalUrl,
    status: response.status,
    contentType: contentType.split(';')[0]?.trim().toLowerCase() ?? '',
    title: page.title,
    description: page.description,
    text,
    truncated: response.truncated || text.length < page.text.length,
    highlights: findHighlights(page.text, input.questions ?? [], input.keywords ?? []),
    fetchedAt: new Date().toISOString(),
  };
}

/** 5xx (and 408, 429: the server asks to come back later) are retried; any other non-2xx is not. */
function checkStatus(response: FetchedResponse): void {
  const { status, finalUrl } = response;
  if (status >= 200 && status < 300) return;
  if (status >= 500 || status === 408 || status === 429) throw new Error(`HTTP ${status} from ${finalUrl}`);
  if (status >= 400) throw new NonRetryableError(`HTTP ${status} from ${finalUrl}`);
  throw new NonRetryableError(`Unexpected HTTP ${status} from ${finalUrl}`);
}

const headerValue = (value: string | string[] | undefined): string => (Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));

// ---------------------------------------------------------------------------------------------
// Decoding and extraction

export interface ExtractedPage {
  title: string;
  description: string;
  text: string;
}

/** Decodes a body (charset from the Content-Type, else a `<meta charset>`, else UTF-8) and extracts it by type. */
export function extractPage(body: Buffer, contentType: string): ExtractedPage {
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const isHtml = mime === '' || mime === 'text/html' || mime === 'application/xhtml+xml';
  const charset = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType)?.[1] ?? (isHtml ? sniffMetaCharset(body) : undefined);
  const text = decode(body, charset);
  if (isHtml) return htmlToText(text);
  if (mime.startsWith('text/') || mime.endsWith('+json') || mime.endsWith('+xml') || mime === 'application/json' || mime === 'application/xml') {
    return { title: '', description: '', text: collapseLines(text) };
  }
  return { title: '', description: '', text: '' }; // binary (PDF, images, ...): nothing to read here
}

function sniffMetaCharset(body: Buffer): string | undefined {
  const head = body.subarray(0, 2048).toString('latin1');
  return /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1];
}

function decode(body: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body); // an unknown label
  }
}

/** Dropped with everything inside them. `header` is kept inside `<article>`/`<main>`, where it holds the headline. */
const DROP = new Set([
  'script', 'style', 'noscript', 'template', 'svg', 'math', 'canvas', 'iframe', 'object', 'embed',
  'nav', 'aside', 'footer', 'header', 'select', 'button', 'dialog', 'head', 'title',
]);
/** Elements that end a line of text. */
const BLOCK = new Set([
  'address', 'article', 'blockquote', 'br', 'caption', 'dd', 'details', 'div', 'dl', 'dt', 'fieldset', 'figcaption', 'figure',
  'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'li', 'main', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody',
  'tfoot', 'thead', 'tr', 'ul', 'body', 'html', 'center', 'legend', 'option',
]);
const CELL = new Set(['td', 'th']);

interface OpenElement {
  name: string;
  /** Starts a dropped subtree. */
  drops: boolean;
  /** Opened outside any dropped subtree, so its text and line breaks count. */
  live: boolean;
  article: boolean;
  main: boolean;
  h1: boolean;
  title: boolean;
}

/** HTML to title, description and main text (see the module comment). */
export function htmlToText(html: string): ExtractedPage {
  const stack: OpenElement[] = [];
  let dropDepth = 0;
  let articleDepth = 0;
  let mainDepth = 0;
  let inTitle = false;
  let inH1 = false;
  let preDepth = 0;
  let title: string | undefined;
  let h1: string | undefined;
  const meta: Record<string, string> = {};
  const body: string[] = [];
  const article: string[] = [];
  const main: string[] = [];
  const emit = (piece: string) => {
    body.push(piece);
    if (articleDepth > 0) article.push(piece);
    if (mainDepth > 0) main.push(piece);
  };

  /** Open elements by name: an end tag finds its element in O(1), however deep the nesting. */
  const openByName = new Map<string, number>();
  const close = (entry: OpenElement) => {
    openByName.set(entry.name, (openByName.get(entry.name) ?? 1) - 1);
    if (entry.title) inTitle = false;
    if (entry.drops) dropDepth--;
    if (!entry.live) return;
    if (BLOCK.has(entry.name)) emit('\n');
    else if (CELL.has(entry.name)) emit(' ');
    if (entry.h1) inH1 = false;
    if (entry.name === 'pre') preDepth--;
    if (entry.article) articleDepth--;
    if (entry.main) mainDepth--;
  };

  parseHtml(html, {
    onopentag(name, attrs) {
      if (name === 'meta') {
        const key = (attrs.property ?? attrs.name ?? '').trim().toLowerCase();
        if (key && attrs.content !== undefined && meta[key] === undefined) meta[key] = attrs.content;
      }
      const hidden =
        name !== 'html' &&
        name !== 'body' &&
        (attrs.hidden !== undefined || attrs['aria-hidden'] === 'true' || /display\s*:\s*none|visibility\s*:\s*hidden/i.test(attrs.style ?? ''));
      const pageChrome = name === 'header' ? articleDepth === 0 && mainDepth === 0 : DROP.has(name);
      const live = dropDepth === 0 && !pageChrome && !hidden;
      const entry: OpenElement = {
        name,
        drops: pageChrome || hidden,
        live,
        article: live && name === 'article',
        main: live && (name === 'main' || attrs.role === 'main'),
        h1: live && name === 'h1' && h1 === undefined,
        // The document's <title>, not an SVG's.
        title: name === 'title' && title === undefined && (openByName.get('svg') ?? 0) + (openByName.get('math') ?? 0) === 0,
      };
      stack.push(entry);
      openByName.set(name, (openByName.get(name) ?? 0) + 1);
      if (entry.drops) dropDepth++;
      if (entry.title) {
        inTitle = true;
        title = '';
      }
      if (!live) return;
      if (entry.article) articleDepth++;
      if (entry.main) mainDepth++;
      if (name === 'pre') preDepth++;
      if (entry.h1) {
        inH1 = true;
        h1 = '';
      }
      if (BLOCK.has(name)) emit('\n');
      else if (CELL.has(name)) emit(' ');
    },
    ontext(text) {
      if (inTitle) title += text;
      if (dropDepth > 0) return;
      if (inH1) h1 += text;
      // A line break in the source is only whitespace, except in <pre>.
      emit(preDepth > 0 ? text : text.replace(/\s+/g, ' '));
    },
    onclosetag(name) {
      // Close up to the matching element; a stray end tag closes nothing.
      if (!openByName.get(name)) return;
      for (let entry = stack.pop(); entry; entry = stack.pop()) {
        close(entry);
        if (entry.name === name) break;
      }
    },
  });
  for (let entry = stack.pop(); entry; entry = stack.pop()) close(entry);

  const articleText = collapseLines(article.join(''));
  const mainText = collapseLines(main.join(''));
  const text = articleText || mainText || collapseLines(body.join(''));
  const pick = (...values: (string | undefined)[]) => collapseSpaces(values.find((v) => v !== undefined && collapseSpaces(v) !== '') ?? '');
  return {
    // A page's title and description are short by nature; a hostile page's need not be.
    title: capChars(pick(meta['og:title'], title, meta['twitter:title'], h1), MAX_TITLE_CHARS),
    description: capChars(pick(meta.description, meta['og:description'], meta['twitter:description']), MAX_DESCRIPTION_CHARS),
    text,
  };
}

const collapseSpaces = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Collapses whitespace within lines and drops empty lines. */
function collapseLines(text: string): string {
  return text
    .split(/\r\n|[\n\r\u2028\u2029]/)
    .map(collapseSpaces)
    .filter((line) => line !== '')
    .join('\n');
}

function capChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // do not split a surrogate pair
  return text.slice(0, end);
}

// ---------------------------------------------------------------------------------------------
// Highlights

const STOPWORDS = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by can
  could did do does doing down during each few for from further had has have having he her here hers him his how i if in into is
  it its itself just me more most my no nor not now of off on once only or other our ours out over own same she should so some
  such than that the their theirs them then there these they this those through to too under until up very was we were what
  when where which while who whom why will with would you your yours many much tell give find list know explain describe`
    .split(/\s+/)
    .filter(Boolean),
);

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;
const stem = (word: string): string => {
  const w = word.toLowerCase().replace(/['’]s$/, '');
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
};
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The sentences of `text` that bear on the questions or keywords, in document order, at most 20.
 * A keyword matches as a whole word or phrase (case-insensitive). A question matches a sentence
 * that holds at least two of its content words (one, when it has only one), after dropping stop
 * words and a plural "s".
 */
export function findHighlights(text: string, questions: readonly string[], keywords: readonly string[]): string[] {
  if (!text || (questions.length === 0 && keywords.length === 0)) return [];
  const keywordPatterns = keywords
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(k).replace(/\s+/g, '\\s+')}(?![\\p{L}\\p{N}])`, 'iu'));
  const questionTerms = questions
    .map((q) => [...new Set((q.match(WORD) ?? []).map(stem).filter((w) => w.length >= 3 && !STOPWORDS.has(w)))])
    .filter((terms) => terms.length > 0);
  const out: string[] = [];
  const seen = new Set<string>();
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });
  for (const { segment } of segmenter.segment(text)) {
    const sentence = collapseSpaces(segment);
    if (sentence.length < 3 || seen.has(sentence)) continue;
    let hit = keywordPatterns.some((p) => p.test(sentence));
    if (!hit && questionTerms.length > 0) {
      const words = new Set((sentence.match(WORD) ?? []).map(stem));
      hit = questionTerms.some((terms) => terms.filter((t) => words.has(t)).length >= Math.min(2, terms.length));
    }
    if (!hit) continue;
    seen.add(sentence);
    out.push(sentence.length > 500 ? `${capChars(sentence, 497)}...` : sentence);
    if (out.length >= RESEARCH_DEFAULTS.maxHighlights) break;
  }
  return out;
}
