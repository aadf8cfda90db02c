/**
 * `npm run bench -- shadow-kafka [--json] [--records N] [--rounds N] [--partitions N] [--workers N] [--codec C]`,
 * and the Kafka half of `npm run bench -- shadow` (which calls `benchShadowKafka` with its own log).
 *
 * Loads the generated log into a topic of a real broker (started here on a free port unless
 * KAFKA_BROKERS names one), then, in the same process run and on the same topic, measures:
 *   - prio: the shadow replay reading from Kafka (source, parse, validate, both rule sets, both
 *     token readers, aggregates) — what `prio shadow replay --kafka-brokers` does minus files,
 *     with its default worker threads (`--workers N` to choose);
 *   - prio:single-thread: the same replay judged in one thread (`--workers 0`);
 *   - prio:kafka-source: prio's Kafka source alone (values handed out untouched);
 *   - kcat: `kcat -C -o beginning -e` printing every value, the peer a user would reach for.
 * With `--codec gzip|snappy|lz4|zstd` the topic is written compressed, and two more passes read
 * it in the same rounds: prio's Kafka source as a consumer-group member
 * (`prio:kafka-source:group`), and kafkajs's own consumer in a group (`kafkajs:consumer`, its
 * codecs as prio registers them), the peer for codecs kcat may lack.
 * Every pass must see every record (counts and bytes are checked, and kcat's first messages of
 * partition 0 are compared with prio's). Rounds interleave the passes so background load hits
 * all alike; the best round of each counts. Target: replay >= 50% of kcat's rate.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { compared, defaultWorkerCount, KAFKA_CODECS, kafkaSource, produceLog, type KafkaCodec } from '../src/shadow/index.js';
import kafkajs from 'kafkajs';
import { fetchKafkaJars, newBrokerLocation, removeBrokerData, startBroker, stopBroker } from '../test/support/kafka/broker.js';
import type { BenchOptions, BenchReport, BenchResult, BenchSuite } from './harness.js';
import { argValue, benchLog, replaySource, reportBytes, type ShadowBenchContext } from './shadow.js';

const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')} records/s`;

interface PassResult {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  /** CPU seconds of this process (all its threads; kcat's own CPU is not counted). */
  readonly cpuSeconds: number;
}

async function timed(fn: () => Promise<{ records: number; bytes: number }>): Promise<PassResult> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const { records, bytes } = await fn();
  const used = process.cpuUsage(cpu);
  return { records, bytes, seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: (used.user + used.system) / 1e6 };
}

function kcatAvailable(): boolean {
  return spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** kcat consuming the whole topic, values one per line; counted as they arrive (cheap: newline scan). */
function kcatPass(brokers: string, topic: string): Promise<{ records: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let records = 0;
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) records++;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`kcat exited with ${code}: ${stderr}`));
      // kcat printed value + newline per record; report value bytes like the other passes.
      else resolve({ records, bytes: bytes - records });
    });
  });
}

async function sourcePass(brokers: string[], topic: string, group?: string): Promise<{ records: number; bytes: number }> {
  let records = 0;
  let bytes = 0;
  for await (const batch of kafkaSource({ brokers, topic, window: { from: 'beginning' }, ...(group === undefined ? {} : { group }) }).batches()) {
    records += batch.length;
    for (const r of batch) bytes += r.value?.length ?? 0;
  }
  return { records, bytes };
}

/** kafkajs's consumer in a fresh group, alone, until every partition reaches its high-water mark at start. */
async function kafkajsPass(brokers: string[], topic: string): Promise<{ records: number; bytes: number }> {
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `prio-bench-${randomUUID()}`, maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 32 * 1024 * 1024, maxWaitTimeInMs: 250 });
  let records = 0;
  let bytes = 0;
  const open = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    if (open.size === 0) resolve();
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) bytes += m.value?.length ?? 0;
          records += batch.messages.length;
          if (Number(batch.lastOffset()) + 1 >= (ends.get(batch.partition) ?? 0)) open.delete(batch.partition);
          if (open.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return { records, bytes };
}

async function replayPass(brokers: string[], topic: string, workers: number): Promise<{ records: number; bytes: number; compared: number; report: string }> {
  const agg = await replaySource(kafkaSource({ brokers, topic, window: { from: 'beginning' } }), workers);
  return { records: agg.read, bytes: Number.NaN, compared: compared(agg), report: reportBytes(agg) };
}

