/**
 * Questions on the terminal with node:readline: one interface for the whole run whose lines are
 * queued (piped answers arrive together, before the later questions are asked), prompts on
 * stderr so stdout stays for output, and a password never echoed.
 */
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './errors.ts';

export interface Prompter {
  ask(question: string): Promise<string>;
  /** Asks without echoing what is typed. */
  askSecret(question: string): Promise<string>;
  close(): void;
}

export function createPrompter(input: NodeJS.ReadableStream & { isTTY?: boolean }, output: NodeJS.WritableStream): Prompter {
  let rl: Interface | undefined;
  let muted = false;
  let ended = false;
  const lines: string[] = [];
  const waiting: PromiseWithResolvers<string>[] = [];
  // What readline echoes (on a terminal) goes through here, so a secret's keystrokes can be swallowed.
  const echo = new Writable({
    write(chunk, encoding, callback) {
      if (!muted) output.write(chunk, encoding);
      callback();
    },
  });
  const open = () => {
    if (rl) return;
    rl = createInterface({ input, output: echo, terminal: input.isTTY === true });
    rl.on('line', (line) => {
      const next = waiting.shift();
      if (next) next.resolve(line);
      else lines.push(line);
    });
    rl.once('close', () => {
      ended = true;
      for (const next of waiting.splice(0)) next.reject(new CliError('No answer: the input ended before the question was answered.'));
    });
  };
  const question = (text: string): Promise<string> => {
    open();
    output.write(text);
    const line = lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended) return Promise.reject(new CliError('No answer: the input ended before the question was answered.'));
    const next = Promise.withResolvers<string>();
    waiting.push(next);
    return next.promise;
  };
  return {
    ask: async (text) => (await question(text)).trim(),
    async askSecret(text) {
      muted = true;
      try {
        return await question(text);
      } finally {
        muted = false;
        // The Enter the user typed was swallowed with the rest.
        if (input.isTTY) output.write('\n');
      }
    },
    close() {
      rl?.close();
    },
  };
}
