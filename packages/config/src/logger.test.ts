import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat, withLogFields } from './index.ts';

/** A logger writing JSON lines into an array. */
function captured() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('test', 'info', 'json', destination) };
}

describe('createLogger', () => {
  it('adds the ids in effect to every line, the innermost winning, and none outside', async () => {
    const { lines, logger } = captured();
    logger.info('outside');
    await withLogFields({ requestId: 'req-1' }, async () => {
      logger.info('in the request');
      await new Promise((r) => setImmediate(r));
      await withLogFields({ executionId: 'exec_1', taskId: 'task_1', attempt: 2 }, async () => {
        await Promise.resolve();
        logger.child({ component: 'agent' }).info('in the attempt');
      });
      logger.info('back in the request');
    });
    expect(lines.map((l) => [l.msg, l.requestId, l.executionId, l.taskId, l.attempt])).toEqual([
      ['outside', undefined, undefined, undefined, undefined],
      ['in the request', 'req-1', undefined, undefined, undefined],
      ['in the attempt', 'req-1', 'exec_1', 'task_1', 2],
      ['back in the request', 'req-1', undefined, undefined, undefined],
    ]);
    expect(lines[2]?.component).toBe('agent');
  });

  it('lets a field given to the call itself win over the context', () => {
    const { lines, logger } = captured();
    withLogFields({ taskId: 'task_ctx' }, () => logger.info({ taskId: 'task_call' }, 'explicit'));
    expect(lines[0]?.taskId).toBe('task_call');
  });
});

describe('LOG_FORMAT', () => {
  it('auto is pretty on a terminal and JSON elsewhere; json and pretty are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  // A real process: once with stdout piped, once on a pseudo-terminal (util-linux `script`).
  const program = `import { createLogger, withLogFields } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))};
    withLogFields({ taskId: 'task_x' }, () => createLogger('probe', 'info', 'auto').info('hello there'));`;

  it('writes JSON lines when stdout is piped', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    const line = JSON.parse(out.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'hello there', name: 'probe', taskId: 'task_x', level: 30 });
  });

  it('writes readable colour lines on a terminal', () => {
    const command = [process.execPath, '--input-type=module', '-e', program].map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ');
    const out = execFileSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8' });
    expect(out).toContain('\u001b['); // ANSI colour
    expect(out).toContain('hello there');
    expect(stripVTControlCharacters(out)).toMatch(/taskId: "task_x"/);
    expect(out).not.toContain('"msg"');
  });
});
