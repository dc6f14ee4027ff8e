import { randomUUID } from 'node:crypto';
import type { AgentType, Priority } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { NewEvent } from './events.ts';
import { allocateTags, priorityOfTag, rehomeJobs, type TagRequest, tagKey } from './fair-queue.ts';
import { agentQueue, type QueuedJob, type TaskQueue } from './queue.ts';
import { jsonRows, textArray, type Tx } from './tx.ts';

export const PRIORITY_RANK: Record<Priority, number> = { high: 0, medium: 1, low: 2 };

/** How long a job may stay active beyond its task's own timeout before pg-boss expires it. */
const JOB_EXPIRY_MARGIN_SECONDS = 120;

export type AssignedRow = {
  id: string;
  executionId: string;
  workspaceId: string;
  agentType: AgentType;
  priority: Priority;
  ordinal: number;
  attempt: number;
  retryCount: number;
  timeoutSeconds: number;
  jobId: string;
  /** Seconds before this row's job may run (a retry whose backoff outlasted a pause). */
  notBeforeSeconds?: number | null;
};

export interface DispatchOptions {
  /** Delay before the job may run (retry backoff). */
  startAfterSeconds?: number;
  /** The rows are a new execution's first tasks: none of its jobs waits yet, so nothing can be promoted. */
  newExecution?: boolean;
  /**
   * False: no promotion within the execution (promoteWithinExecutions), for a caller that does
   * not hold the execution's lock (a child's end waking its parent task: children/hold.ts).
   */
  promote?: boolean;
}

/**
 * Moves pending tasks to `assigned` and enqueues their jobs in the same transaction, highest
 * priority first, in fair-queue order (fair-queue.ts): a workspace with a 10,000-task backlog
 * cannot starve one with three, now or as the backlog drains.
 */
export async function assignTasks(tx: Tx, queue: TaskQueue, taskIds: readonly string[], events: NewEvent[], options: DispatchOptions = {}): Promise<number> {
  if (taskIds.length === 0) return 0;
  // Tags first (a count per queue and workspace), so the update that assigns the tasks writes
  // their tags too: a 10,000-task start updates its rows once. The caller holds the execution's
  // lock, under which every task status changes, so the count is the update's.
  const groups = await tx.execute<{ agentType: AgentType; workspaceId: string; n: number }>(sql`
    select agent_type as "agentType", workspace_id as "workspaceId", count(*)::int as n from tasks
    where id = any(${textArray(taskIds)}) and status = 'pending' group by agent_type, workspace_id`);
  if (groups.length === 0) return 0;
  const starts = await allocateTags(
    tx,
    groups.map((g) => ({ queue: agentQueue(g.agentType), workspaceId: g.workspaceId, count: g.n })),
  );
  const startRows = groups.map((g) => ({ agent_type: g.agentType, workspace_id: g.workspaceId, start: starts.get(tagKey(agentQueue(g.agentType), g.workspaceId)) ?? 0 }));
  // A pending task's wake_at is the end of a retry backoff that began while paused: its job
  // starts then, not at once.
  const assigned = await tx.execute<AssignedRow & { queueTag: number }>(sql`
    with locked as (select id, wake_at, agent_type, workspace_id, priority, ordinal from tasks
        where id = any(${textArray(taskIds)}) and status = 'pending' for update),
      starts as (select * from jsonb_to_recordset(${jsonRows(startRows)}) as s(agent_type text, workspace_id text, start bigint)),
      ranked as (select l.id, l.wake_at, s.start + row_number() over (partition by l.agent_type, l.workspace_id
          order by ${PRIORITY_RANK_OF('l')}, l.ordinal, l.id) - 1 as tag
        from locked l join starts s on s.agent_type = l.agent_type and s.workspace_id = l.workspace_id)
    update tasks t set status = 'assigned', assigned_at = now(), started_at = null, attempt = t.attempt + 1,
      job_id = gen_random_uuid()::text, queue_tag = r.tag, worker_id = null, lease_expires_at = null, wake_at = null, throttle_scope = null, updated_at = now()
    from ranked r
    where t.id = r.id
    returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority, t.ordinal,
      t.attempt, t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId", t.queue_tag::float8 as "queueTag",
      extract(epoch from r.wake_at - now())::float8 as "notBeforeSeconds"`);
  if (assigned.length === 0) return 0;
  await enqueue(tx, queue, [...assigned], events, options);
  return assigned.length;
}

