import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_DIR = fileURLToPath(new URL('../../../apps/web/', import.meta.url));
export const WORKER_DIR = fileURLToPath(new URL('../../../apps/worker/', import.meta.url));
