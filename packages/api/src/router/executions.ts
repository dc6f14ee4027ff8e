import { controlExecution, findExecution, findStrategy, getExecutionStatusParts, getTaskView, listExecutions, retryExecution, startExecution, statusBody, type StatusTask } from '@strata/engine';
import type { ExecutionView } from '@strata/engine/contract';
import { rawJson } from '../raw-json.ts';
import { canonicalIncludes, StatusCache } from '../status-cache.ts';
import { executions } from '@strata/db';
import { TRPCError, tracked } from '@trpc/server';
import { z } from 'zod';
import type { StreamEnd } from '../stream/guard.ts';
import type { WireEvent } from '../stream/hub.ts';
import { admitStream, openStream, type StreamDeps } from '../stream/session.ts';
import { issueStreamTicket } from '../stream/tickets.ts';
import { eq } from 'drizzle-orm';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { once, requestHash, type ClaimKey } from '../idempotency.ts';
import { executionIdInput, executionStatusInput, executionTaskInput, listExecutionsInput, retryExecutionInput, startExecutionInput, taskIncludeInput, workspaceIdInput } from '../schemas.ts';
import { authedProcedure, rateLimit, requireRole, router } from '../trpc.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The execution, when it exists (404) and the caller has `permission` in its workspace (403). */
export async function executionInWorkspace(ctx: ApiContext & { principal: NonNullable<ApiContext['principal']> }, id: string, permission: 'read' | 'execute') {
  const execution = await findExecution(ctx.db, id);
  if (!execution) throw notFound('Execution not found');
  await requireRole(ctx, execution.workspaceId, permission);
  return execution;
}

/** Events a subscriber may have waiting before it is dropped. */
const MAX_QUEUED_EVENTS = 10_000;
/** Bytes of events a tRPC subscriber may have waiting before it is dropped (as SSE and WebSocket clients are). */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const streamInput = executionIdInput.extend({ lastEventId: z.coerce.number().int().min(0).nullish(), include: taskIncludeInput });

/** A stream ended by the server: its credential ended (UNAUTHORIZED) or the caller's access was removed (FORBIDDEN). */
const endError = (end: StreamEnd) => new TRPCError({ code: end.code === 4401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message: end.reason });

const CONTROL_MESSAGES = { pause: 'Execution paused', resume: 'Execution resumed', cancel: 'Execution cancelled' } as const;

function control(action: keyof typeof CONTROL_MESSAGES) {
  return authedProcedure.input(executionIdInput).mutation(async ({ ctx, input }) => {
    const execution = await executionInWorkspace(ctx, input.id, 'execute');
    await rateLimit(ctx, execution.workspaceId, 'control');
    const summary = await controlExecution(ctx.engine, input.id, action);
    return { success: true as const, message: CONTROL_MESSAGES[action], execution: { id: summary.id, status: summary.status } };
  });
}

/**
 * Starts an execution once per Idempotency-Key (when the request has one: a repeat answers the
 * first execution) and answers the seed's start body for it. `begin` starts it, writing the key
 * in its own transaction; `request` is what the key must keep meaning.
 */
async function startOnce(ctx: ApiContext & { principal: NonNullable<ApiContext['principal']> }, request: unknown, begin: (withinStart?: ClaimKey) => Promise<string>) {
  const executionId = ctx.idempotencyKey ? (await once(ctx.db, ctx.principal.user.id, ctx.idempotencyKey, requestHash(request), begin)).executionId : await begin();
  const [row] = await ctx.db.select().from(executions).where(eq(executions.id, executionId));
  if (!row) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Execution vanished after start' });
  return {
    success: true as const,
    executionId,
    message: 'Strategy execution started',
    execution: {
      id: row.id,
      // The start response shows the execution as created, like the seed's.
      status: ctx.idempotencyKey ? row.status : ('pending' as const),
      strategyId: row.strategyId,
      startedAt: iso(row.startedAt),
      totalTasks: row.totalTasks,
    },
  };
}

