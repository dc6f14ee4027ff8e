import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
import { streamUpgradeDevPlugin } from './src/dev-upgrade-plugin.ts';

export default defineConfig({
  plugins: [sveltekit({ adapter: adapter() }), streamUpgradeDevPlugin()],
});
