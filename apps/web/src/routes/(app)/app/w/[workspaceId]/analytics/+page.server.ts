import { analyticsRangeSchema, lastDays } from '@strata/engine';
import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { PageServerLoad } from './$types';

/** The ranges offered as links, each ending today (UTC). */
const PRESET_DAYS = [7, 30, 90] as const;

/**
 * The range is the URL's `from` and `to` (so a link shares it), judged by the same rule as the
 * API; a refused one is shown beside the form instead of an error page.
 */
export const load: PageServerLoad = async (event) => {
  const { me } = await event.parent();
  const { workspace } = workspaceOf(me, event.params.workspaceId);
  const query = { from: event.url.searchParams.get('from') || undefined, to: event.url.searchParams.get('to') || undefined };
  const presets = PRESET_DAYS.map((days) => lastDays(days));
  const checked = analyticsRangeSchema.safeParse(query);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const field = String(issue?.path[0] ?? 'from');
    return { workspace, presets, query, refusal: { field, message: `${field}: ${issue?.message ?? 'invalid range'}` }, summary: null };
  }
  const summary = await withCaller(event, (caller) => caller.analytics.summary({ workspaceId: workspace.id, ...query }));
  return { workspace, presets, query, refusal: null, summary };
};
