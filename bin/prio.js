#!/usr/bin/env node
// The `prio` binary: runs the TypeScript sources through tsx so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const { exitQuietlyOnClosedStdout } = await import('../src/cli/output.ts');
exitQuietlyOnClosedStdout();
process.exitCode = await main(process.argv);
