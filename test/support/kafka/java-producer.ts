/**
 * The Java producer of the Kafka distribution, for tests that need topics written as production
 * producers write them (snappy, lz4, zstd, large batches, concurrent aborted transactions):
 * java/ProduceLines.java, compiled with the machine's JDK into a temporary directory against
 * the client jars scripts/kafka/fetch.sh puts in scripts/kafka/lib. Nothing compiled is kept.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fetchKafkaJars } from './broker.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const lib = join(here, '..', '..', '..', 'scripts', 'kafka', 'lib');

export interface ProduceLinesOptions {
  readonly brokers: string;
  readonly topic: string;
  /** NDJSON file; each non-blank line becomes one record value, committed once. */
  readonly file: string;
  readonly codec: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** Lines per transaction (0: no transactions). */
  readonly chunk: number;
  /** Every this-th chunk is written and aborted before it is written and committed (0: none). */
  readonly abortEvery: number;
  /** A second producer writes and aborts this many transactions meanwhile… */
  readonly noiseTransactions: number;
  /** …of this many records each. */
  readonly noiseSize: number;
}

export interface JavaProducer {
  produce(options: ProduceLinesOptions): Promise<void>;
}

/** Compiles ProduceLines.java (a few seconds), fetching the client jars first if a cluster named by KAFKA_BROKERS left them unfetched. */
export async function compileJavaProducer(): Promise<JavaProducer> {
  await fetchKafkaJars();
  const classes = mkdtempSync(join(tmpdir(), 'prio-java-producer-'));
  const classpath = `${join(lib, '*')}`;
  await run('javac', ['-nowarn', '-cp', classpath, '-d', classes, join(here, 'java', 'ProduceLines.java')]);
  return {
    async produce(o) {
      const args = [o.brokers, o.topic, o.file, o.codec, String(o.chunk), String(o.abortEvery), String(o.noiseTransactions), String(o.noiseSize)];
      const { stdout } = await run('java', ['-Xmx256m', '-cp', `${classpath}:${classes}`, 'ProduceLines', ...args], { maxBuffer: 16 * 1024 * 1024 });
      if (!stdout.includes('committed')) throw new Error(`ProduceLines wrote no summary: ${stdout}`);
    },
  };
}
