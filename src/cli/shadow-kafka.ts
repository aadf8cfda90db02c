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
  loadKafkaSecurity,
  KafkaSecurityError,
  KAFKA_PASSWORD_ENV,
  KAFKA_USERNAME_ENV,
  SASL_MECHANISMS,
  type KafkaSecurity,
  KAFKA_CODECS,
  type KafkaCodec,
  type Checkpoint,
  type KafkaWindow,
  type ProgressReporting,
  type RecordSource,
} from '../shadow/index.js';
import { ExitCode, printJson, table, UsageError, type Io } from './output.js';

/** The options `addKafkaSourceOptions` declares, as commander hands them over. */
interface KafkaSourceCliOptions {
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

/** The TLS and SASL options, as commander hands them over (no secret among them). */
interface KafkaSecurityCliOptions {
  readonly kafkaTls?: boolean;
  readonly kafkaTlsCa?: string;
  readonly kafkaTlsCert?: string;
  readonly kafkaTlsKey?: string;
  readonly kafkaTlsNoVerifyHostname?: boolean;
  readonly kafkaSaslMechanism?: string;
  readonly kafkaSaslFile?: string;
}
const SECURITY_KEYS = ['kafkaTls', 'kafkaTlsCa', 'kafkaTlsCert', 'kafkaTlsKey', 'kafkaTlsNoVerifyHostname', 'kafkaSaslMechanism', 'kafkaSaslFile'] as const;

/**
 * Declares the Kafka TLS and SASL options: one definition for `shadow replay`, `shadow produce`
 * and `serve`'s request log, so the three spell them alike. There is deliberately no password
 * option: a password on a command line is visible to every user of the machine (ps) and stays
 * in shell history.
 */
export function addKafkaSecurityOptions(command: Command): Command {
  return command
    .option('--kafka-tls', 'Kafka: connect over TLS (implied by any --kafka-tls-* option); the system CAs unless --kafka-tls-ca')
    .option('--kafka-tls-ca <file>', 'Kafka: PEM file of the CA certificates to trust')
    .option('--kafka-tls-cert <file>', 'Kafka: PEM client certificate, for brokers that ask for one (with --kafka-tls-key)')
    .option('--kafka-tls-key <file>', 'Kafka: PEM key of the client certificate')
    .option('--kafka-tls-no-verify-hostname', "Kafka: accept a broker certificate that does not name the broker's host (the CA is still checked)")
    .addOption(new Option('--kafka-sasl-mechanism <name>', `Kafka: SASL authentication; credentials from ${KAFKA_USERNAME_ENV}/${KAFKA_PASSWORD_ENV} or --kafka-sasl-file`).choices([...SASL_MECHANISMS]))
    .option('--kafka-sasl-file <file>', 'Kafka: file with username=... and password=... lines (instead of the environment)')
    .addHelpText(
      'after',
      `
Kafka security: TLS verifies the broker's certificate and its host name by default. SASL
credentials come from the environment (${KAFKA_USERNAME_ENV}, ${KAFKA_PASSWORD_ENV}) or a file
(--kafka-sasl-file), never from an option.
Example:
  $ ${KAFKA_USERNAME_ENV}=replay ${KAFKA_PASSWORD_ENV}=... prio shadow replay --kafka-brokers kafka1:9094 --kafka-tls-ca ca.pem \
      --kafka-sasl-mechanism scram-sha-512 --topic requests --from-beginning --out out/all`,
    );
}

/** The security settings the options name (undefined: plaintext); a bad one is exit 2 with one line. */
export function kafkaSecurityFromOptions(all: Readonly<Record<string, unknown>>): KafkaSecurity | undefined {
  const options = all as KafkaSecurityCliOptions;
  try {
    return loadKafkaSecurity({
      ...(options.kafkaTls === true ? { tls: true } : {}),
      ...(options.kafkaTlsCa === undefined ? {} : { caFile: options.kafkaTlsCa }),
      ...(options.kafkaTlsCert === undefined ? {} : { certFile: options.kafkaTlsCert }),
      ...(options.kafkaTlsKey === undefined ? {} : { keyFile: options.kafkaTlsKey }),
      ...(options.kafkaTlsNoVerifyHostname === true ? { verifyHostname: false } : {}),
      ...(options.kafkaSaslMechanism === undefined ? {} : { saslMechanism: options.kafkaSaslMechanism }),
      ...(options.kafkaSaslFile === undefined ? {} : { saslFile: options.kafkaSaslFile }),
    });
  } catch (err) {
    if (err instanceof KafkaSecurityError) throw new UsageError(err.message);
    throw err;
  }
}

/** The first security option given, as its flag (for "needs --kafka-brokers"). */
export function givenKafkaSecurityOption(all: Readonly<Record<string, unknown>>): string | undefined {
  const key = SECURITY_KEYS.find((k) => all[k] !== undefined);
  return key === undefined ? undefined : `--${kebab(key)}`;
}

export function addKafkaSourceOptions(command: Command): Command {
  return addKafkaSecurityOptions(command)
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
): (RecordSource & ProgressReporting & Required<Pick<RecordSource, 'damage' | 'checkpoint' | 'coverage'>>) | undefined {
  const options = kafkaOptionsOf(commandOptions);
  const kafkaOnly = (['topic', 'fromBeginning', 'from', 'to', 'follow', 'group'] as const).filter((k) => options[k] !== undefined);
  if (options.kafkaBrokers === undefined) {
    if (kafkaOnly.length > 0) throw new UsageError(`--${kebab(kafkaOnly[0] ?? '')} needs --kafka-brokers`);
    const security = givenKafkaSecurityOption(commandOptions);
    if (security !== undefined) throw new UsageError(`${security} needs --kafka-brokers`);
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
  const security = kafkaSecurityFromOptions(commandOptions);
  let source: ReturnType<typeof kafkaSource>;
  try {
    source = kafkaSource({
      brokers,
      ...(security === undefined ? {} : { security }),
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
    coverage: () => source.coverage(),
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
  const produce = shadow.command('produce');
  addKafkaSecurityOptions(produce)
    .description('Load an NDJSON request log (or .gz) into a Kafka topic, one message per line, keyed by accountId, timestamped with the request time.')
    .requiredOption('--file <path>', 'the log to load: NDJSON, .gz, a named pipe, or - for stdin')
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
skipped and listed (exit 1); a damaged .gz stops the load as an unreadable file (exit 2).
The log is read as \`prio shadow replay --file\` reads it: .gz by name or by content, stdin.

Exit status: 0 loaded, 1 some lines could not be written, 2 usage, unreadable or damaged file, or no broker.

Examples:
  $ prio shadow produce --file shadow/samples/requests.ndjson --topic requests --kafka-brokers 127.0.0.1:9092 --partitions 4
  $ zcat log.ndjson.gz | prio shadow produce --file - --topic requests --kafka-brokers 127.0.0.1:9092
  $ prio shadow replay --kafka-brokers 127.0.0.1:9092 --topic requests --from-beginning --out out/kafka`,
    )
    .action(async (options: ProduceCliOptions) => {
      const brokers = brokersOf(options.kafkaBrokers);
      const security = kafkaSecurityFromOptions(options as unknown as Readonly<Record<string, unknown>>);
      const progress = createProgress({ stream: process.stderr, quiet: options.quiet === true || options.json === true, label: 'produce' });
      let result;
      try {
        // Value bytes sent track the file's size closely (newlines aside); a .gz has no such total.
        const size = options.file.endsWith('.gz') ? undefined : statSync(options.file, { throwIfNoEntry: false })?.size;
        result = await produceLog({
          brokers,
          ...(security === undefined ? {} : { security }),
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
