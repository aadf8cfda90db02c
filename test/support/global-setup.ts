/**
 * Starts the real services integration tests need, once per test run, and hands their
 * addresses to the tests through environment variables.
 *
 * First it builds dist/ if it is missing or stale: the CLI the tests spawn runs compiled code.
 *
 * Each file in test/support/services/ exports `service: TestService`. A service whose
 * variable is already set (say KAFKA_BROKERS for an existing cluster) is not started.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBuilt } from './build.js';
import type { TestService } from './service.js';

const servicesDir = join(dirname(fileURLToPath(import.meta.url)), 'services');

export default async function setup(): Promise<() => Promise<void>> {
  ensureBuilt();
  const files = (existsSync(servicesDir) ? readdirSync(servicesDir) : []).filter((f) => f.endsWith('.ts')).sort();
  const services: TestService[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(servicesDir, f)).href)) as { service: TestService };
    services.push(mod.service);
  }
  const started = await Promise.all(
    services.map(async (s) => {
      if (process.env[s.envVar]) return undefined;
      const running = await s.start();
      process.env[s.envVar] = running.address;
      return running;
    }),
  );
  return async () => {
    await Promise.all(started.map((r) => r?.stop()));
  };
}
