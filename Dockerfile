# One image for both apps; docker-compose.yml runs it as `web` and as `worker`.
FROM node:24-bookworm-slim AS build
RUN npm install -g pnpm@12.4.2
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile && pnpm --filter @strata/web build

FROM node:24-bookworm-slim
RUN npm install -g pnpm@12.4.2
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production PORT=3008 HOST=0.0.0.0
# 3008: the web app (and its /metrics); 9464: a worker's /metrics (WORKER_METRICS_PORT)
EXPOSE 3008 9464
# The web app by default; the worker service overrides the command. The V8 flag is the one
# packages/launcher/src/apps.ts gives the web (WEB_NODE_FLAGS: a smaller young generation).
CMD ["node", "--max-semi-space-size=16", "apps/web/server.ts"]
