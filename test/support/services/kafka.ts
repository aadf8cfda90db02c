/**
 * Kafka for the integration tests: a real single-node KRaft broker on free 127.0.0.1 ports,
 * its jars fetched with Maven on first use (scripts/kafka/fetch.sh). Skipped when
 * KAFKA_BROKERS already names a cluster. Stopping it deletes its data.
 */
import { join } from 'node:path';
import type { RunningService, TestService } from '../service.js';
import { crashBroker, fetchKafkaJars, newBrokerLocation, removeBrokerData, startBroker } from '../kafka/broker.js';
import { CONTROL_ENV, readControlFile, writeControlFile } from '../kafka/shared.js';

export const service: TestService = {
  name: 'kafka',
  envVar: 'KAFKA_BROKERS',
  async start(): Promise<RunningService> {
    await fetchKafkaJars();
    const location = await newBrokerLocation();
    const broker = await startBroker(location, { quickStart: true }).catch((err: unknown) => {
      removeBrokerData(location);
      throw err;
    });
    const controlFile = join(location.dataDir, 'control.json');
    writeControlFile(controlFile, broker);
    process.env[CONTROL_ENV] = controlFile;
    // Whatever happens to the test run, the broker must not outlive it.
    const killOnExit = () => {
      try {
        process.kill(-readControlFile(controlFile).pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', killOnExit);
    return {
      address: broker.brokers,
      async stop() {
        process.removeListener('exit', killOnExit);
        // The data is deleted next, so there is nothing to shut down gracefully for.
        await crashBroker(readControlFile(controlFile));
        removeBrokerData(location);
        delete process.env[CONTROL_ENV];
      },
    };
  },
};
