/**
 * Guards an entry point against the machine's end-of-life Node: the workspace pins Node 24
 * (root devDependency "node"), and everything started through pnpm runs on it.
 */
export function assertRuntime(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    console.error(
      `Strata needs Node 24 or later; this is Node ${process.versions.node}.\n` +
        'Start it through pnpm (pnpm start, pnpm test, pnpm exec ...), which uses the Node 24 the\n' +
        'workspace pins, or put node_modules/.bin first on PATH. If that binary is missing, run pnpm install.',
    );
    process.exit(1);
  }
}

/**
 * Calls `onGone` once this process's parent has died (it was reparented). Package managers
 * do not always forward SIGTERM to a script's children, so a supervised process watches for
 * itself rather than lingering as an orphan.
 */
export function onParentExit(onGone: () => void, intervalMs = 500): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  timer.unref();
}
