/**
 * NDJSON file source (optionally gzip-compressed): splits the byte stream into lines and hands
 * them out raw with their line numbers. It never decodes or parses, so invalid UTF-8 and
 * malformed JSON reach the replay and are quarantined there. Two faults only the source can
 * see become `sourceError` records instead of exceptions: a line longer than
 * {@link MAX_RECORD_BYTES} (its bytes are skipped, never buffered whole, so memory stays
 * bounded) and a gzip stream that is truncated or corrupt (its tail is one quarantined record).
 * A cut or corrupt .gz is also reported as damage (`damage()`): the records after the cut were
 * never read, so no quarantine share can stand for them; the gate fails on damage itself.
 */
import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FileReadError } from '../../config/index.js';
import { MAX_RECORD_BYTES } from '../core/record.js';
import { HandOff } from '../hand-off.js';
import { SourceInterruptedError, type Checkpoint, type Coverage, type RecordSource, type SourceDamage, type SourceRecord } from '../source.js';

/** Progress a source can report for a progress bar (bytes of the file read so far). */
export interface SourceProgress {
  readonly done: number;
  readonly total: number | undefined;
  readonly unit: string;
}

/** A source that can say how far it has got; optional for sources (the replay checks for it). */
export interface ProgressReporting {
  progress(): SourceProgress;
}

export interface FileSourceOptions {
  /** Resume after a checkpoint: lines before `nextLine` are skipped (still read, not handed out). */
  readonly resumeFrom?: Checkpoint;
  /** Records per batch handed to the replay. */
  readonly batchSize?: number;
  /** A batch also ends once its values reach this many bytes (default 16 MiB): records may be up to 1 MiB each. */
  readonly batchBytes?: number;
  /** Maximum record size; lines above it are quarantined as oversized. */
  readonly maxRecordBytes?: number;
  /**
   * Stops the read, even one waiting on a pipe or stdin: the source then throws a
   * {@link SourceInterruptedError} with the checkpoint after the last batch handed out.
   */
  readonly signal?: AbortSignal;
  /** What `-` reads (default process.stdin); for tests. */
  readonly stdin?: Readable;
}

/** The path that names standard input. */
export const STDIN_PATH = '-';

