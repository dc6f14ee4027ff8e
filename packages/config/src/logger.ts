import { type DestinationStream, pino } from 'pino';
import pretty from 'pino-pretty';
import { currentLogFields } from './log-context.ts';
import type { LOG_FORMATS } from './schema.ts';

export type Logger = pino.Logger;

export type LogFormat = (typeof LOG_FORMATS)[number];

/** What `auto` means for this process: pretty when its stdout is a terminal. */
export function resolveLogFormat(format: LogFormat, stdoutIsTty: boolean = process.stdout.isTTY === true): 'json' | 'pretty' {
  return format === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : format;
}

/**
 * A pino logger: one JSON object a line, or readable colour lines for a person at a terminal
 * (pino-pretty in this process: no worker thread, lines stay in order with the other output).
 * Every line written inside withLogFields carries those ids (requestId, executionId, taskId...).
 */
export function createLogger(name: string, level: string = 'info', format: LogFormat = 'json', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = { name, level, base: { pid: process.pid, name }, mixin: () => ({ ...currentLogFields() }) };
  if (destination) return pino(options, destination);
  if (resolveLogFormat(format) === 'pretty') {
    return pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(options);
}
