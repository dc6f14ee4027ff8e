// Fails the install loudly when the workspace's pinned Node runtime is missing, e.g. after
// `pnpm install --ignore-scripts` skipped the `node` package's preinstall.
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

const bin = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'node_modules', '.bin', 'node');
let ok = false;
try {
  ok = existsSync(bin) && existsSync(realpathSync(bin));
} catch {
  ok = false;
}
const major = Number(process.versions.node.split('.')[0]);
if (!ok || major < 24) {
  console.error(
    [
      '',
      '  Strata pins Node 24 inside the workspace (root devDependency "node").',
      `  Found: ${ok ? `the pinned binary, but this script ran on Node ${process.versions.node}` : 'no pinned binary in node_modules/.bin/node'}.`,
      '  Fix: run `pnpm install` again without --ignore-scripts, and make sure',
      '  pnpm-workspace.yaml allows the `node` package to build (allowBuilds: node: true).',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
