/**
 * The broker the global test setup started, as seen from a test worker: tests that need the
 * broker to go away (a crash mid-replay) and come back use `sharedBroker()`. The setup writes
 * the broker's location and current pid to a small JSON file named by KAFKA_TEST_CONTROL; a
 * restart from a worker updates the pid there so the setup's teardown stops the right process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { crashBroker, startBroker, type BrokerProcess } from './broker.js';

export const CONTROL_ENV = 'KAFKA_TEST_CONTROL';

export function writeControlFile(file: string, broker: BrokerProcess): void {
  writeFileSync(file, JSON.stringify(broker));
}

export function readControlFile(file: string): BrokerProcess {
  return JSON.parse(readFileSync(file, 'utf8')) as BrokerProcess;
}

export interface SharedBroker {
  readonly brokers: string;
  /** Kills the broker process (SIGKILL) and waits until its port is closed. */
  crash(): Promise<void>;
  /** Starts it again on the same ports and data (topics and committed offsets survive). */
  start(): Promise<void>;
}

/** The broker started by the test setup, or undefined when KAFKA_BROKERS names a cluster the tests did not start. */
export function sharedBroker(): SharedBroker | undefined {
  const file = process.env[CONTROL_ENV];
  if (!file) return undefined;
  return {
    brokers: readControlFile(file).brokers,
    crash: () => crashBroker(readControlFile(file)),
    start: async () => {
      const restarted = await startBroker(readControlFile(file), { quickStart: true });
      writeControlFile(file, restarted);
    },
  };
}