/** A file source: also says where it got to and what it lost. */
export interface FileSource extends RecordSource, ProgressReporting {
  checkpoint(): Checkpoint;
  coverage(): Coverage | undefined;
  damage(): readonly SourceDamage[];
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** How much of an oversized line is kept for the quarantine file (enough to recognise it). */
const OVERSIZED_EXCERPT_BYTES = 256;

export function isGzipPath(path: string): boolean {
  return path.endsWith('.gz');
}

/** The two bytes every gzip stream starts with; they cannot start a UTF-8 text line. */
function startsLikeGzip(chunk: Buffer): boolean {
  return chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b;
}

/**
 * Opens `path` as a record source: a regular file, a named pipe, a device, or `-` for stdin.
 * Compressed input is recognised by a `.gz` name or by the gzip magic bytes, so
 * `cat log.gz | prio shadow replay --file -` works as `zcat log.gz | …` does. Throws
 * {@link FileReadError} at once if the path cannot be read (missing, a directory).
 */
export function fileSource(path: string, options: FileSourceOptions = {}): FileSource {
  let size: number | undefined;
  if (path !== STDIN_PATH) {
    try {
      const stat = statSync(path);
      if (stat.isDirectory()) throw new Error('is a directory');
      // A pipe or a device has no size; only a regular file's bytes say how far the read got.
      size = stat.isFile() ? stat.size : undefined;
    } catch (err) {
      throw new FileReadError(path, err);
    }
  }
  const batchSize = options.batchSize ?? 256;
  const batchBytes = options.batchBytes ?? 16 * 1024 * 1024;
  const maxBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const resume = options.resumeFrom;
  if (resume !== undefined && resume.kind !== 'line') throw new Error(`cannot resume a file source from a ${resume.kind} checkpoint`);
  const firstLine = resume?.nextLine ?? 1;
  let bytesRead = 0;
  /** The line after the last batch handed out: where a resumed run starts. */
  let nextLine = firstLine;
  const damage: SourceDamage[] = [];
  /** Compressed bytes the decompressor had taken when it failed. */
  const decoder = { consumed: 0 };

  async function* batches(): AsyncGenerator<SourceRecord[]> {
    let line = 1;
    /** Bytes of the current line carried over from earlier chunks. */
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    /** Set while skipping the rest of an oversized line: its size so far. */
    let oversizedBytes = -1;
    let oversizedExcerpt: Buffer | null = null;
    let batch: SourceRecord[] = [];
    let batchValueBytes = 0;

    const emit = (value: Uint8Array | null, sourceError?: string, oversized?: number): void => {
      if (line >= firstLine) {
        const position = { kind: 'line', file: path, line } as const;
        batch.push(
          sourceError === undefined
            ? { position, value }
            : oversized === undefined
              ? { position, value, sourceError }
              : { position, value, sourceError, oversizedBytes: oversized },
        );
        batchValueBytes += value?.byteLength ?? 0;
      }
    };
    /** Ends the current line with bytes `from`..`to` of `chunk` (no view is made unless the line is handed out). */
    const finishLine = (chunk: Buffer, from: number, to: number): void => {
      if (oversizedBytes >= 0) {
        const total = oversizedBytes + (to - from);
        emit(oversizedExcerpt, `oversized record: ${total} bytes exceeds the ${maxBytes}-byte limit`, total);
        oversizedBytes = -1;
        oversizedExcerpt = null;
      } else {
        let bytes = chunk;
        let start = from;
        let end = to;
        if (pendingBytes > 0) {
          bytes = Buffer.concat([...pending, chunk.subarray(from, to)], pendingBytes + (to - from));
          start = 0;
          end = bytes.length;
        }
        if (end > start && bytes[end - 1] === CARRIAGE_RETURN) end -= 1;
        if (end - start > maxBytes) {
          emit(bytes.subarray(start, start + OVERSIZED_EXCERPT_BYTES), `oversized record: ${end - start} bytes exceeds the ${maxBytes}-byte limit`, end - start);
        } else if (!isBlank(bytes, start, end)) {
          // A plain view costs a fraction of a Buffer's subarray, and the replay needs only bytes.
          emit(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start));
        }
        pending = [];
        pendingBytes = 0;
      }
      line += 1;
    };
    const keepPartial = (part: Buffer): void => {
      if (oversizedBytes >= 0) {
        oversizedBytes += part.length;
        return;
      }
      if (pendingBytes + part.length > maxBytes) {
        // Stop buffering: remember an excerpt and count the rest without holding it.
        const head = Buffer.concat([...pending, part], pendingBytes + part.length);
        oversizedExcerpt = Buffer.from(head.subarray(0, OVERSIZED_EXCERPT_BYTES));
        oversizedBytes = head.length;
        pending = [];
        pendingBytes = 0;
        return;
      }
      // Copy: the chunk may be reused by the stream once we move on.
      pending.push(Buffer.from(part));
      pendingBytes += part.length;
    };

    try {
      const input = { path, stdin: options.stdin, signal: options.signal };
      for await (const chunk of decodedChunks(input, (n) => (bytesRead += n), decoder)) {
        let start = 0;
        for (;;) {
          const nl = chunk.indexOf(NEWLINE, start);
          if (nl < 0) break;
          finishLine(chunk, start, nl);
          start = nl + 1;
          if (batch.length >= batchSize || batchValueBytes >= batchBytes) {
            nextLine = Math.max(nextLine, line);
            yield batch;
            batch = [];
            batchValueBytes = 0;
          }
        }
        if (start < chunk.length) keepPartial(chunk.subarray(start));
      }
    } catch (err) {
      if (err instanceof Interrupted) throw new SourceInterruptedError(`interrupted by ${err.reason}`, checkpoint());
      if (!isCompressionError(err)) throw new FileReadError(path, err);
      // A truncated or corrupt .gz: whatever was decoded is kept; the damaged tail becomes
      // one quarantined record at the line where decoding stopped, so the loss is visible.
      const excerpt = pendingBytes > 0 ? Buffer.concat(pending, pendingBytes).subarray(0, OVERSIZED_EXCERPT_BYTES) : oversizedExcerpt;
      emit(excerpt, `truncated or corrupt gzip stream: ${(err as Error).message}`);
      // Of a pipe, what follows the damage is unknown: its size is.
      const undecoded = size === undefined ? 0 : Math.max(0, size - decoder.consumed);
      damage.push({
        kind: 'truncated-gzip',
        where: path,
        detail:
          `decoding stopped at line ${line} after ${decoder.consumed}${size === undefined ? '' : ` of ${size}`} compressed bytes (${(err as Error).message}); ` +
          (undecoded > 0 ? `${undecoded} compressed bytes were not decoded` : 'the end of the stream is missing'),
        recordsLost: null,
        bytesLost: undecoded > 0 ? undecoded : null,
      });
      pending = [];
      pendingBytes = 0;
      oversizedBytes = -1;
      nextLine = Math.max(nextLine, line + 1);
      if (batch.length > 0) yield batch;
      return;
    }
    if (pendingBytes > 0 || oversizedBytes >= 0) finishLine(Buffer.alloc(0), 0, 0);
    nextLine = Math.max(nextLine, line);
    if (batch.length > 0) yield batch;
  }

