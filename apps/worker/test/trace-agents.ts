/**
 * A `content` agent for the trace test, loaded into a real worker process through
 * STRATA_AGENT_MODULES; what it does depends on the item's key: `retry…` fails its first attempt
 * and succeeds on the next, `fail…` always fails, `hold…` runs until its execution has been
 * cancelled, anything else succeeds at once.
 */
import postgres from 'postgres';
import type { AgentRegistry } from '@strata/engine';

export function register(registry: AgentRegistry): void {
  const sql = postgres(process.env.DATABASE_URL!, { max: 2, onnotice: () => {} });
  registry.register('content', async ({ task, signal }) => {
    if (task.key.startsWith('retry') && task.attempt === 1) throw new Error('first attempts fail here');
    if (task.key.startsWith('fail')) throw new Error('this one always fails');
    if (task.key.startsWith('hold')) {
      for (;;) {
        const [row] = await sql<{ status: string }[]>`select status from executions where id = ${task.executionId}`;
        if (row?.status === 'cancelled' || signal.aborted) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return { key: task.key };
  });
}
