import { AGENT_TYPES, type AgentType } from '@strata/db';
import { sql } from 'drizzle-orm';
import { fromDrizzle, type PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { Tx } from './tx.ts';
import { WEBHOOK_QUEUE, type WebhookJob } from './webhooks/queue.ts';

/** Each agent type has its own pg-boss queue. */
export const agentQueue = (agentType: AgentType | string) => `agent.${agentType}`;

/** The payload of a task's job, defined once for sender and worker. */
export const taskJobSchema = z.object({
  taskId: z.string(),
  executionId: z.string(),
  attempt: z.number().int().positive(),
});
export type TaskJob = z.infer<typeof taskJobSchema>;

export interface QueuedJob {
  agentType: AgentType;
  jobId: string;
  job: TaskJob;
  /** Higher runs first; the dispatcher uses it for fairness between workspaces. */
  priority: number;
  startAfterSeconds?: number;
  expireInSeconds: number;
}

/** How the engine hands work to workers; implemented on pg-boss, enqueuing in the caller's transaction. */
export interface TaskQueue {
  enqueue(tx: Tx, jobs: readonly QueuedJob[]): Promise<void>;
  /** Queues webhook delivery attempts (webhooks/queue.ts) in the caller's transaction. */
  enqueueWebhookDeliveries(tx: Tx, jobs: readonly WebhookJob[]): Promise<void>;
}

export function pgBossTaskQueue(boss: PgBoss): TaskQueue {
  return {
    async enqueue(tx, jobs) {
      const byType = new Map<AgentType, QueuedJob[]>();
      for (const job of jobs) {
        const list = byType.get(job.agentType) ?? [];
        list.push(job);
        byType.set(job.agentType, list);
      }
      const db = fromDrizzle(tx, sql);
      for (const [agentType, list] of byType) {
        await boss.insert(
          agentQueue(agentType),
          list.map((j) => ({
            id: j.jobId,
            data: j.job,
            priority: j.priority,
            expireInSeconds: j.expireInSeconds,
            ...(j.startAfterSeconds ? { startAfter: j.startAfterSeconds } : {}),
          })),
          { db },
        );
      }
    },
    async enqueueWebhookDeliveries(tx, jobs) {
      if (jobs.length === 0) return;
      await boss.insert(
        WEBHOOK_QUEUE,
        jobs.map((j) => ({ data: { deliveryId: j.deliveryId, attempt: j.attempt }, ...(j.startAfter ? { startAfter: j.startAfter } : {}) })),
        { db: fromDrizzle(tx, sql) },
      );
    },
  };
}

/**
 * pg-boss retries nothing: the engine owns task retries (backoff, retry counts, the failure
 * policy), and a job that fails in pg-boss (a claim that kept failing on the database) leaves
 * its task assigned for the lost-job sweep to queue again under a new job.
 */
export const AGENT_QUEUE_OPTIONS = { notify: true, retryLimit: 0, retryDelay: 0, retryBackoff: false, deleteAfterSeconds: 3600 } as const;

/**
 * Creates the six agent queues, and brings queues created by an older version (which let
 * pg-boss retry jobs) to the same policy: createQueue leaves an existing queue as it is.
 */
export async function ensureAgentQueues(boss: PgBoss): Promise<void> {
  for (const agentType of AGENT_TYPES) {
    const name = agentQueue(agentType);
    await boss.createQueue(name, AGENT_QUEUE_OPTIONS);
    const current = await boss.getQueue(name);
    if (current && (current.retryLimit !== AGENT_QUEUE_OPTIONS.retryLimit || current.retryBackoff !== AGENT_QUEUE_OPTIONS.retryBackoff)) {
      await boss.updateQueue(name, { retryLimit: AGENT_QUEUE_OPTIONS.retryLimit, retryDelay: AGENT_QUEUE_OPTIONS.retryDelay, retryBackoff: AGENT_QUEUE_OPTIONS.retryBackoff });
    }
  }
}
