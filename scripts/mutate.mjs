#!/usr/bin/env node
// `npm run mutate -- <part>`: StrykerJS (vitest runner) over src/<part> with that part's tests
// only, configured by stryker.config.mjs. Prints Stryker's report; the JSON lands in
// reports/mutation/<part>.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const part = process.argv[2];
const parts = readdirSync('src', { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
if (part === undefined || !parts.includes(part)) {
  console.error(`usage: npm run mutate -- <part>\nparts: ${parts.join(', ')}`);
  process.exit(2);
}
if (!readdirSync('test/unit').some((f) => f.startsWith(part)) && !(existsSync('test/property') && readdirSync('test/property').some((f) => f.startsWith(part)))) {
  console.error(`no tests named test/unit/${part}* or test/property/${part}*`);
  process.exit(2);
}
const result = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...process.argv.slice(3)], {
  stdio: 'inherit',
  // PRIO_MUTATION lets property tests run fewer cases per mutant (they run once per mutant).
  env: { ...process.env, PRIO_MUTATE_PART: part, PRIO_MUTATION: '1' },
});
process.exit(result.status ?? 1);
