import { authedProcedure, router } from '../trpc.ts';

export const agentsRouter = router({
  /** Every agent type this server runs, built-in and custom, with its input's JSON Schema and an example. */
  list: authedProcedure.query(({ ctx }) => ({ agents: ctx.agents.catalog() })),
});
