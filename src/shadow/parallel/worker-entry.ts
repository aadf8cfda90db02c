/**
 * Which script a judge worker runs. Preferred: worker.ts and everything it imports bundled by
 * esbuild into one plain ES module, cached in node_modules/.cache — a worker then starts in
 * about a third of the time and memory it takes under tsx, which runs a module-loader thread of
 * its own in every worker and resolves each of some eighty modules through it. The bundle is
 * rebuilt whenever one of its input files changes (their sizes and times are kept beside it).
 * Fallback, when esbuild is missing or fails: worker-boot.mjs, which registers tsx and loads
 * worker.ts from source. Either way the same code judges. An I/O edge (files, a build).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WORKER_SOURCE = join(here, 'worker.ts');
/** Inside the package (where build tools keep their caches), not in a temp directory others can write to. */
const CACHE_DIR = join(here, '..', '..', '..', 'node_modules', '.cache', 'prio-judge-worker');
const TSX_ENTRY = new URL('./worker-boot.mjs', import.meta.url);

interface BundleInputs {
  /** Absolute path → `size:mtimeMs` when the bundle was built. */
  readonly files: Record<string, string>;
}

const stamp = (file: string): string | undefined => {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
};

/** The cached bundle, if it was built from the input files as they are now. */
function cachedBundle(bundle: string, inputsFile: string): string | undefined {
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8')) as BundleInputs;
    const files = Object.entries(inputs.files);
    if (files.length === 0 || stamp(bundle) === undefined) return undefined;
    return files.every(([file, was]) => stamp(file) === was) ? bundle : undefined;
  } catch {
    return undefined;
  }
}

async function buildBundle(bundle: string, inputsFile: string): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [WORKER_SOURCE],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    write: false,
    metafile: true,
    logLevel: 'silent',
    // Bundled CommonJS dependencies may require Node's own modules; give them a require.
    banner: { js: "import { createRequire as prioCreateRequire } from 'node:module'; const require = prioCreateRequire(import.meta.url);" },
  });
  const code = result.outputFiles[0]?.contents;
  if (code === undefined) throw new Error('esbuild produced no output');
  const files: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = resolve(process.cwd(), input);
    const was = stamp(file);
    if (was === undefined) throw new Error(`cannot stat bundle input ${file}`);
    files[file] = was;
  }
  mkdirSync(dirname(bundle), { recursive: true });
  // Written under temporary names and renamed: a concurrent replay never reads half a file.
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(bundle + suffix, code);
  writeFileSync(inputsFile + suffix, JSON.stringify({ files } satisfies BundleInputs));
  renameSync(bundle + suffix, bundle);
  renameSync(inputsFile + suffix, inputsFile);
  return bundle;
}

let entry: Promise<URL> | undefined;

/** The URL a judge worker is started from (resolved once per process). */
export function workerEntry(): Promise<URL> {
  entry ??= (async () => {
    // One cache entry per Node version (the bundle targets it).
    const key = createHash('sha256').update(`${WORKER_SOURCE}\n${process.versions.node}`).digest('hex').slice(0, 16);
    const bundle = join(CACHE_DIR, `${key}.mjs`);
    const inputsFile = join(CACHE_DIR, `${key}.inputs.json`);
    try {
      return pathToFileURL(cachedBundle(bundle, inputsFile) ?? (await buildBundle(bundle, inputsFile)));
    } catch {
      return TSX_ENTRY;
    }
  })();
  return entry;
}
