/**
 * The Kafka side of `prio shadow`: the Kafka source options of `replay` (declared and turned
 * into a source here, plugged into shadow.ts's source selection) and `prio shadow produce`,
 * which loads a log into a topic. Thin: parse, call src/shadow, print, exit code.
 */
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import {
  createProgress,
  kafkaSource,
  KafkaSourceError,
  parseBrokers,
  produceLog,
  KAFKA_CODECS,
  type KafkaCodec,
  type Checkpoint,
  type KafkaWindow,
  type ProgressReporting,
  type RecordSource,
} from '../shadow/index.js';
import { ExitCode, printJson, table, UsageError, type Io } from './output.js';

/** The options `addKafkaSourceOptions` declares, as commander hands them over. */
export interface KafkaSourceCliOptions {
  readonly kafkaBrokers?: string;
  readonly topic?: string;
  readonly fromBeginning?: boolean;
  readonly from?: string;
  readonly to?: string;
  readonly follow?: boolean;
  readonly group?: string;
}

/** Picks the Kafka options out of a command's options (which also hold every other option). */
function kafkaOptionsOf(all: Readonly<Record<string, unknown>>): KafkaSourceCliOptions {
  const text = (k: string) => (typeof all[k] === 'string' ? (all[k] as string) : undefined);
  const flag = (k: string) => (all[k] === true ? true : undefined);
  return {
    kafkaBrokers: text('kafkaBrokers'),
    topic: text('topic'),
    fromBeginning: flag('fromBeginning'),
    from: text('from'),
    to: text('to'),
    follow: flag('follow'),
    group: text('group'),
  };
}

