/**
 * The embedded default store: one NDJSON file per stream under a directory (`.prio/` by
 * default). Every line carries a CRC-32 of its event; every append is fsynced; a lock (a symbolic link naming
 * the holder's pid) makes appends of two local processes take turns. Leases with fencing tokens
 * live in `leases/<name>.json` beside the streams, changed only under their own lock, so two
 * controllers on one machine take turns as they do on DynamoDB. Waiting for the lock never
 * blocks the event loop: the waiter retries on a timer. A torn or damaged line is reported with its
 * position and never dropped or repaired silently (see {@link repairTornTail} for the explicit fix).
 *
 * Line format: `{"event":<event JSON>,"crc":"<8 hex digits>"}` where the CRC covers the exact
 * bytes of <event JSON>, so verification never depends on re-serializing.
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import {
  ConcurrencyConflict,
  CorruptStream,
  FencedAppend,
  StoreUnavailable,
  type AcquireResult,
  type AppendOptions,
  type AppendResult,
  type EventMeta,
  type EventStore,
  type Lease,
  type LeaseManager,
  type NewEvent,
  type StoredEvent,
} from '../port.js';

const PREFIX = '{"event":';
const SUFFIX_LENGTH = ',"crc":"00000000"}'.length;
const NEWLINE = 0x0a;

export interface FileStoreOptions {
  /** Directory holding the streams (created on first append). */
  readonly dir: string;
  /** How long an append waits for another process's lock before giving up. */
  readonly lockTimeoutMs?: number;
}

interface Head {
  /** Bytes of the file already verified. */
  size: number;
  version: number;
  /** Inode of the file (0 when it does not exist yet). */
  ino: number;
}

/** What was found on disk for one stream. */
interface Scan {
  readonly head: Head;
}

/** What a lease file holds. */
interface LeaseRecord {
  readonly owner: string;
  readonly token: number;
  readonly expiresAt: number;
}

export class FileEventStore implements EventStore, LeaseManager {
  readonly kind = 'file';
  private readonly streamsDir: string;
  private readonly leasesDir: string;
  private readonly lockTimeoutMs: number;
  /** Verified prefix of each stream file, so appends read only what others added since. */
  private readonly heads = new Map<string, Head>();
  /** Open append descriptors by stream, with the inode they point at (a repair replaces the file). */
  private readonly writers = new Map<string, { fd: number; ino: number }>();
  private dirReady = false;

  constructor(options: FileStoreOptions) {
    this.streamsDir = join(options.dir, 'streams');
    this.leasesDir = join(options.dir, 'leases');
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  fileOf(stream: string): string {
    return join(this.streamsDir, `${encodeURIComponent(stream)}.ndjson`);
  }

  async read(stream: string): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    await this.forEach(stream, (e) => events.push(e));
    return events;
  }

  async forEach(stream: string, visit: (event: StoredEvent) => void): Promise<number> {
    try {
      return this.scan(stream, 0, visit).head.version;
    } catch (err) {
      // A writer may be mid-line right now; only a tail still torn under the lock is damage.
      // Every line before the torn one was visited and is intact: carry on from there.
      if (!(err instanceof CorruptStream) || !err.reason.startsWith('torn')) throw err;
      return this.withLock(stream, () => this.scan(stream, err.offset, visit, err.line - 1).head.version);
    }
  }

  async append(stream: string, expectedVersion: number, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const fence = options.fence;
    if (events.length === 0) return { fromVersion: expectedVersion + 1, toVersion: expectedVersion };
    if (fence === undefined) return this.appendLocked(stream, expectedVersion, events);
    // Lease lock first, then the stream's (always in that order): no acquisition can hand the
    // lease on between the fencing check and the write, as in DynamoDB's transaction.
    return this.withLeaseLock(fence.lease, () => {
      const held = this.readLease(fence.lease);
      if (held === undefined || held.token !== fence.token) throw new FencedAppend(fence.lease, fence.token);
      return this.appendLocked(stream, expectedVersion, events);
    });
  }

