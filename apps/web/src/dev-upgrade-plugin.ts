import type { Plugin } from 'vite';

/**
 * In `vite dev`, the execution stream (SSE and WebSocket) is served by the same module the
 * production server uses, in front of SvelteKit's middleware.
 */
export function streamUpgradeDevPlugin(): Plugin {
  return {
    name: 'strata-execution-stream',
    async configureServer(server) {
      const { createLogger, loadConfig } = await import('@strata/config');
      const config = loadConfig();
      if (!config.DATABASE_URL) return;
      const { createStreamServer } = await import('./stream-server.ts');
      const { guardUpgrades } = await import('./http-guard.ts');
      const logger = createLogger('web', config.LOG_LEVEL, config.LOG_FORMAT);
      const streams = createStreamServer({ databaseUrl: config.DATABASE_URL, logger, transport: { origin: config.ORIGIN, trustProxy: config.TRUST_PROXY } });
      const { inRequestScope, scopeUpgrades } = await import('./request-scope.ts');
      const streamUpgrade = scopeUpgrades(guardUpgrades(logger, (request, socket, head) => streams.handleUpgrade(request, socket, head)));
      server.middlewares.use((req, res, next) => inRequestScope(req, res, next));
      server.middlewares.use((req, res, next) => {
        if (!streams.handleRequest(req, res)) next();
      });
      server.httpServer?.on('upgrade', (request, socket, head) => {
        if (request.headers['sec-websocket-protocol'] === 'vite-hmr' || !request.url?.startsWith('/api/')) return;
        streamUpgrade(request, socket, head);
      });
      server.httpServer?.once('close', () => void streams.close());
    },
  };
}
