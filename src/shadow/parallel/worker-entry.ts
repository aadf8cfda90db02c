/**
 * Which script a judge worker runs: worker.js, compiled by `npm run build` (tsc) like the rest
 * of prio. Nothing is transpiled or bundled at run time. Run from dist/ (the CLI, the package)
 * that is the worker.js beside this module; run from the TypeScript sources (the tests, which
 * build dist/ first in their global setup) it is the same file under dist/. An I/O edge (a file).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../../config/index.js';

/** The compiled worker for a module at `moduleFile` (this one), whether that is src/…/x.ts or dist/src/…/x.js. */
function compiledWorkerPath(moduleFile: string, packageRoot: string = PACKAGE_ROOT): string {
  const here = dirname(moduleFile);
  if (moduleFile.endsWith('.js')) return join(here, 'worker.js');
  return join(packageRoot, 'dist', relative(packageRoot, here), 'worker.js');
}

let entry: Promise<URL> | undefined;

/** The URL a judge worker is started from (resolved once per process). */
export function workerEntry(): Promise<URL> {
  entry ??= (async () => {
    const file = compiledWorkerPath(fileURLToPath(import.meta.url));
    if (!existsSync(file)) throw new Error(`the judge worker ${file} is not built: run npm run build (or use --workers 0)`);
    return pathToFileURL(file);
  })();
  return entry;
}