  function checkpoint(): Checkpoint {
    return { kind: 'line', file: path, nextLine };
  }

  /** A file replay always covers its file from line 1 (a resumed one through its checkpoint's figures); stdin is no file to compare. */
  function coverage(): Coverage | undefined {
    return path === STDIN_PATH ? undefined : { kind: 'lines', file: resolve(path), from: 1, to: nextLine };
  }

  return {
    label: `file:${path}`,
    batches,
    progress: () => ({ done: bytesRead, total: size, unit: 'bytes' }),
    checkpoint,
    coverage,
    damage: () => damage,
  };
}

/** Decoded bytes held at most before the file read pauses. */
const QUEUE_BYTES = 2 * 1024 * 1024;

/** Thrown inside the read when the caller's signal aborts it. */
class Interrupted extends Error {
  constructor(readonly reason: string) {
    super(`interrupted by ${reason}`);
  }
}

interface Input {
  readonly path: string;
  readonly stdin: Readable | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * The input's bytes, decompressed when gzip, as chunks; `onRead` counts the input's own bytes.
 *
 * Why not iterate the gunzip stream: a stream that fails throws away the output it holds, so
 * how much of a truncated .gz reached the replay (and the line its damaged tail is reported at)
 * would depend on how fast the replay took it — a replay judged in worker threads would report
 * another line than one judged in one thread. Here the decompressor is never paused: its output
 * is queued as it is produced and a failure is thrown only after all of it. Back-pressure
 * pauses the file read instead, in small reads for a .gz, which bounds what one read can expand to.
 */
async function* decodedChunks(input: Input, onRead: (bytes: number) => void, decoder: { consumed: number }): AsyncGenerator<Buffer> {
  const named = input.path !== STDIN_PATH;
  const forcedGzip = named && isGzipPath(input.path);
  const raw: Readable = named ? createReadStream(input.path, { highWaterMark: forcedGzip ? 64 * 1024 : 1024 * 1024 }) : (input.stdin ?? process.stdin);
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  let sniffed = false;
  const chunks = new HandOff<Buffer>();
  let queued = 0;
  let gunzipFull = false;
  const take = (chunk: Buffer): void => {
    chunks.push(chunk);
    queued += chunk.length;
    if (queued >= QUEUE_BYTES) raw.pause();
  };
  const fail = (error: unknown): void => {
    if (!chunks.failed && gunzip !== undefined) decoder.consumed = gunzip.bytesWritten;
    chunks.fail(error);
  };
  const finish = (): void => chunks.end();
  /** Decided on the first bytes: a .gz name, or the gzip magic bytes. */
  const startGunzip = (): NonNullable<typeof gunzip> => {
    const g = createGunzip();
    gunzip = g;
    g.on('data', take);
    g.on('drain', () => {
      gunzipFull = false;
      if (queued < QUEUE_BYTES) raw.resume();
    });
    g.on('error', fail);
    g.on('end', finish);
    return g;
  };
  raw.on('data', (data: string | Buffer) => {
    // No encoding is set, so the stream hands out Buffers.
    const chunk = data as Buffer;
    onRead(chunk.length);
    if (!sniffed) {
      sniffed = true;
      if (forcedGzip || startsLikeGzip(chunk)) startGunzip();
    }
    if (gunzip === undefined) return take(chunk);
    if (!gunzip.write(chunk)) {
      gunzipFull = true;
      raw.pause();
    }
  });
  raw.on('error', fail);
  raw.on('end', () => {
    if (gunzip !== undefined) gunzip.end();
    else if (forcedGzip) {
      // An empty .gz: a stream with not even a header.
      startGunzip().end();
    } else finish();
  });
  const onAbort = (): void => chunks.abort(new Interrupted(String(input.signal?.reason ?? 'an abort')));
  if (input.signal?.aborted) onAbort();
  input.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done === true) return;
      const chunk = next.value;
      queued -= chunk.length;
      if (queued < QUEUE_BYTES / 2 && !gunzipFull && !chunks.failed) raw.resume();
      yield chunk;
    }
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
    // stdin is not ours to destroy (the process may still read it); stop reading it.
    if (named) raw.destroy();
    else raw.pause();
    gunzip?.destroy();
  }
}

function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== CARRIAGE_RETURN) return false;
  }
  return true;
}

function isCompressionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