export const executionsRouter = router({
  start: authedProcedure.input(startExecutionInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    const strategy = await findStrategy(ctx.db, input.strategyId);
    if (!strategy || strategy.workspaceId !== input.workspaceId) throw notFound(`Strategy not found: ${input.strategyId}`);
    await requireRole(ctx, input.workspaceId, 'execute');
    await rateLimit(ctx, input.workspaceId, 'start');
    return startOnce(ctx, input, async (withinStart) => (await startExecution(ctx.engine, { ...input, createdBy: ctx.principal.user.id, ...(withinStart ? { withinStart } : {}) })).id);
  }),
  /**
   * Re-runs a failed or cancelled execution as a new one (the start body, and `retryOf`): what
   * completed is carried over unless `mode` is `all`. Counted by the start rate limit, and
   * Idempotency-Key works as on start.
   */
  retry: authedProcedure.input(retryExecutionInput).mutation(async ({ ctx, input }) => {
    const original = await executionInWorkspace(ctx, input.id, 'execute');
    await rateLimit(ctx, original.workspaceId, 'start');
    const started = await startOnce(
      ctx,
      { retry: input.id, mode: input.mode },
      async (withinStart) => (await retryExecution(ctx.engine, { executionId: input.id, mode: input.mode, createdBy: ctx.principal.user.id, ...(withinStart ? { withinStart } : {}) })).id,
    );
    return { ...started, retryOf: input.id };
  }),
  /**
   * The seed's status body. Its tasks carry the seed's fields; `include` adds `detail` and/or
   * `results` (each task's result, unbounded in size: one task's is `task`).
   */
  status: authedProcedure.input(executionStatusInput).query(async ({ ctx, input }) => {
    const execution = await executionInWorkspace(ctx, input.id, 'read');
    await rateLimit(ctx, execution.workspaceId, 'status');
    const include = canonicalIncludes(input.include);
    if (!ctx.statusCache) {
      const parts = await getExecutionStatusParts(ctx.db, input.id, include);
      return statusBody(parts, JSON.parse(parts.tasks) as StatusTask[]);
    }
    const entry = await ctx.statusCache.get(ctx.db, input.id, execution.version, include);
    // REST re-serialises the body: the tasks' bytes, encoded once per snapshot, go out untouched.
    return statusBody(entry.parts, ctx.rawJson ? rawJson<StatusTask[]>(StatusCache.taskBytes(entry)) : StatusCache.parsedTasks(entry));
  }),
  /** One task with every field, its result too: what the status body leaves out unless asked. */
  task: authedProcedure.input(executionTaskInput).query(async ({ ctx, input }) => {
    const execution = await executionInWorkspace(ctx, input.id, 'read');
    await rateLimit(ctx, execution.workspaceId, 'status');
    const task = await getTaskView(ctx.db, input.id, input.taskId);
    if (!task) throw notFound('Task not found');
    return { task };
  }),
  /**
   * One execution without its tasks: what a page needs to know that the link is good (404/403)
   * and whose it is, without the status body's weight or its rate limit.
   */
  get: authedProcedure.input(executionIdInput).query(async ({ ctx, input }) => {
    const { workspaceId } = await executionInWorkspace(ctx, input.id, 'read');
    const [row] = await ctx.db.select().from(executions).where(eq(executions.id, input.id));
    if (!row) throw notFound('Execution not found');
    return {
      execution: {
        id: row.id,
        status: row.status,
        strategyId: row.strategyId,
        strategyVersion: row.strategyVersion,
        workspaceId,
        startedAt: iso(row.startedAt),
        completedAt: iso(row.completedAt),
        totalTasks: row.totalTasks,
        completedTasks: row.completedTasks,
        failedTasks: row.failedTasks,
        error: row.error,
        input: row.input,
        trigger: row.trigger,
        scheduleId: row.scheduleId,
        retryOf: row.retryOf,
        parentExecutionId: row.parentExecutionId,
        parentTaskId: row.parentTaskId,
      } satisfies ExecutionView,
    };
  }),
  pause: control('pause'),
  resume: control('resume'),
  cancel: control('cancel'),
  /**
   * A stream ticket for `?access_token=` on the stream, for clients that cannot send headers:
   * one stream of this execution, within 60 s, once; the stream ends with the credential that asked.
   */
  streamTicket: authedProcedure.input(executionIdInput).mutation(async ({ ctx, input }) => {
    const execution = await executionInWorkspace(ctx, input.id, 'read');
    const issued = await issueStreamTicket(ctx.db, ctx.principal, execution.id);
    return { ticket: issued.ticket, expiresAt: issued.expiresAt.toISOString() };
  }),
  /**
   * The execution stream as a tRPC subscription (SSE): state first, then events, each tracked by
   * id so a reconnect resumes. It counts like any stream (cap per credential, status rate limit)
   * and ends with an UNAUTHORIZED or FORBIDDEN error saying why when its credential or access ends.
   */
  stream: authedProcedure.input(streamInput).subscription(async function* ({ ctx, input, signal }) {
    const execution = await executionInWorkspace(ctx, input.id, 'read');
    if (!ctx.hub) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No event hub in this process' });
    const deps: StreamDeps = {
      db: ctx.db,
      hub: ctx.hub,
      rateLimits: ctx.rateLimits,
      ...(ctx.statusCache ? { statusCache: ctx.statusCache } : {}),
      ...(ctx.streamGuard ? { guard: ctx.streamGuard } : {}),
    };
    const admission = await admitStream(deps, { ok: true, principal: ctx.principal, executionId: execution.id, workspaceId: execution.workspaceId, ambient: false });
    for (const [name, value] of Object.entries(admission.headers)) ctx.responseHeaders.set(name, value);
    if (!admission.ok) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: admission.error });
    const { lease } = admission;
    const queue: WireEvent[] = [];
    let queuedBytes = 0;
    let wake: (() => void) | undefined;
    let done = false;
    let ended: StreamEnd | null = null;
    try {
      await ctx.hub.start();
      const finish = await openStream(deps, execution.id, input.lastEventId ?? null, canonicalIncludes(input.include), {
        transport: 'trpc',
        send(events) {
          // A subscriber that stopped reading is dropped (it resumes from its last id) rather than buffered without limit.
          if (queue.length > MAX_QUEUED_EVENTS || queuedBytes > MAX_QUEUED_BYTES) return false;
          for (const event of events) queuedBytes += event.json.length;
          queue.push(...events);
          wake?.();
          return true;
        },
        close() {
          done = true;
          wake?.();
        },
      });
      signal?.addEventListener('abort', () => finish());
      lease?.onEnd((end) => {
        ended = end;
        finish();
      });
      try {
        while (!signal?.aborted) {
          const event = queue.shift();
          if (event) {
            queuedBytes -= event.json.length;
            yield tracked(String(event.id), JSON.parse(event.json) as { id: number; type: string; executionId: string; timestamp: string; data: unknown });
            continue;
          }
          if (ended) throw endError(ended);
          if (done) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      } finally {
        finish();
      }
    } finally {
      await lease?.release();
    }
  }),
  /**
   * The executions list, live: which executions of the workspace changed (one started, a task
   * moved, one ended), for the dashboard to refetch the page it shows. The first message is
   * `resync` (connected); `resync` again after the server may have missed changes. It counts like
   * an execution stream (the credential's cap, the workspace's status rate limit) and ends with
   * UNAUTHORIZED or FORBIDDEN when the credential or the access ends.
   */
  watch: authedProcedure.input(workspaceIdInput).subscription(async function* ({ ctx, input, signal }) {
    await requireRole(ctx, input.workspaceId, 'read');
    if (!ctx.hub) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No event hub in this process' });
    const hub = ctx.hub;
    const deps: StreamDeps = { db: ctx.db, hub, rateLimits: ctx.rateLimits, ...(ctx.streamGuard ? { guard: ctx.streamGuard } : {}) };
    const admission = await admitStream(deps, { ok: true, principal: ctx.principal, executionId: `workspace:${input.workspaceId}`, workspaceId: input.workspaceId, ambient: false });
    for (const [name, value] of Object.entries(admission.headers)) ctx.responseHeaders.set(name, value);
    if (!admission.ok) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: admission.error });
    const { lease } = admission;
    const changed = new Set<string>();
    let resync = true;
    let ended: StreamEnd | null = null;
    let wake: (() => void) | undefined;
    const stopWatching = hub.watchWorkspace(input.workspaceId, (executionId) => {
      if (executionId && changed.size < MAX_QUEUED_EVENTS) changed.add(executionId);
      else resync = true;
      wake?.();
    });
    lease?.onEnd((end) => {
      ended = end;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      await hub.start();
      while (!signal?.aborted) {
        if (ended) throw endError(ended);
        if (resync || changed.size > 0) {
          const message = { executionIds: [...changed], resync };
          changed.clear();
          resync = false;
          yield message;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      stopWatching();
      signal?.removeEventListener('abort', onAbort);
      await lease?.release();
    }
  }),
  list: authedProcedure.input(listExecutionsInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    const page = await listExecutions(ctx.db, input);
    if ('invalidCursor' in page) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Invalid cursor' });
    return page;
  }),
});
