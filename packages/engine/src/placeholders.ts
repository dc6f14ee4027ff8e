/** One `{{name}}` in a template. */
export interface Placeholder {
  /** Where `{{` starts and where the `}}` after it ends. */
  start: number;
  end: number;
  /** What stands between the braces, without the whitespace around it. */
  name: string;
}

/**
 * The placeholders of a template, in order: `{{`, then no `{` or `}`, then `}}` (whitespace
 * inside the braces is ignored). A `{{` that is not closed that way is plain text; in `{{{a}}`
 * the placeholder is the inner `{{a}}`. One pass with indexOf: linear in the template's
 * length whatever it holds (a regular expression for this backtracked polynomially). The
 * agents' templates and the engine's concurrency keys read placeholders alike.
 */
export function* scanPlaceholders(template: string): Generator<Placeholder> {
  let from = 0;
  for (;;) {
    const start = template.indexOf('{{', from);
    if (start === -1) return;
    let end = start + 2;
    while (end < template.length && template[end] !== '{' && template[end] !== '}') end++;
    if (template[end] === '}' && template[end + 1] === '}') {
      yield { start, end: end + 2, name: template.slice(start + 2, end).trim() };
      from = end + 2;
    } else {
      // Not closed here; a `{{` can only start again at the next `{`.
      from = start + 1;
    }
  }
}