/**
 * Enqueues rows already marked assigned: from assignTasks with their tags (`queueTag`), or a
 * retry or a sweep re-queueing a lost job, which take their tags here.
 */
export async function enqueue(tx: Tx, queue: TaskQueue, rows: (AssignedRow & { queueTag?: number })[], events: NewEvent[], options: DispatchOptions = {}): Promise<void> {
  const order = rows
    .map((row, index) => ({ row, index }))
    .sort((a, b) => PRIORITY_RANK[a.row.priority] - PRIORITY_RANK[b.row.priority] || a.row.ordinal - b.row.ordinal || a.index - b.index)
    .map(({ row }) => row);
  const tagged = order.every((row) => typeof row.queueTag === 'number');
  const nextTag = tagged ? new Map<string, number>() : await allocateTags(tx, tagRequests(order));
  const slots: QueueSlot[] = order.map((row) => {
    let tag = row.queueTag;
    if (!tagged || tag === undefined) {
      const key = tagKey(agentQueue(row.agentType), row.workspaceId);
      tag = nextTag.get(key) ?? 0;
      nextTag.set(key, tag + 1);
    }
    const startAfterSeconds = Math.max(options.startAfterSeconds ?? 0, row.notBeforeSeconds ?? 0);
    return { task: row, jobId: row.jobId ?? randomUUID(), tag, startAfterSeconds, holder: row };
  });
  const moved = options.newExecution || options.promote === false ? [] : await promoteWithinExecutions(tx, slots);
  // Rows whose job or tag differ from what the task row says: all of them when the tags were
  // taken here, else only the tasks a promotion moved.
  const changes = [
    ...slots.filter((s) => !tagged || s.holder !== s.task).map((s) => ({ id: s.holder.id, job_id: s.jobId, tag: s.tag })),
    ...moved.map((m) => ({ id: m.task.id, job_id: m.jobId, tag: m.tag })),
  ];
  if (changes.length > 0) {
    await tx.execute(sql`
      update tasks t set job_id = x.job_id, queue_tag = x.tag
      from jsonb_to_recordset(${jsonRows(changes)}) as x(id text, job_id text, tag bigint)
      where t.id = x.id`);
  }
  await rehomeJobs(
    tx,
    moved.map((m) => ({
      queue: agentQueue(m.task.agentType),
      jobId: m.jobId,
      job: { taskId: m.task.id, executionId: m.task.executionId, attempt: m.task.attempt },
      expireInSeconds: m.task.timeoutSeconds + JOB_EXPIRY_MARGIN_SECONDS,
    })),
  );
  const jobs: QueuedJob[] = slots.map((slot) => ({
    agentType: slot.holder.agentType,
    jobId: slot.jobId,
    job: { taskId: slot.holder.id, executionId: slot.holder.executionId, attempt: slot.holder.attempt },
    priority: priorityOfTag(slot.tag),
    expireInSeconds: slot.holder.timeoutSeconds + JOB_EXPIRY_MARGIN_SECONDS,
    ...(slot.startAfterSeconds > 0 ? { startAfterSeconds: slot.startAfterSeconds } : {}),
  }));
  await queue.enqueue(tx, jobs);
  for (const row of order) {
    events.push({
      executionId: row.executionId,
      type: 'task-assigned',
      data: { taskId: row.id, agentType: row.agentType, priority: row.priority, attempt: row.attempt, retryCount: row.retryCount },
    });
  }
}

function tagRequests(rows: readonly AssignedRow[]): TagRequest[] {
  const requests = new Map<string, TagRequest>();
  for (const row of rows) {
    const key = tagKey(agentQueue(row.agentType), row.workspaceId);
    const request = requests.get(key) ?? { queue: agentQueue(row.agentType), workspaceId: row.workspaceId, count: 0 };
    request.count++;
    requests.set(key, request);
  }
  return [...requests.values()];
}

