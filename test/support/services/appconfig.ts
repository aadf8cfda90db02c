/**
 * `prio appconfig local` for the integration tests, in-process on a free port at a time scale of
 * 600 (a strategy minute passes in 0.1 s); reuse an existing endpoint by setting APPCONFIG_ENDPOINT.
 * Every test file shares it, so the quotas on applications and custom strategies are raised
 * far above AppConfig's 100 and 20.
 */
import type { TestService } from '../service.js';
import { startLocalAppConfig } from '../../../src/appconfig/local/index.js';

/** The time scale of the shared endpoint, for tests that reason about strategy time. */
export const TEST_TIME_SCALE = 600;

export const service: TestService = {
  name: 'appconfig',
  envVar: 'APPCONFIG_ENDPOINT',
  async start() {
    const local = await startLocalAppConfig({ host: '127.0.0.1', port: 0, timeScale: TEST_TIME_SCALE, quotas: { applications: 100_000, customStrategies: 100_000 } });
    return { address: local.url, stop: () => local.close() };
  },
};
