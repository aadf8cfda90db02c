import { defineConfig } from 'vitest/config';

// Integration tests start real services (Kafka, DynamoDB Local) once, in the global setup,
// and share them through environment variables; unit and property tests never touch them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    pool: 'forks',
  },
});
