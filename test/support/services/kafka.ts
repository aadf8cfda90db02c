/**
 * Kafka for the integration tests: a real single-node KRaft broker on free 127.0.0.1 ports,
 * its jars fetched with Maven on first use (scripts/kafka/fetch.sh). Skipped when
 * KAFKA_BROKERS already names a cluster. Stopping it deletes its data.
 */
import { join } from 'node:path';
import type { RunningService, TestService } from '../service.js';
import { crashBroker, fetchKafkaJars, killBroker, newBrokerLocation, removeBrokerData, startBroker, type BrokerLocation, type BrokerProcess } from '../kafka/broker.js';
import { CONTROL_ENV, readControlFile, writeControlFile } from '../kafka/shared.js';

export const service: TestService = {
  name: 'kafka',
  envVar: 'KAFKA_BROKERS',
  async start(): Promise<RunningService> {
    await fetchKafkaJars();
    // Free ports are found before the broker binds them; should another process take one in
    // between, the broker exits at once and a second location is tried.
    let started: { location: BrokerLocation; broker: BrokerProcess } | undefined;
    for (let attempt = 1; started === undefined; attempt++) {
      const location = await newBrokerLocation();
      try {
        started = { location, broker: await startBroker(location, { quickStart: true }) };
      } catch (err) {
        removeBrokerData(location);
        if (attempt >= 2) throw err;
      }
    }
    const { location, broker } = started;
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
        try {
          await crashBroker(readControlFile(controlFile));
        } finally {
          // The first broker too, should a restart have recorded a pid that never took over.
          killBroker(broker.pid);
          removeBrokerData(location);
          delete process.env[CONTROL_ENV];
        }
      },
    };
  },
};