/** kcat's and prio's first `n` values of partition 0 must be the same bytes. */
async function agreeOnSample(brokers: string[], topic: string, n: number): Promise<void> {
  const kcat = spawnSync('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-p', '0', '-o', 'beginning', '-c', String(n), '-e', '-q', '-f', '%s\n'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  if (kcat.status !== 0) throw new Error(`kcat sample failed: ${String(kcat.stderr)}`);
  const fromKcat = kcat.stdout.toString('utf8').split('\n').slice(0, n);
  const fromPrio: string[] = [];
  const source = kafkaSource({ brokers, topic, window: { from: 'beginning' } });
  for await (const batch of source.batches()) {
    for (const r of batch) if (r.position.kind === 'kafka' && r.position.partition === 0 && fromPrio.length < n) fromPrio.push(Buffer.from(r.value ?? []).toString('utf8'));
  }
  if (fromKcat.length !== n || fromKcat.some((v, i) => v !== fromPrio[i])) throw new Error('kcat and prio disagree on the first records of partition 0');
}

interface KafkaBenchOptions {
  readonly file: string;
  readonly records: number;
  readonly rounds: number;
  readonly partitions: number;
  /** Result name of the replay: `prio` in this suite, `prio:kafka` inside the shadow suite. */
  readonly replayName: string;
  /** Worker threads of the default replay. */
  readonly workers: number;
  readonly log: (message: string) => void;
  /** Compression of the topic's batches; anything but none adds the group passes. */
  readonly codec: KafkaCodec;
}

async function measure(options: KafkaBenchOptions): Promise<Pick<BenchReport, 'results' | 'targets'>> {
  const { file, records, rounds, log } = options;
  // Without kcat, prio's figures are still measured; the target is reported as not checked.
  const withKcat = kcatAvailable();
  if (!withKcat) log('kcat is not installed (Debian package kcat: apt-get install -y kcat): measuring prio alone');
  let ownBroker: Awaited<ReturnType<typeof startBroker>> | undefined;
  let brokerList = process.env.KAFKA_BROKERS;
  if (!brokerList) {
    log('starting a local Kafka broker ...');
    await fetchKafkaJars();
    ownBroker = await startBroker(await newBrokerLocation());
    brokerList = ownBroker.brokers;
  }
  const brokers = brokerList.split(',');
  const topic = `prio-bench-${records}-${randomUUID().slice(0, 8)}`;
  try {
    log(`producing ${records.toLocaleString('en-US')} records into ${topic} (${options.partitions} partitions) ...`);
    const produceStart = process.hrtime.bigint();
    const produced = await produceLog({ brokers, file, topic, partitions: options.partitions, compression: options.codec });
    const produceSeconds = Number(process.hrtime.bigint() - produceStart) / 1e9;
    if (produced.produced !== records) throw new Error(`produced ${produced.produced} of ${records} records`);
    log(`produced in ${produceSeconds.toFixed(1)} s (${rate(records / produceSeconds)})`);

    if (withKcat) await agreeOnSample(brokers, topic, 1000);
    const { workers } = options;
    let kcatBest: PassResult | undefined;
    let sourceBest: PassResult | undefined;
    let replayBest: PassResult | undefined;
    let singleBest: PassResult | undefined;
    let singleReport: string | undefined;
    const withGroups = options.codec !== 'none';
    let groupBest: PassResult | undefined;
    let kafkajsBest: PassResult | undefined;
    const best = (a: PassResult | undefined, b: PassResult) => (a === undefined || b.seconds < a.seconds ? b : a);
    const replayed = (passWorkers: number) =>
      timed(async () => {
        const r = await replayPass(brokers, topic, passWorkers);
        if (r.compared !== records) throw new Error(`the replay (${passWorkers} workers) compared ${r.compared} of ${records} records`);
        // Threaded and single-threaded replays must come to the same report.
        singleReport ??= r.report;
        if (r.report !== singleReport) throw new Error(`the replay with ${passWorkers} workers wrote a different report`);
        return r;
      });
    for (let round = 1; round <= rounds; round++) {
      const kcat = withKcat ? await timed(() => kcatPass(brokers.join(','), topic)) : undefined;
      const source = await timed(() => sourcePass(brokers, topic));
      const single = await replayed(0);
      const threaded = await replayed(workers);
      const grouped = withGroups ? await timed(() => sourcePass(brokers, topic, `prio-bench-${randomUUID()}`)) : undefined;
      const viaKafkajs = withGroups ? await timed(() => kafkajsPass(brokers, topic)) : undefined;
      for (const [name, pass] of [['kcat', kcat], ['prio source', source], ['prio replay', threaded], ['prio single-thread replay', single], ['prio group source', grouped], ['kafkajs consumer', viaKafkajs]] as const) {
        if (pass !== undefined && pass.records !== records) throw new Error(`${name} saw ${pass.records} of ${records} records`);
      }
      if (source.bytes !== produced.bytes) throw new Error(`prio read ${source.bytes} value bytes, ${produced.bytes} were produced`);
      if (kcat !== undefined && kcat.bytes !== source.bytes) throw new Error(`kcat and prio disagree on the bytes read: ${kcat.bytes} vs ${source.bytes}`);
      for (const pass of [grouped, viaKafkajs]) if (pass !== undefined && pass.bytes !== produced.bytes) throw new Error(`a group pass read ${pass.bytes} value bytes, ${produced.bytes} were produced`);
      if (grouped !== undefined) groupBest = best(groupBest, grouped);
      if (viaKafkajs !== undefined) kafkajsBest = best(kafkajsBest, viaKafkajs);
      if (kcat !== undefined) kcatBest = best(kcatBest, kcat);
      sourceBest = best(sourceBest, source);
      replayBest = best(replayBest, threaded);
      singleBest = best(singleBest, single);
      log(
        `round ${round}: ${kcat ? `kcat ${rate(records / kcat.seconds)}, ` : ''}prio source ${rate(records / source.seconds)}, ` +
          `prio replay (${workers} workers) ${rate(records / threaded.seconds)} (${rate(records / threaded.cpuSeconds)} per CPU second), ` +
          `single-thread ${rate(records / single.seconds)} (${rate(records / single.cpuSeconds)} per CPU second)` +
          (grouped && viaKafkajs ? `, prio group source ${rate(records / grouped.seconds)}, kafkajs consumer ${rate(records / viaKafkajs.seconds)}` : ''),
      );
    }
    if (sourceBest === undefined || replayBest === undefined || singleBest === undefined) throw new Error('no rounds run');
    const replayRate = records / replayBest.seconds;
    const singleRate = records / singleBest.seconds;
    const sourceRate = records / sourceBest.seconds;
    const common = { records, bytes: produced.bytes, partitions: options.partitions, codec: options.codec };
    const what = 'shadow replay from Kafka (direct fetch and decode, parse, validate, two rule sets, two token readers, aggregates)';
    const results: BenchResult[] = [
      { name: options.replayName, opsPerSec: replayRate, what: `${what}; default worker threads`, workers, seconds: replayBest.seconds, perCpuSecond: records / replayBest.cpuSeconds, ...common },
      { name: `${options.replayName}:single-thread`, opsPerSec: singleRate, what: `${what}; --workers 0`, workers: 0, seconds: singleBest.seconds, perCpuSecond: records / singleBest.cpuSeconds, ...common },
      { name: 'prio:kafka-source', opsPerSec: sourceRate, what: "prio's Kafka source alone (values handed out untouched)", seconds: sourceBest.seconds, perCpuSecond: records / sourceBest.cpuSeconds, ...common },
    ];
    if (groupBest !== undefined && kafkajsBest !== undefined) {
      results.push(
        { name: 'prio:kafka-source:group', opsPerSec: records / groupBest.seconds, what: "prio's Kafka source as a one-member consumer group", seconds: groupBest.seconds, perCpuSecond: records / groupBest.cpuSeconds, ...common },
        { name: 'kafkajs:consumer', opsPerSec: records / kafkajsBest.seconds, what: "kafkajs's consumer in a one-member group, every message counted", seconds: kafkajsBest.seconds, perCpuSecond: records / kafkajsBest.cpuSeconds, ...common },
      );
    }
    if (kcatBest === undefined) {
      return { results, targets: [{ target: 'Kafka replay >= 50% of kcat -C', measured: 'not measured: kcat is not installed', met: false }] };
    }
    const kcatRate = records / kcatBest.seconds;
    results.push({ name: 'kcat', opsPerSec: kcatRate, what: 'kcat -C -o beginning -e, every value printed', seconds: kcatBest.seconds, ...common });
    const share = (r: number) => `${((r / kcatRate) * 100).toFixed(1)}%`;
    return {
      results,
      targets: [
        {
          target: 'Kafka replay >= 50% of kcat -C',
          measured: `${share(replayRate)} with ${workers} workers (${rate(replayRate)} vs ${rate(kcatRate)}); single-thread ${share(singleRate)} (${rate(singleRate)})`,
          met: replayRate >= kcatRate / 2,
        },
      ],
    };
  } finally {
    if (ownBroker !== undefined) {
      await stopBroker(ownBroker);
      removeBrokerData(ownBroker);
    } else {
      const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  }
}

function codecArg(args: readonly string[]): KafkaCodec {
  const at = args.indexOf('--codec');
  if (at < 0) return 'none';
  const codec = KAFKA_CODECS.find((c) => c === args[at + 1]);
  if (codec === undefined) throw new RangeError(`--codec takes one of ${KAFKA_CODECS.join(', ')}`);
  return codec;
}

/** The Kafka half of the `shadow` suite, on the log that suite generated. */
export async function benchShadowKafka(context: ShadowBenchContext): Promise<Pick<BenchReport, 'results' | 'targets'>> {
  return measure({
    file: context.file,
    records: context.records,
    rounds: argValue(context.args, '--rounds', 3),
    partitions: argValue(context.args, '--partitions', 4),
    replayName: 'prio:kafka',
    workers: context.args.includes('--workers') ? argValue(context.args, '--workers', 1) : defaultWorkerCount(),
    log: context.log,
    codec: codecArg(context.args),
  });
}

export const suite: BenchSuite = async (options: BenchOptions) => {
  const records = argValue(options.args, '--records', 1_000_000);
  const file = await benchLog(records, options.log);
  const measured = await measure({
    file,
    records,
    rounds: argValue(options.args, '--rounds', 3),
    partitions: argValue(options.args, '--partitions', 4),
    replayName: 'prio',
    workers: options.args.includes('--workers') ? argValue(options.args, '--workers', 1) : defaultWorkerCount(),
    log: options.log,
    codec: codecArg(options.args),
  });
  return { suite: 'shadow-kafka', ...measured };
};
