import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const AGENTS = fileURLToPath(new URL('./test-agents.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A real worker process (src/main.ts) running the test agents. */
export async function spawnWorker(databaseUrl: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
      STRATA_AGENT_MODULES: AGENTS,
      TASK_LEASE_SECONDS: '3',
      WORKER_SWEEP_INTERVAL_MS: '500',
      WORKER_CONCURRENCY: '4',
      TASK_RETRY_BASE_MS: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left behind by a caller that gives up on it
      reject(new Error(`worker not ready: ${output}`));
    }, 30_000);
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${output}`)));
    const poll = () => {
      if (!output.includes('worker ready')) return void setTimeout(poll, 50);
      clearTimeout(timer);
      resolve();
    };
    poll();
  });
  return {
    child,
    pid: child.pid!,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}
