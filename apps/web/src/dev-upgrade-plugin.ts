import type { Plugin } from 'vite';
import { handleUpgrade } from './upgrade.ts';

/** In `vite dev`, attach the same WebSocket upgrade handler the production server uses. */
export function streamUpgradeDevPlugin(): Plugin {
  return {
    name: 'strata-stream-upgrade',
    configureServer(server) {
      server.httpServer?.on('upgrade', (request, socket, head) => {
        if (request.headers['sec-websocket-protocol'] === 'vite-hmr' || request.url?.startsWith('/@')) return;
        handleUpgrade(request, socket, head);
      });
    },
  };
}