  private appendLocked(stream: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult> {
    return this.withLock(stream, () => {
      const head = this.currentHead(stream);
      if (head.version !== expectedVersion) throw new ConcurrencyConflict(stream, expectedVersion, head.version);
      const lines = events.map((e, i) => encodeLine(e, expectedVersion + i + 1)).join('');
      const bytes = Buffer.from(lines, 'utf8');
      const fd = this.writerFor(stream, head);
      try {
        let written = 0;
        while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
        fsyncSync(fd);
      } catch (err) {
        throw this.undoFailedAppend(stream, fd, head, events.length, err);
      }
      this.heads.set(stream, { size: head.size + bytes.length, version: expectedVersion + events.length, ino: head.ino });
      return { fromVersion: expectedVersion + 1, toVersion: expectedVersion + events.length };
    });
  }

  /**
   * A write or fsync that failed (ENOSPC on a full disk, EIO, EDQUOT) may have left part of the
   * batch in the file: a short write before the error. Still holding the lock, the file is cut
   * back to the verified head, so the stream is exactly what it was before the append and the
   * next append (once space returns) continues from it instead of meeting a torn line. Returns
   * the error to throw: one line naming the file and the cause.
   */
  private undoFailedAppend(stream: string, fd: number, head: Head, count: number, err: unknown): Error {
    const file = this.fileOf(stream);
    const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
    const message = ((err as Error).message ?? String(err)).split('\n')[0] ?? '';
    const why = message.startsWith(cause) ? message : `${cause}: ${message}`;
    try {
      ftruncateSync(fd, head.size);
      fsyncSync(fd);
    } catch (undo) {
      // The partial bytes stay: the stream now ends in a torn line, which verify reports and repair quarantines.
      this.heads.delete(stream);
      return new StoreUnavailable(
        `append of ${count} event(s) to stream ${stream} failed: cannot write ${file} (${why}); the partial write could not be removed (${(undo as Error).message.split('\n')[0] ?? ''}): run prio store verify`,
      );
    }
    return new StoreUnavailable(`append of ${count} event(s) to stream ${stream} failed, nothing written: cannot write ${file} (${why})`);
  }

  // -------------------------------------------------------------------------------------------
  // Leases: the same rules as DynamoDB's (taken when free or expired, a new token each time,
  // renewed only with the newest token, an append fenced by it).

  leaseFileOf(name: string): string {
    return join(this.leasesDir, `${encodeURIComponent(name)}.json`);
  }

  async acquire(name: string, owner: string, ttlMs: number, now: number): Promise<AcquireResult> {
    return this.withLeaseLock(name, () => {
      const held = this.readLease(name);
      if (held !== undefined && held.expiresAt >= now) return { acquired: false, holder: held.owner, expiresAt: held.expiresAt, token: held.token };
      const record = { owner, token: (held?.token ?? 0) + 1, expiresAt: now + ttlMs };
      this.writeLease(name, record);
      return { acquired: true, lease: { name, ...record } };
    });
  }

  async renew(lease: Lease, ttlMs: number, now: number): Promise<Lease | undefined> {
    return this.withLeaseLock(lease.name, () => {
      const held = this.readLease(lease.name);
      // An expired lease nobody took yet may still be renewed: its token is still the newest.
      if (held === undefined || held.token !== lease.token || held.owner !== lease.owner) return undefined;
      this.writeLease(lease.name, { ...held, expiresAt: now + ttlMs });
      return { ...lease, expiresAt: now + ttlMs };
    });
  }

  async release(lease: Lease): Promise<void> {
    await this.withLeaseLock(lease.name, () => {
      const held = this.readLease(lease.name);
      if (held !== undefined && held.token === lease.token) this.writeLease(lease.name, { ...held, expiresAt: 0 });
    });
  }

  private readLease(name: string): LeaseRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.leaseFileOf(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const record = JSON.parse(text) as Partial<LeaseRecord>;
    if (typeof record.owner !== 'string' || !Number.isInteger(record.token) || typeof record.expiresAt !== 'number') {
      throw new StoreUnavailable(`lease file ${this.leaseFileOf(name)} is damaged: it must hold owner, token and expiresAt`);
    }
    return record as LeaseRecord;
  }

  /** Written whole to a temporary file, synced, then renamed over: a reader never sees half a lease. */
  private writeLease(name: string, record: LeaseRecord): void {
    const file = this.leaseFileOf(name);
    const temp = `${file}.${process.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o644);
    try {
      writeSync(fd, `${JSON.stringify(record)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    syncDirectory(this.leasesDir);
  }

  /** Runs `body` holding the lease's lock (waited for on a timer, never blocking the event loop). */
  private async withLeaseLock<T>(name: string, body: () => T | Promise<T>): Promise<T> {
    mkdirSync(this.leasesDir, { recursive: true });
    const lock = `${this.leaseFileOf(name)}.lock`;
    await acquireLock(lock, this.lockTimeoutMs);
    try {
      return await body();
    } finally {
      unlinkSync(lock);
    }
  }

  /** An O_APPEND descriptor for the stream's current file, reused across appends. */
  private writerFor(stream: string, head: Head): number {
    const cached = this.writers.get(stream);
    if (cached !== undefined && cached.ino === head.ino && head.ino !== 0) return cached.fd;
    if (cached !== undefined) closeSync(cached.fd);
    const fd = openSync(this.fileOf(stream), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    const ino = fstatSync(fd).ino;
    // A new file's name is durable only once its directory is synced.
    if (head.ino === 0) syncDirectory(this.streamsDir);
    this.writers.set(stream, { fd, ino });
    head.ino = ino;
    return fd;
  }

  async version(stream: string): Promise<number> {
    try {
      return this.currentHead(stream).version;
    } catch (err) {
      if (!(err instanceof CorruptStream) || !err.reason.startsWith('torn')) throw err;
      return this.withLock(stream, () => this.currentHead(stream).version);
    }
  }

  async listStreams(prefix = ''): Promise<string[]> {
    if (!existsSync(this.streamsDir)) return [];
    return readdirSync(this.streamsDir)
      .filter((f) => f.endsWith('.ndjson'))
      .map((f) => decodeURIComponent(f.slice(0, -'.ndjson'.length)))
      .filter((s) => s.startsWith(prefix))
      .sort();
  }

  async close(): Promise<void> {
    for (const { fd } of this.writers.values()) closeSync(fd);
    this.writers.clear();
    this.heads.clear();
  }

  /** Checks every line of a stream; returns the damage found, if any. */
  async verify(stream: string): Promise<CorruptStream | undefined> {
    const damage = this.damageOf(stream);
    // An unfinished last line may be a write in progress: look again while holding the lock.
    return damage?.reason.startsWith('torn') ? this.withLock(stream, () => this.damageOf(stream)) : damage;
  }

  private damageOf(stream: string): CorruptStream | undefined {
    try {
      this.scan(stream, 0);
      return undefined;
    } catch (err) {
      if (err instanceof CorruptStream) return err;
      throw err;
    }
  }

  /**
   * The explicit repair for a torn last write: moves the unfinished bytes into a quarantine
   * file beside the stream (nothing is deleted) and returns its path. Refuses any other damage.
   */
  async repairTornTail(stream: string): Promise<string | undefined> {
    return this.withLock(stream, () => {
      const damage = this.damageOf(stream);
      if (damage === undefined) return undefined;
      if (!damage.reason.startsWith('torn')) throw damage;
      const file = this.fileOf(stream);
      const bytes = readFileSync(file);
      const quarantine = `${file}.torn-${Date.now()}`;
      const qfd = openSync(quarantine, 'wx');
      try {
        writeSync(qfd, bytes.subarray(damage.offset));
        fsyncSync(qfd);
      } finally {
        closeSync(qfd);
      }
      const tmp = `${file}.repair`;
      const tfd = openSync(tmp, 'w');
      try {
        writeSync(tfd, bytes.subarray(0, damage.offset));
        fsyncSync(tfd);
      } finally {
        closeSync(tfd);
      }
      renameSync(tmp, file);
      syncDirectory(this.streamsDir);
      this.heads.delete(stream);
      const writer = this.writers.get(stream);
      if (writer !== undefined) closeSync(writer.fd);
      this.writers.delete(stream);
      return quarantine;
    });
  }

  private currentHead(stream: string): Head {
    const known = this.heads.get(stream);
    let size = 0;
    let ino = 0;
    try {
      const st = statSync(this.fileOf(stream));
      size = st.size;
      ino = st.ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (known !== undefined && known.size === size && known.ino === ino) return known;
    // Another process appended (or the file is new to us, or was replaced): verify only the unseen bytes.
    const from = known !== undefined && known.ino === ino && known.size < size ? known : { size: 0, version: 0 };
    return this.scan(stream, from.size, undefined, from.version).head;
  }

  /** Reads and verifies the stream from byte `offset` (which starts line `version + 1`), handing each event to `visit`. */
  private scan(stream: string, offset: number, visit?: (event: StoredEvent) => void, version = 0): Scan {
    const file = this.fileOf(stream);
    let bytes: Buffer;
    let ino: number;
    try {
      ({ bytes, ino } = readFrom(file, offset));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { head: { size: 0, version: 0, ino: 0 } };
      throw err;
    }
    let start = 0;
    let line = version;
    while (start < bytes.length) {
      const end = bytes.indexOf(NEWLINE, start);
      line += 1;
      const at = offset + start;
      if (end === -1) {
        throw new CorruptStream(stream, file, line, at, `torn write: the last line is unfinished (${bytes.length - start} bytes, no newline)`);
      }
      const event = decodeLine(bytes, start, end, stream, file, line, at);
      if (event.version !== line) {
        throw new CorruptStream(stream, file, line, at, `version ${event.version} where ${line} was expected`);
      }
      visit?.(event);
      start = end + 1;
    }
    const head = { size: offset + bytes.length, version: line, ino };
    this.heads.set(stream, head);
    return { head };
  }

  /**
   * Runs `body` holding the stream's lock. The wait is asynchronous; the body is synchronous,
   * so once the lock is ours nothing else in this process runs until it is released.
   */
  private async withLock<T>(stream: string, body: () => T): Promise<T> {
    if (!this.dirReady) {
      mkdirSync(this.streamsDir, { recursive: true });
      this.dirReady = true;
    }
    const lock = `${this.fileOf(stream)}.lock`;
    await acquireLock(lock, this.lockTimeoutMs);
    try {
      return body();
    } finally {
      unlinkSync(lock);
    }
  }
}

function encodeLine(e: NewEvent, version: number): string {
  const meta: EventMeta = e.meta;
  const json = JSON.stringify({ version, type: e.type, data: e.data, meta });
  const crc = crc32(json).toString(16).padStart(8, '0');
  return `${PREFIX}${json},"crc":"${crc}"}\n`;
}

const PREFIX_BYTES = Buffer.from(PREFIX);
const SUFFIX_HEAD = Buffer.from(',"crc":"');

/** True when bytes[at..] starts with `expected` (a plain loop: cheaper than a native call per line). */
function startsWithAt(bytes: Buffer, at: number, expected: Buffer): boolean {
  for (let k = 0; k < expected.length; k += 1) if (bytes[at + k] !== expected[k]) return false;
  return true;
}

/** The 8 lowercase hex digits at bytes[at..] as a number, or -1. */
function hexAt(bytes: Buffer, at: number): number {
  let value = 0;
  for (let k = 0; k < 8; k += 1) {
    const c = bytes[at + k] ?? 0;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Verifies and parses the line bytes[start, end) — checksum computed on the stored bytes themselves. */
function decodeLine(bytes: Buffer, start: number, end: number, stream: string, file: string, line: number, offset: number): StoredEvent {
  const jsonStart = start + PREFIX_BYTES.length;
  const jsonEnd = end - SUFFIX_LENGTH;
  if (jsonEnd <= jsonStart || !startsWithAt(bytes, start, PREFIX_BYTES)) throw new CorruptStream(stream, file, line, offset, 'not an event line');
  const stored = hexAt(bytes, jsonEnd + SUFFIX_HEAD.length);
  if (!startsWithAt(bytes, jsonEnd, SUFFIX_HEAD) || stored < 0 || bytes[end - 2] !== 0x22 || bytes[end - 1] !== 0x7d) {
    throw new CorruptStream(stream, file, line, offset, 'checksum field missing');
  }
  const computed = crc32(bytes.subarray(jsonStart, jsonEnd));
  if (stored !== computed) {
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    throw new CorruptStream(stream, file, line, offset, `checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)})`);
  }
  let parsed: { version: number; type: string; data: unknown; meta: EventMeta };
  try {
    parsed = JSON.parse(bytes.toString('utf8', jsonStart, jsonEnd)) as typeof parsed;
  } catch (err) {
    throw new CorruptStream(stream, file, line, offset, `unreadable JSON: ${(err as Error).message}`);
  }
  return { stream, version: parsed.version, type: parsed.type, data: parsed.data, meta: parsed.meta };
}

/** The file's bytes from `offset` to its end, and its inode (to notice a file replaced by a repair). */
function readFrom(file: string, offset: number): { bytes: Buffer; ino: number } {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    const buf = Buffer.allocUnsafe(Math.max(0, st.size - offset));
    let read = 0;
    while (read < buf.length) {
      const n = readSync(fd, buf, read, buf.length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return { bytes: buf.subarray(0, read), ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  // A new file's name is durable only once its directory is synced.
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Takes the lock by creating a symbolic link whose target is our pid: one atomic, exclusive
 * system call (EEXIST when held) that also records the holder, so no half-written lock file
 * can exist. A lock left by a dead process is taken over; the takeover itself is serialized by
 * a `.steal` directory so two waiters never both remove a lock, and one of them a fresh one.
 * While the lock is held the waiter sleeps on a timer (1 ms, growing to 10 ms), so the event
 * loop keeps serving everything else.
 *
 * Why not proper-lockfile: it judges a lock stale by its age (an mtime it refreshes on a
 * timer), so a crashed holder blocks every writer for the stale period, and a holder stalled
 * past it loses the lock while still writing. The pid in the link is exact on one machine, which
 * is the only place a file store is shared.
 */
async function acquireLock(lock: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const me = String(process.pid);
  for (let attempt = 0; ; attempt += 1) {
    try {
      symlinkSync(me, lock);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(lock);
    if (holder !== undefined && !isAlive(holder)) stealLock(lock, holder);
    if (Date.now() > deadline) {
      throw new StoreUnavailable(`lock ${lock} is held by process ${holder ?? '?'} for more than ${timeoutMs} ms`);
    }
    await sleep(Math.min(1 + attempt, 10));
  }
}

function readHolder(lock: string): number | undefined {
  try {
    const pid = Number.parseInt(readlinkSync(lock), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function stealLock(lock: string, deadHolder: number): void {
  const guard = `${lock}.steal`;
  try {
    mkdirSync(guard);
  } catch {
    // Someone else is stealing; a guard older than a few seconds belongs to a stealer that died.
    try {
      if (Date.now() - statSync(guard).mtimeMs > 5_000) rmdirSync(guard);
    } catch {
      /* gone already */
    }
    return;
  }
  try {
    if (readHolder(lock) === deadHolder) unlinkSync(lock);
  } catch {
    /* removed meanwhile */
  } finally {
    rmdirSync(guard);
  }
}
