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

const CONNECTION_ERRORS = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/** True for the errors a lost or restarting database connection produces. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /terminating connection|Connection terminated|connection.*(closed|ended)|ECONNRESET|ECONNREFUSED/i.test(message);
}

/**
 * Database drivers can surface a dropped connection as an unhandled rejection; a database
 * restart must not take a long-lived process down with it. Those are logged and survived;
 * any other unhandled rejection still ends the process.
 */
export function surviveConnectionLoss(log: (error: unknown) => void): void {
  process.on('unhandledRejection', (reason) => {
    if (isConnectionError(reason)) {
      log(reason);
      return;
    }
    console.error('Unhandled rejection:', reason);
    process.exit(1);
  });
}
