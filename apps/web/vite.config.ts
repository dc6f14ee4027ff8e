import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
import { streamUpgradeDevPlugin } from './src/dev-upgrade-plugin.ts';

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter(),
      // SvelteKit's own origin check is off ('*' is its only switch): it refuses bodiless API
      // POSTs without an Origin (curl with a Bearer token). Our check replaces it for every
      // route, form actions included: src/hooks.server.ts.
      csrf: { trustedOrigins: ['*'] },
    }),
    streamUpgradeDevPlugin(),
  ],
});
