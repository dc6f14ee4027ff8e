import type { Permission, Principal } from '@strata/auth';
import { createSchedule, deleteSchedule, findSchedule, getSchedule, listScheduleRuns, listSchedules, updateSchedule } from '@strata/engine';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { createScheduleInput, listSchedulesInput, scheduleIdInput, scheduleRunsInput, updateScheduleInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

/** The schedule's workspace role check: 404 when it does not exist, 403 when the caller may not act on it. */
async function authorizeSchedule(ctx: ApiContext & { principal: Principal }, id: string, permission: Permission) {
  const found = await findSchedule(ctx.db, id);
  if (!found) throw notFound('Schedule not found');
  await requireRole(ctx, found.workspaceId, permission);
  return found;
}

/** Starts of a strategy on a timetable: viewers read them, operators and above write them. */
export const schedulesRouter = router({
  create: authedProcedure.input(createScheduleInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'execute');
    return { schedule: await createSchedule(ctx.db, { ...input, createdBy: ctx.principal.user.id }) };
  }),
  list: authedProcedure.input(listSchedulesInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return { schedules: await listSchedules(ctx.db, input) };
  }),
  get: authedProcedure.input(scheduleIdInput).query(async ({ ctx, input }) => {
    await authorizeSchedule(ctx, input.id, 'read');
    return { schedule: await getSchedule(ctx.db, input.id) };
  }),
  /** Any of cron/runAt/timezone/input/enabled; a change of timing or of enabled recomputes nextRunAt. */
  update: authedProcedure.input(updateScheduleInput).mutation(async ({ ctx, input }) => {
    await authorizeSchedule(ctx, input.id, 'execute');
    const { id, ...patch } = input;
    return { schedule: await updateSchedule(ctx.db, id, patch) };
  }),
  delete: authedProcedure.input(scheduleIdInput).mutation(async ({ ctx, input }) => {
    await authorizeSchedule(ctx, input.id, 'execute');
    await deleteSchedule(ctx.db, input.id);
    return { success: true as const };
  }),
  /** The schedule's latest ticks, newest first: started (with its execution), missed, or failed (with why). */
  runs: authedProcedure.input(scheduleRunsInput).query(async ({ ctx, input }) => {
    await authorizeSchedule(ctx, input.id, 'read');
    return { runs: await listScheduleRuns(ctx.db, input.id, input.limit) };
  }),
});
