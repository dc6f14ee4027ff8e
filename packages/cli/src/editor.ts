/**
 * Edits text in the user's editor ($VISUAL, then $EDITOR, then vi) through a temporary file,
 * the way git does: the editor gets the terminal, and the command goes on when it exits.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliEnv } from '@strata/config';
import { CliError } from './errors.ts';

export function editorCommand(env: CliEnv): string {
  return env.VISUAL ?? env.EDITOR ?? 'vi';
}

/** Opens `text` in the editor as `fileName`; answers the text saved when the editor exits. */
export async function editText(env: CliEnv, text: string, fileName: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'strata-edit-'));
  const file = join(folder, fileName);
  try {
    await writeFile(file, text, { mode: 0o600 });
    const editor = editorCommand(env);
    // Through the shell, as git does, so "code --wait" or an editor with flags works.
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (exit) => resolve(exit));
    });
    if (code !== 0) throw new CliError(`The editor (${editor}) exited with ${code}: nothing was saved.`);
    return await readFile(file, 'utf8');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
