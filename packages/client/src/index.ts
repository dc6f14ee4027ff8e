export { createStrataClient, type StrataClient, type StrataClientOptions } from './trpc.ts';
export { StrataApiError, StrataRestClient, type ControlResponse, type RestClientOptions, type StartResponse } from './rest.ts';
