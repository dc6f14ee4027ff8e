export { type ApiContext, type ApiDeps, createContext } from './context.ts';
export { errorResponse, handleRest, MAX_BODY_BYTES } from './rest/handler.ts';
export { openApiDocument } from './openapi.ts';
export { pruneRateLimits, type RateLimits } from './rate-limit.ts';
export { type AppRouter, appRouter, createCaller } from './root.ts';
export { StatusCache } from './status-cache.ts';
