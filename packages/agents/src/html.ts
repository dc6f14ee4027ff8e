/**
 * A streaming HTML event parser in linear time, for the agents that turn HTML into text.
 *
 * It runs htmlparser2's tokenizer (a state machine: linear, and it keeps script and style
 * content as raw text) and rebuilds the element events of htmlparser2's `Parser`: lower-case
 * names, void elements, the implied closes (`<p>` closes an open `<p>`, `<li>` an `<li>`, ...),
 * an end tag closing everything opened after its element, a stray end tag ignored, `</p>` and
 * `</br>` as the browsers read them, decoded entities. `Parser` itself keeps its open elements
 * with `unshift` and looks end tags up with `indexOf`, so deeply nested input (`<p><li>` over
 * and over) costs it time quadratic in the depth; here the stack is pushed and popped at its
 * end and open elements are counted by name, so every event costs O(1) amortised.
 */
import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

export interface HtmlHandler {
  onopentag?(name: string, attrs: Record<string, string>): void;
  ontext?(text: string): void;
  /** `implied`: closed by another tag or the end of the input, not by its own end tag. */
  onclosetag?(name: string, implied: boolean): void;
}

const FORM = new Set(['input', 'option', 'optgroup', 'select', 'button', 'datalist', 'textarea']);
const P = new Set(['p']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p']);
const TABLE_SECTIONS = new Set(['thead', 'tbody']);
const DD_DT = new Set(['dd', 'dt']);
const RT_RP = new Set(['rt', 'rp']);
/** Opening the key closes open elements of these names at the top of the stack (htmlparser2's table). */
const OPEN_IMPLIES_CLOSE = new Map<string, ReadonlySet<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['body', new Set(['head', 'link', 'script'])],
  ['a', new Set(['a'])],
  ['li', new Set(['li'])],
  ['p', P],
  ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => [h, HEADINGS] as const),
  ...['select', 'input', 'output', 'button', 'datalist', 'textarea'].map((f) => [f, FORM] as const),
  ['option', new Set(['option'])],
  ['optgroup', new Set(['optgroup', 'option'])],
  ['dd', DD_DT],
  ['dt', DD_DT],
  ...[
    'address', 'article', 'aside', 'blockquote', 'details', 'div', 'dl', 'fieldset', 'figcaption', 'figure', 'footer',
    'form', 'header', 'hr', 'main', 'nav', 'ol', 'pre', 'section', 'table', 'ul',
  ].map((b) => [b, P] as const),
  ['rt', RT_RP],
  ['rp', RT_RP],
  ['tbody', TABLE_SECTIONS],
  ['tfoot', TABLE_SECTIONS],
]);
const VOID = new Set([
  'area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link',
  'meta', 'param', 'source', 'track', 'wbr',
]);
const FOREIGN = new Set(['svg', 'math']);

/** Parses `html` and reports its elements and text to `handler`, in document order. */
export function parseHtml(html: string, handler: HtmlHandler): void {
  const stack: string[] = [];
  const open = new Map<string, number>();
  let foreign = 0; // open svg/math elements: there `<x/>` closes x
  let tagName = '';
  let attrs: Record<string, string> = {};
  let attrName = '';
  let attrValue = '';

  const push = (name: string) => {
    stack.push(name);
    open.set(name, (open.get(name) ?? 0) + 1);
    if (FOREIGN.has(name)) foreign++;
  };
  const pop = (implied: boolean) => {
    const name = stack.pop();
    if (name === undefined) return;
    open.set(name, (open.get(name) ?? 1) - 1);
    if (FOREIGN.has(name)) foreign--;
    handler.onclosetag?.(name, implied);
  };
  const openTag = (name: string) => {
    const closes = OPEN_IMPLIES_CLOSE.get(name);
    if (closes) while (stack.length > 0 && closes.has(stack.at(-1)!)) pop(true);
    if (!VOID.has(name)) push(name);
    tagName = name;
    attrs = {};
  };
  const endOpenTag = () => {
    handler.onopentag?.(tagName, attrs);
    if (VOID.has(tagName)) handler.onclosetag?.(tagName, true);
  };

  const tokenizer = new Tokenizer({ decodeEntities: true }, {
    ontext: (start, end) => handler.ontext?.(html.slice(start, end)),
    ontextentity: (codepoint) => handler.ontext?.(String.fromCodePoint(codepoint)),
    onopentagname: (start, end) => openTag(html.slice(start, end).toLowerCase()),
    onattribname: (start, end) => {
      attrName = html.slice(start, end).toLowerCase();
    },
    onattribdata: (start, end) => {
      attrValue += html.slice(start, end);
    },
    onattribentity: (codepoint) => {
      attrValue += String.fromCodePoint(codepoint);
    },
    onattribend: () => {
      if (!Object.hasOwn(attrs, attrName)) attrs[attrName] = attrValue;
      attrValue = '';
    },
    onopentagend: () => endOpenTag(),
    onselfclosingtag: () => {
      endOpenTag();
      if (foreign > 0 && stack.at(-1) === tagName) pop(false);
    },
    onclosetag: (start, end) => {
      const name = html.slice(start, end).toLowerCase();
      if (VOID.has(name)) {
        if (name === 'br') {
          handler.onopentag?.('br', {});
          handler.onclosetag?.('br', false);
        }
      } else if ((open.get(name) ?? 0) > 0) {
        while (stack.at(-1) !== name) pop(true);
        pop(false);
      } else if (name === 'p') {
        openTag('p'); // a stray </p> is an empty paragraph
        endOpenTag();
        pop(false);
      }
    },
    oncdata: () => {},
    oncomment: () => {},
    ondeclaration: () => {},
    onprocessinginstruction: () => {},
    onend: () => {
      while (stack.length > 0) pop(true);
    },
    isInForeignContext: () => foreign > 0,
  } satisfies TokenizerCallbacks);
  tokenizer.write(html);
  tokenizer.end();
}
