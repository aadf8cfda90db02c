/**
 * The tests that spawn the CLI (`node bin/prio.js …`) and the judge workers run the compiled
 * dist/, so the global setup builds it first — once, and only when it is missing or was built
 * from other sources (scripts/build.mjs --if-stale compares a hash of every input).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Builds dist/ unless it is current; throws with tsc's output when the build fails. */
export function ensureBuilt(): void {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`npm run build failed (exit ${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
}
