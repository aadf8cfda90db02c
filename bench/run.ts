/**
 * `npm run bench -- <suite> [--json] [suite args]`: runs bench/<suite>.ts, which exports
 * `suite: BenchSuite`, and prints its report as JSON (--json) or as a table.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchSuite } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'harness.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''));

const args = process.argv.slice(2);
const json = args.includes('--json');
const [name, ...rest] = args.filter((a) => a !== '--json');
if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <suite> [--json]\nsuites: ${available.join(', ')}\n`);
  process.exit(2);
}
const { suite } = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { suite: BenchSuite };
const report = await suite({ args: rest, log: (m) => process.stderr.write(`${m}\n`) });
if (json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  process.stdout.write(`suite: ${report.suite}\n`);
  for (const r of report.results) process.stdout.write(`  ${r.name.padEnd(24)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(14)} ops/s\n`);
  for (const t of report.targets ?? []) process.stdout.write(`  ${t.met ? 'MET ' : 'MISS'} ${t.target}: ${t.measured}\n`);
}
