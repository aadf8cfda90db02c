/**
 * The request log: every finished request as a request record (the shadow record schema), to an
 * NDJSON file or a Kafka topic, so `prio shadow replay` can replay the fleet's own traffic.
 * Serving never waits on the log: records go into a bounded buffer, a background loop writes
 * them, and whatever does not fit (or a sink that fails) is dropped and counted, never blocks.
 */
import { closeSync, createWriteStream, fstatSync, ftruncateSync, openSync, statSync, type WriteStream } from 'node:fs';
import type { Producer } from 'kafkajs';
import { describeKafkaError, ensureTopic, kafkaClient, type KafkaConnection, type RequestRecord } from '../shadow/index.js';

export interface RequestLog {
  /** Hands a record over; never blocks, never throws. */
  write(record: RequestRecord): void;
  /** Writes what is buffered (within `timeoutMs`), then releases the sink. Records still unwritten count as dropped. */
  close(timeoutMs?: number): Promise<void>;
  /** Where the log goes, for logs and `status`. */
  readonly target: string;
}

export interface RequestLogEvents {
  /** Records durably handed to the sink (`written`) or given up on (`dropped`). */
  readonly onCount?: (event: 'written' | 'dropped', count: number) => void;
  /** A sink error, once per failure (the caller logs it). */
  readonly onError?: (message: string) => void;
}

/** A log that discards nothing and writes nowhere: no `--request-log` given. */
export const noRequestLog: RequestLog = { write: () => undefined, close: async () => undefined, target: 'none' };

export interface FileLogOptions extends RequestLogEvents {
  readonly file: string;
  /** Bytes the file stream may hold unwritten before records are dropped. Default 16 MiB. */
  readonly maxBufferedBytes?: number;
  /** After a write error (a full disk, a missing directory), how long until the file is opened again. Default 1,000 ms. */
  readonly retryMs?: number;
}

/**
 * Appends one JSON record per line to `file`. A write error (ENOSPC on a full disk, EIO) does
 * not end the log: records are dropped and counted while the file is unusable, and every
 * `retryMs` the file is opened again — first cutting off what the failed writes left behind, so
 * the file holds exactly the records counted as written, one whole record per line — until
 * writes go through again.
 */
export function fileRequestLog(options: FileLogOptions): RequestLog {
  const limit = options.maxBufferedBytes ?? 16 * 1024 * 1024;
  const retryMs = options.retryMs ?? 1_000;
  let failed = false;
  let closing = false;
  let retry: NodeJS.Timeout | undefined;
  /** The last error reported, and whether a record was written since: an error repeating on every retry is reported once. */
  let reported: string | undefined;
  let stream: WriteStream;
  let pendingCount = 0;
  /** Bytes of the file that hold records counted as written. */
  let confirmed = 0;

  function open(): void {
    confirmed = sizeOf(options.file);
    const s = createWriteStream(options.file, { flags: 'a' });
    s.on('error', (err) => {
      if (s !== stream || failed) return;
      failed = true;
      const message = `request log ${options.file}: ${err.message}`;
      if (message !== reported) options.onError?.(`${message} (records are dropped and counted until it can be written again)`);
      reported = message;
      if (!closing) {
        retry = setTimeout(reopen, retryMs);
        retry.unref();
      }
    });
    stream = s;
  }

  function reopen(): void {
    retry = undefined;
    if (closing) return;
    try {
      cutBackTo(options.file, confirmed);
    } catch {
      // The file may still be missing or unreadable: opening it again reports why.
    }
    failed = false;
    open();
  }

  open();
  return {
    target: options.file,
    write(record) {
      if (failed || stream.writableLength > limit) {
        options.onCount?.('dropped', 1);
        return;
      }
      pendingCount++;
      const line = `${JSON.stringify(record)}\n`;
      stream.write(line, (err) => {
        pendingCount--;
        if (!err) {
          reported = undefined;
          confirmed += Buffer.byteLength(line);
        }
        options.onCount?.(err ? 'dropped' : 'written', 1);
      });
    },
    close(timeoutMs = 10_000) {
      closing = true;
      if (retry !== undefined) clearTimeout(retry);
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          stream.destroy();
          resolve();
        }, timeoutMs);
        timer.unref();
        stream.end(() => {
          clearTimeout(timer);
          resolve();
        });
        if (failed) {
          clearTimeout(timer);
          options.onCount?.('dropped', pendingCount);
          resolve();
        }
      });
    },
  };
}