/** The --kafka-brokers list; a malformed one is a usage error (exit 2) with parseBrokers' reason. */
function brokersOf(text: string): string[] {
  try {
    return parseBrokers(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function addKafkaSourceOptions(command: Command): Command {
  return command
    .option('--kafka-brokers <list>', 'Kafka brokers host:port[,host:port...] to replay a topic from (with --topic)')
    .option('--topic <name>', 'Kafka topic holding the request log')
    .option('--from-beginning', 'Kafka: start at the first retained record of every partition')
    .option('--from <iso>', 'Kafka: start at the first record at or after this time (offsets-for-times)')
    .option('--to <iso>', 'Kafka: stop before the first record at or after this time (default: the end of each partition when the replay starts)')
    .option('--follow', 'Kafka: keep reading new records until interrupted (Ctrl-C writes the report)')
    .option('--group <id>', 'Kafka: join this consumer group; processes with the same id split the partitions (merge their reports with prio shadow merge)')
    .addHelpText(
      'after',
      `
Kafka: the window is fixed when the replay starts, so a replay of a live topic still ends.
Each --group member writes a partial report; \`prio shadow merge\` combines them into the
report one process would have written. Use a fresh group id per run: a group remembers
what it has read.
  $ prio shadow replay --kafka-brokers 127.0.0.1:9092 --topic requests --from-beginning --out out/all
  $ prio shadow replay --kafka-brokers 127.0.0.1:9092 --topic requests --from 2026-03-01T00:00:00Z --to 2026-03-02T00:00:00Z --group run-42 --out out/m1`,
    );
}

function parseTime(option: string, text: string): Date {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`${option} must be an ISO-8601 time such as 2026-03-01T00:00:00Z, got "${text}"`);
  return new Date(ms);
}

/**
 * The Kafka source the options name, or undefined when they name none (no --kafka-brokers).
 * Startup failures (no broker answers, unknown topic) surface as usage/I-O errors (exit 2);
 * a broker lost mid-replay stays a SourceInterruptedError with its checkpoint.
 */
export function kafkaSourceFromOptions(
  commandOptions: Readonly<Record<string, unknown>>,
  resumeFrom?: Checkpoint,
  stop?: AbortSignal,
): (RecordSource & ProgressReporting & Required<Pick<RecordSource, 'damage' | 'checkpoint'>>) | undefined {
  const options = kafkaOptionsOf(commandOptions);
  const kafkaOnly = (['topic', 'fromBeginning', 'from', 'to', 'follow', 'group'] as const).filter((k) => options[k] !== undefined);
  if (options.kafkaBrokers === undefined) {
    if (kafkaOnly.length > 0) throw new UsageError(`--${kebab(kafkaOnly[0] ?? '')} needs --kafka-brokers`);
    return undefined;
  }
  if (options.topic === undefined) throw new UsageError('--kafka-brokers needs --topic');
  const brokers = brokersOf(options.kafkaBrokers);
  if (options.fromBeginning === true && options.from !== undefined) throw new UsageError('choose one start: --from-beginning or --from');
  if (options.fromBeginning !== true && options.from === undefined && resumeFrom === undefined) {
    throw new UsageError('name the window start: --from-beginning, or --from ISO [--to ISO]');
  }
  const window: KafkaWindow = {
    from: options.from === undefined ? 'beginning' : parseTime('--from', options.from),
    ...(options.to === undefined ? {} : { to: parseTime('--to', options.to) }),
  };
  const follow = options.follow === true;
  let source: ReturnType<typeof kafkaSource>;
  try {
    source = kafkaSource({
      brokers,
      topic: options.topic,
      window,
      follow,
      ...(options.group === undefined ? {} : { group: options.group }),
      ...(resumeFrom === undefined ? {} : { resumeFrom }),
      // Following, a signal ends the replay and the report is written: a followed topic has no
      // other end. A bounded replay is interrupted by it instead (see runReplay's signal).
      ...(follow && stop !== undefined ? { signal: stop } : {}),
    });
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  return {
    label: source.label,
    progress: () => source.progress(),
    damage: () => source.damage(),
    checkpoint: () => source.checkpoint(),
    async *batches() {
      try {
        yield* source.batches();
      } catch (err) {
        if (err instanceof KafkaSourceError) throw new UsageError(err.message);
        throw err;
      }
    },
  };
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

interface ProduceCliOptions {
  file: string;
  topic: string;
  kafkaBrokers: string;
  partitions: number;
  maxMessageBytes: number;
  compression: KafkaCodec;
  quiet?: boolean;
  json?: boolean;
}

function positive(what: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got "${text}"`);
    return n;
  };
}

export function registerProduce(shadow: Command, io: Io, setExit: (code: number) => void): void {
  shadow
    .command('produce')
    .description('Load an NDJSON request log (or .gz) into a Kafka topic, one message per line, keyed by accountId, timestamped with the request time.')
    .requiredOption('--file <path>', 'the log to load')
    .requiredOption('--topic <name>', 'topic to write (created when missing)')
    .requiredOption('--kafka-brokers <list>', 'brokers host:port[,host:port...]')
    .option('--partitions <n>', 'partitions of a topic created here (an existing topic keeps its own)', positive('--partitions'), 1)
    .option('--max-message-bytes <n>', "max.message.bytes of a topic created here (room for records over the replay's 1 MiB limit)", positive('--max-message-bytes'), 4 * 1024 * 1024)
    .addOption(new Option('--compression <codec>', 'compression of the batches sent').choices([...KAFKA_CODECS]).default('none'))
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Every non-blank line becomes one message, bytes untouched (malformed lines too: the replay
quarantines them, as it would from the file). Keys are accountIds, so one account's requests
stay in order in one partition; message timestamps are the requests' own, so
\`prio shadow replay --from/--to\` selects by request time. A line too large for the topic is
skipped and listed (exit 1).

Exit status: 0 loaded, 1 some lines could not be written, 2 usage, unreadable file or no broker.

Examples:
  $ prio shadow produce --file shadow/samples/requests.ndjson --topic requests --kafka-brokers 127.0.0.1:9092 --partitions 4
  $ prio shadow replay --kafka-brokers 127.0.0.1:9092 --topic requests --from-beginning --out out/kafka`,
    )
    .action(async (options: ProduceCliOptions) => {
      const brokers = brokersOf(options.kafkaBrokers);
      const progress = createProgress({ stream: process.stderr, quiet: options.quiet === true || options.json === true, label: 'produce' });
      let result;
      try {
        // Value bytes sent track the file's size closely (newlines aside); a .gz has no such total.
        const size = options.file.endsWith('.gz') ? undefined : statSync(options.file, { throwIfNoEntry: false })?.size;
        result = await produceLog({
          brokers,
          file: options.file,
          topic: options.topic,
          partitions: options.partitions,
          maxMessageBytes: options.maxMessageBytes,
          compression: options.compression,
          onProgress: (produced, bytes) => progress.update(produced, { done: bytes, total: size, unit: 'bytes' }),
        });
      } catch (err) {
        if (err instanceof KafkaSourceError) throw new UsageError(err.message);
        throw err;
      } finally {
        progress.stop();
      }
      if (options.json === true) {
        printJson(io, result);
      } else {
        io.out(
          `${result.created ? 'created' : 'wrote to existing'} topic ${result.topic} (${result.partitions} partitions): ${result.produced} messages, ${result.bytes} bytes\n` +
            table(
              ['partition', 'messages'],
              Object.entries(result.perPartition)
                .sort(([a], [b]) => Number(a) - Number(b))
                .map(([p, n]) => [Number(p), n]),
            ),
        );
        for (const s of result.skipped) io.err(`skipped line ${s.line} (${s.bytes} bytes): ${s.reason}`);
      }
      setExit(result.skipped.length > 0 ? ExitCode.findings : ExitCode.ok);
    });
}
