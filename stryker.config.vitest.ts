// Vitest settings for mutation runs: the scheduler's unit and property tests only, and no
// global setup (mutation runs need no Kafka or DynamoDB). Selected by scripts/mutate.mjs.
import { defineConfig } from 'vitest/config';

const part = process.env.PRIO_MUTATE_PART ?? 'scheduler';

export default defineConfig({
  test: {
    include: [`test/unit/${part}*.test.ts`, `test/property/${part}*.test.ts`],
    // A test that needs more than this under a mutant hangs (a promise the mutant never settles):
    // failing it early counts the mutant as killed without waiting out a minute per mutant.
    testTimeout: 15_000,
  },
});
