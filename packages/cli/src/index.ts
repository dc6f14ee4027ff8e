export type { Io } from './context.ts';
export { FOLLOW_EXIT } from './follow.ts';
export { runCli } from './program.ts';
