#!/usr/bin/env node
/**
 * `npm run build` (run by `npm ci` through `prepare`): compiles src/ to dist/ with tsc
 * (tsconfig.build.json: JavaScript, declarations, source maps), then writes
 * dist/src/cli/commands.json — the name, usage and description of every top-level command, so
 * `prio --help` lists them without loading a single command group — and dist/build-info.json,
 * the hash of every input, by which `--if-stale` skips a build that would change nothing.
 *
 *   node scripts/build.mjs              build
 *   node scripts/build.mjs --if-stale   build only when dist/ is missing or older than its inputs
 *
 * Built beside dist/ and renamed into place, so a CLI started meanwhile never sees half a build.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const INFO = 'build-info.json';

/** Every file the build reads: the sources, the JSON schemas they import, the configs, this script. */
function inputs() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(root, 'src'));
  for (const dir of ['rules/schema', 'migrations/schema', 'shadow/schema']) if (existsSync(join(root, dir))) walk(join(root, dir));
  files.push(join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json'), fileURLToPath(import.meta.url));
  return files.map((f) => relative(root, f).split('\\').join('/')).sort();
}

/** One hash over the inputs' names and contents. */
export function inputHash() {
  const hash = createHash('sha256');
  for (const file of inputs()) hash.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0');
  return hash.digest('hex');
}

/** Whether dist/ was built from the inputs as they are now. */
export function isFresh(hash = inputHash()) {
  try {
    return JSON.parse(readFileSync(join(dist, INFO), 'utf8')).inputHash === hash;
  } catch {
    return false;
  }
}

export async function build() {
  const hash = inputHash();
  const out = `${dist}.tmp-${process.pid}`;
  rmSync(out, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'inherit' });
  if (compiled.status !== 0) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`tsc failed (exit ${compiled.status ?? compiled.signal})`);
  }
  // The manifest comes from the compiled command tree itself, so it says what the commands say.
  const { buildProgram } = await import(pathToFileURL(join(out, 'src', 'cli', 'main.js')).href);
  const program = await buildProgram({ out: () => undefined, err: () => undefined }, () => undefined);
  const help = program.createHelp();
  const manifest = program.commands
    .filter((c) => c.name() !== 'help')
    .map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: help.subcommandDescription(c) }));
  writeFileSync(join(out, 'src', 'cli', 'commands.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(out, INFO), `${JSON.stringify({ inputHash: hash }, null, 2)}\n`);
  rmSync(dist, { recursive: true, force: true });
  renameSync(out, dist);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && isFresh()) process.exit(0);
  try {
    await build();
  } catch (err) {
    process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
