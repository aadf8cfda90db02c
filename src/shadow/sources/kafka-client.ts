/**
 * How prio talks to Kafka: one place for broker-list parsing, retry bounds and logging, shared
 * by the Kafka source and the log producer.
 */
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { registerKafkajsCodecs } from './kafka-codecs.js';
import { kafkajsSecurity, type KafkaSecurity } from './kafka-security.js';

/** A kafkajs log line handed to the caller (kafkajs otherwise writes to the console). */
export type KafkaLog = (entry: { level: 'error' | 'warn' | 'info' | 'debug'; message: string; detail: Omit<LogEntry['log'], 'message'> }) => void;

export interface KafkaConnection {
  /** `host:port` of one or more brokers. */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /**
   * How many times a failed request is retried before the failure surfaces. kafkajs's default
   * keeps a consumer retrying for about half a minute and then restarts it forever; a replay
   * wants a lost broker reported within seconds, with a checkpoint. Default 5 (about 6 s).
   */
  readonly retries?: number;
  /** Receives kafkajs's own log lines (errors and warnings); silent when absent. */
  readonly log?: KafkaLog;
  /** TLS and SASL, for every connection (kafkajs's and the direct fetch path's); plaintext when absent. */
  readonly security?: KafkaSecurity;
}

/** Parses `h1:p1,h2:p2` as given on the command line; throws RangeError with the bad entry. */
export function parseBrokers(list: string): string[] {
  const brokers = list
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0) throw new RangeError('no Kafka broker given (expected host:port[,host:port...])');
  for (const broker of brokers) {
    const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(broker);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) throw new RangeError(`not a Kafka broker address (host:port): ${broker}`);
  }
  return brokers;
}

const levelNames = new Map<number, 'error' | 'warn' | 'info' | 'debug'>([
  [logLevel.ERROR, 'error'],
  [logLevel.WARN, 'warn'],
  [logLevel.INFO, 'info'],
  [logLevel.DEBUG, 'debug'],
]);

export function kafkaClient(connection: KafkaConnection): Kafka {
  registerKafkajsCodecs();
  const { log } = connection;
  const retries = connection.retries ?? 5;
  return new Kafka({
    clientId: connection.clientId ?? 'prio',
    brokers: [...connection.brokers],
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 2000 },
    ...kafkajsSecurity(connection.security),
    logLevel: log ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry) => {
      if (!log) return;
      const { message, ...detail } = entry.log;
      log({ level: levelNames.get(entry.level) ?? 'info', message, detail });
    },
  });
}

/** The message of an error from kafkajs, with the cause chain kafkajs wraps retries in. */
export function describeKafkaError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    if (!parts.includes(current.message)) parts.push(current.message);
    current = (current as { originalError?: unknown; cause?: unknown }).originalError ?? current.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}
