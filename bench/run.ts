/**
 * `pnpm bench` runs every benchmark; `pnpm bench <name>` runs one. Each writes
 * bench/results/<name>.json. Benchmarks are not tests: they measure, beside a baseline taken
 * in the same run, and report.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`Unknown benchmark: ${unknown.join(', ')}. Available: ${available.join(', ') || '(none yet)'}`);
  process.exit(1);
}
const toRun = wanted.length > 0 ? wanted : available;
if (toRun.length === 0) console.log('No benchmarks yet.');
for (const name of toRun) {
  console.log(`--- bench ${name}`);
  const module = (await import(`./${name}.bench.ts`)) as { run: () => Promise<void> };
  await module.run();
}
