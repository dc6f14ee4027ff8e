import type { AppRouter } from '@strata/api';
import type { inferRouterOutputs } from '@trpc/server';

/** A procedure's output as it arrives over REST: JSON, so dates are ISO strings. */
export type Json<T> = T extends Date ? string : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

type Outputs = inferRouterOutputs<AppRouter>;

/** `GET /api/tokens?workspaceId=` → tokens */
export type ApiTokenInfo = Json<Outputs['tokens']['list']['tokens'][number]>;
/** `POST /api/tokens`: the secret is in `token`, this once. */
export type CreatedApiToken = Json<Outputs['tokens']['create']>;

/** `GET /api/executions` */
export type ExecutionPage = Json<Outputs['executions']['list']>;
export type ExecutionRow = ExecutionPage['executions'][number];
