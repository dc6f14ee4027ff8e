/**
 * `strata follow`: the execution's live stream through the client's bridge (WebSocket, SSE as a
 * fallback, resuming after a drop), drawn as it changes; exits by how the run ended.
 */
import { ExecutionBridge, type ExecutionState, FINAL_EVENT_TYPES, isTerminalStatus, StrataApiError, type StrataRestClient } from '@strata/client';
import type { Context } from './context.ts';
import { CliError } from './errors.ts';
import { drawFrame, eventLine, summaryLine } from './progress.ts';

/** follow's exit codes: how the run ended, or 3 when it could not be followed. */
export const FOLLOW_EXIT = { completed: 0, failed: 1, cancelled: 2, unfollowable: 3 } as const;

const exitFor = (status: string): number => (status === 'completed' ? FOLLOW_EXIT.completed : status === 'cancelled' ? FOLLOW_EXIT.cancelled : FOLLOW_EXIT.failed);

export async function follow(ctx: Context, client: StrataRestClient, executionId: string): Promise<number> {
  try {
    return await followStream(ctx, client, executionId);
  } catch (error) {
    throw new CliError(await ctx.describe(error), FOLLOW_EXIT.unfollowable);
  }
}

async function followStream(ctx: Context, client: StrataRestClient, executionId: string): Promise<number> {
  const settings = await ctx.settings();
  // Checks access (a clear 401/403/404 before any stream) and learns each task's key.
  const detail = await client.getStatus(executionId, { include: ['detail'] });
  const keys = new Map(detail.tasks.flatMap((t) => (t.key ? [[t.id, t.key] as const] : [])));
  const { stdout } = ctx.io;
  const live = stdout.isTTY === true && !ctx.json;
  const color = live && ctx.io.env.NO_COLOR === undefined;
  const bridge = new ExecutionBridge({ ...(settings.token ? { token: settings.token } : {}), baseUrl: settings.url!, reconnect: { maxAttempts: 8 } });
  const streamUrl = `${settings.url!.replace(/^http/, 'ws')}/api/executions/${encodeURIComponent(executionId)}/stream`;

  let drawn = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const draw = () => {
    timer = undefined;
    const state = bridge.getState(executionId);
    if (!state) return;
    const lines = drawFrame(state, { columns: stdout.columns ?? 80, color, keys });
    // Back over the last frame, clear it, draw the new one.
    stdout.write(`${drawn > 0 ? `\x1b[${drawn}A\x1b[0J` : ''}${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  // At most ~10 frames a second however fast events come.
  const scheduleDraw = () => {
    timer ??= setTimeout(draw, 100);
  };

  const settled = Promise.withResolvers<ExecutionState>();
  let lastConnectionError: string | null = null;
  let sawFinal = false;
  const offEvents = bridge.on(
    '*',
    (event) => {
      const state = bridge.getState(executionId);
      if (!state) return;
      if (FINAL_EVENT_TYPES.has(event.type)) sawFinal = true;
      if (live) return scheduleDraw();
      if (ctx.json) return void stdout.write(`${JSON.stringify(event)}\n`);
      const line = eventLine(event, state, keys);
      if (line) stdout.write(`${line}\n`);
    },
    executionId,
  );
  const offState = bridge.subscribe(executionId, (state) => {
    if (state.finished) return settled.resolve(state);
    if (state.connectionError && state.connectionError !== lastConnectionError) {
      lastConnectionError = state.connectionError;
      if (state.connectionError.startsWith('gave up')) return settled.reject(new CliError(`Lost the stream of ${executionId}: ${state.connectionError}`));
      if (!live) ctx.note(`strata: stream interrupted (${state.connectionError}); reconnecting`);
      else scheduleDraw();
      void checkByRest(client, executionId, settled);
    }
  });
  try {
    await bridge.connectWebSocket(executionId, streamUrl);
    const state = await settled.promise;
    clearTimeout(timer);
    if (live) {
      draw();
      stdout.write(`${summaryLine(state)}\n`);
    } else if (ctx.json) {
      const { id, status, completedTasks, failedTasks, error } = state.execution;
      stdout.write(`${JSON.stringify({ type: 'summary', executionId: id, status, completedTasks, failedTasks, error: error ?? null, health: state.health.score })}\n`);
    } else if (!sawFinal) {
      // Followed after it had settled: no final event came, only the state.
      stdout.write(`${summaryLine(state)}\n`);
    }
    return exitFor(String(state.execution.status));
  } finally {
    clearTimeout(timer);
    offEvents();
    offState();
    bridge.disconnectAll();
  }
}

/**
 * While the stream is down, the REST status says whether it is worth waiting: an execution that
 * settled meanwhile ends the follow, a refusal (token revoked, access removed) ends it with the error.
 */
async function checkByRest(client: StrataRestClient, executionId: string, settled: PromiseWithResolvers<ExecutionState>) {
  try {
    const body = await client.getStatus(executionId);
    if (isTerminalStatus(body.execution.status) && body.execution.completedAt) {
      settled.resolve({ executionId, ...body, lastEventId: 0, connected: false, transport: null, finished: true, connectionError: null });
    }
  } catch (error) {
    if (error instanceof StrataApiError && error.status < 500) settled.reject(error);
  }
}
