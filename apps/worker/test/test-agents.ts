/**
 * Agents for process-level tests, loaded into real worker processes through
 * STRATA_AGENT_MODULES. Each run is logged to a table so a test can count runs per task.
 */
import postgres from 'postgres';
import type { AgentRegistry } from '@strata/engine';

export function register(registry: AgentRegistry): void {
  const sql = postgres(process.env.DATABASE_URL!, { max: 2, onnotice: () => {} });
  for (const type of ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination']) {
    registry.register(type, async ({ task, signal }) => {
      await sql`insert into test_runs (task_id, attempt, pid, at) values (${task.id}, ${task.attempt}, ${process.pid}, clock_timestamp())`.catch(() => {});
      const delay = Number(task.input.delayMs ?? 0);
      if (delay) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, delay);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
      }
      // When a test's table has the column: when the run ended (the limits test measures overlaps).
      await sql`update test_runs set ended_at = clock_timestamp() where task_id = ${task.id} and attempt = ${task.attempt} and pid = ${process.pid}`.catch(() => {});
      return { key: task.key, pid: process.pid };
    });
  }
}
