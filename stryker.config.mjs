// StrykerJS for one part of the project at a time; run through `npm run mutate -- <part>`
// (scripts/mutate.mjs sets PRIO_MUTATE_PART). Mutation testing is CPU-heavy: one worker, and
// never part of `npm test`.
const part = process.env.PRIO_MUTATE_PART ?? 'scheduler';

/**
 * Source files whose mutants are judged, per part: all of the part's code except index.ts
 * re-exports and declaration-only files, which hold nothing a mutant could change.
 */
const mutateByPart = {
  scheduler: ['src/scheduler/**/*.ts', '!src/scheduler/**/index.ts', '!src/scheduler/core/types.ts'],
  tokens: ['src/tokens/**/*.ts', '!src/tokens/index.ts'],
  rules: ['src/rules/**/*.ts', '!src/rules/index.ts'],
  // The pure heart of the part: the decider and the views folded from its events.
  migration: ['src/migration/decider.ts', 'src/migration/projections.ts'],
};

export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'stryker.config.vitest.ts', related: false },
  mutate: mutateByPart[part] ?? [`src/${part}/**/*.ts`],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 20_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${part}.json` },
  // Re-runs only mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: `reports/mutation/${part}.incremental.json`,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['.prio', '.cache', 'reports', 'out', 'scripts/kafka/lib', 'scripts/kafka/target'],
};
