import adapter from '@sveltejs/adapter-node';
import { type Config, sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
import { streamUpgradeDevPlugin } from './src/dev-upgrade-plugin.ts';

/**
 * The pages' Content-Security-Policy. SvelteKit adds a nonce for its inline bootstrap script
 * (a hash on prerendered pages), so scripts come only from this origin. Style attributes stay
 * allowed (`style:width` renders one); style elements and sheets come from this origin only.
 * The app frames nothing of its own: the outbox's mail preview is a sandboxed `srcdoc` frame,
 * which inherits this policy (no remote images, no style elements in a previewed mail).
 * Responses that are not pages get a stricter policy (packages/api/src/transport-security.ts).
 */
const contentSecurityPolicy: Config['csp'] = {
  mode: 'auto',
  directives: {
    'default-src': ['self'],
    'script-src': ['self'],
    'style-src': ['self'],
    'style-src-attr': ['unsafe-inline'],
    'img-src': ['self', 'data:'],
    'font-src': ['self'],
    'connect-src': ['self'],
    'frame-src': ['self'],
    'object-src': ['none'],
    'base-uri': ['self'],
    'form-action': ['self'],
    'frame-ancestors': ['none'],
  },
};

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter(),
      // SvelteKit's own origin check is off ('*' is its only switch): it refuses bodiless API
      // POSTs without an Origin (curl with a Bearer token). Our check replaces it for every
      // route, form actions included: src/hooks.server.ts.
      csrf: { trustedOrigins: ['*'] },
      csp: contentSecurityPolicy,
    }),
    streamUpgradeDevPlugin(),
  ],
});