/**
 * Cuts the file back to `size`, the bytes of the records reported written: a failed write may
 * have left part of a batch behind (a short write before ENOSPC), records already counted as
 * dropped. Only this process appends to its log, so nothing else is cut.
 */
function cutBackTo(file: string, size: number): void {
  const fd = openSync(file, 'r+');
  try {
    if (fstatSync(fd).size > size) ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

/** The file's size, 0 when it does not exist yet. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export interface KafkaLogOptions extends RequestLogEvents, KafkaConnection {
  readonly topic: string;
  /** Records held at most while Kafka is slow or away; beyond that new ones are dropped. Default 100,000. */
  readonly maxBuffered?: number;
  /** Records per produce request. Default 1,000. */
  readonly batchSize?: number;
  /** How long a partial batch waits for company before it is sent. Default 50 ms. */
  readonly lingerMs?: number;
  /** Partitions of the topic if it has to be created. Default 1. */
  readonly partitions?: number;
}

/**
 * Produces records to `topic`, keyed by accountId (one account's records stay in order within
 * a partition) and timestamped with the request's time. Connects in the background: records
 * written before the broker answers wait in the buffer.
 */
export function kafkaRequestLog(options: KafkaLogOptions): RequestLog {
  const maxBuffered = options.maxBuffered ?? 100_000;
  const batchSize = options.batchSize ?? 1000;
  const lingerMs = options.lingerMs ?? 50;
  const kafka = kafkaClient({ ...options, clientId: options.clientId ?? 'prio-serve' });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  let buffer: { key: string; value: string; timestamp: string }[] = [];
  let sending: Promise<void> | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const ready = (async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await ensureTopic(admin, options.topic, options.partitions ?? 1, 4 * 1024 * 1024);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await producer.connect();
  })();
  let connected = false;
  ready.then(
    () => {
      connected = true;
      kick();
    },
    (err: unknown) => options.onError?.(`request log: cannot reach Kafka at ${options.brokers.join(',')}: ${describeKafkaError(err)}`),
  );

  function kick(): void {
    if (!connected || sending !== undefined || buffer.length === 0) return;
    if (buffer.length < batchSize && !closed) {
      if (timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          send();
        }, lingerMs);
        timer.unref();
      }
      return;
    }
    send();
  }

  function send(): void {
    if (sending !== undefined || buffer.length === 0) return;
    const batch = buffer.length <= batchSize ? buffer : buffer.slice(0, batchSize);
    buffer = batch === buffer ? [] : buffer.slice(batchSize);
    sending = producer
      .send({ topic: options.topic, messages: batch, acks: -1 })
      .then(
        () => options.onCount?.('written', batch.length),
        (err: unknown) => {
          options.onCount?.('dropped', batch.length);
          options.onError?.(`request log: writing ${batch.length} records to ${options.topic} failed: ${describeKafkaError(err)}`);
        },
      )
      .finally(() => {
        sending = undefined;
        kick();
      });
  }

  return {
    target: `kafka:${options.topic}`,
    write(record) {
      if (buffer.length >= maxBuffered) {
        options.onCount?.('dropped', 1);
        return;
      }
      const time = typeof record.timestamp === 'number' ? record.timestamp : Date.parse(record.timestamp);
      buffer.push({ key: record.accountId, value: JSON.stringify(record), timestamp: String(time) });
      if (buffer.length >= batchSize) kick();
      else if (timer === undefined) kick();
    },
    async close(timeoutMs = 10_000) {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const deadline = Date.now() + timeoutMs;
      const flushAll = async () => {
        await ready;
        while (buffer.length > 0 || sending !== undefined) {
          if (sending === undefined) send();
          await sending;
        }
      };
      let expired: NodeJS.Timeout | undefined;
      await Promise.race([
        flushAll().catch(() => undefined),
        new Promise<void>((resolve) => {
          expired = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        }),
      ]);
      if (expired !== undefined) clearTimeout(expired);
      if (buffer.length > 0) {
        options.onCount?.('dropped', buffer.length);
        buffer = [];
      }
      await producer.disconnect().catch(() => undefined);
    },
  };
}