/**
 * A new job's place in its queue. `task` is the row being queued; `holder` is the task the job
 * will run once promotion is done (the same row, or the lower-priority task whose place it took).
 */
type QueueSlot = { task: AssignedRow; jobId: string; tag: number; startAfterSeconds: number; holder: QueuedTask };
type QueuedTask = Pick<AssignedRow, 'id' | 'executionId' | 'agentType' | 'priority' | 'attempt' | 'timeoutSeconds'>;
/** A task queued now that took the place of a waiting lower-priority one: it holds that job (`jobId`, `tag`). */
type MovedTask = { task: QueuedTask; jobId: string; tag: number };

/**
 * Priority within an execution at any time: a task queued now takes the place of the earliest
 * waiting job of a lower-priority task of its execution and agent type (job ids and tags swap
 * on the two tasks, and the waiting job's payload is rewritten to name its new task), so a
 * `high` item released late runs before the `low` ones queued earlier, and the execution's
 * share of the queue is unchanged. Only jobs that can
 * run now trade places: a retry in its backoff neither takes nor gives one. The caller holds
 * the execution's lock, so no claim of these tasks runs meanwhile.
 */
async function promoteWithinExecutions(tx: Tx, slots: QueueSlot[]): Promise<MovedTask[]> {
  const groups = new Map<string, QueueSlot[]>();
  for (const slot of slots) {
    if (slot.startAfterSeconds > 0 || slot.task.priority === 'low') continue;
    const key = `${slot.task.executionId}\u0000${slot.task.agentType}`;
    const group = groups.get(key);
    if (group) group.push(slot);
    else groups.set(key, [slot]);
  }
  if (groups.size === 0) return [];
  // Tasks queued by this call have no job row yet (it is inserted afterwards): the join leaves them out.
  const moved: MovedTask[] = [];
  for (const group of groups.values()) {
    const { executionId, agentType } = group[0]!.task;
    const bestRank = Math.min(...group.map((s) => PRIORITY_RANK[s.task.priority]));
    const candidates = await tx.execute<QueuedTask & { jobId: string; tag: number }>(sql`
      select t.id, t.execution_id as "executionId", t.agent_type as "agentType", t.priority, t.attempt,
        t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId", t.queue_tag::float8 as tag
      from tasks t join pgboss.job j on j.name = ${agentQueue(agentType)} and j.id = t.job_id::uuid
      where t.execution_id = ${executionId} and t.agent_type = ${agentType} and t.status = 'assigned' and t.queue_tag is not null
        and ${PRIORITY_RANK_SQL} > ${bestRank}
        and j.state = 'created' and j.start_after <= pgboss.job_now()
      order by t.queue_tag limit ${group.length}
      for update of t`);
    const free = [...candidates].map((c) => ({ ...c, tag: Number(c.tag) }));
    for (const slot of [...group].sort((a, b) => PRIORITY_RANK[a.task.priority] - PRIORITY_RANK[b.task.priority] || a.tag - b.tag)) {
      const at = free.findIndex((c) => PRIORITY_RANK[c.priority] > PRIORITY_RANK[slot.task.priority] && c.tag < slot.tag);
      if (at < 0) continue;
      const [place] = free.splice(at, 1);
      if (!place) continue;
      const { jobId, tag, ...waiting } = place;
      // The queued task takes the waiting job; the waiting task takes the new one.
      moved.push({ task: slot.task, jobId, tag });
      slot.holder = waiting;
    }
  }
  return moved;
}

export const PRIORITY_RANK_OF = (alias: string) => sql.raw(`case ${alias}.priority when 'high' then 0 when 'medium' then 1 else 2 end`);
const PRIORITY_RANK_SQL = PRIORITY_RANK_OF('t');

/** Pending tasks of an execution whose dependencies have all completed, highest priority first. */
export async function readyTaskIds(tx: Tx, executionId: string): Promise<string[]> {
  const rows = await tx.execute<{ id: string }>(sql`
    select id from tasks where execution_id = ${executionId} and status = 'pending' and pending_dependencies = 0
    order by ${PRIORITY_RANK_OF('tasks')}, ordinal`);
  return rows.map((r) => r.id);
}
