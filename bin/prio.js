#!/usr/bin/env node
// The `prio` binary: runs the compiled JavaScript in dist/ (built by `npm run build`, which
// `npm ci` runs through `prepare`). Nothing is transpiled at run time.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('prio is not built: run `npm run build` in its directory (npm ci does it)\n');
  process.exit(2);
}
const { main } = await import(entry.href);
const { exitQuietlyOnClosedStdout } = await import(new URL('../dist/src/cli/io.js', import.meta.url).href);
exitQuietlyOnClosedStdout();
process.exitCode = await main(process.argv);
