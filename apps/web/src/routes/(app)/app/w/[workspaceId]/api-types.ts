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

/** `GET /api/webhooks?workspaceId=` → webhooks (never their secrets) */
export type WebhookInfo = Json<Outputs['webhooks']['list']['webhooks'][number]>;
/** `POST /api/webhooks`: the signing secret is in `webhook.secret`, this once. */
export type CreatedWebhook = Json<Outputs['webhooks']['create']['webhook']>;
/** `GET /api/webhooks/:id/deliveries` */
export type WebhookDeliveryPage = Json<Outputs['webhooks']['deliveries']>;
export type WebhookDelivery = WebhookDeliveryPage['deliveries'][number];
