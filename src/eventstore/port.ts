/**
 * The event-store port: append-only streams with optimistic concurrency, and leases with
 * fencing tokens. Adapters live in stores/ (file: the embedded default; dynamodb: at scale).
 */

/** Recorded with every event, beside the domain payload. */
export interface EventMeta {
  /** Id of the command that produced the event: the key of idempotent retries. */
  readonly commandId: string;
  /** When the store was asked to append (ISO). */
  readonly recordedAt: string;
  /** Fencing token of the lease the writer held, when it appended under one. */
  readonly fencingToken?: number;
}

export interface NewEvent<T = unknown> {
  readonly type: string;
  readonly data: T;
  readonly meta: EventMeta;
}

export interface StoredEvent<T = unknown> extends NewEvent<T> {
  readonly stream: string;
  /** 1-based position in the stream; a stream's versions are 1, 2, 3... without gaps. */
  readonly version: number;
}

/** Proof that the writer holds a lease: the append is refused unless the lease still carries this token. */
export interface Fence {
  readonly lease: string;
  readonly token: number;
}

export interface AppendOptions {
  readonly fence?: Fence;
}

export interface AppendResult {
  /** Version of the first event written. */
  readonly fromVersion: number;
  /** Version of the last event written: the stream's new head. */
  readonly toVersion: number;
}

export interface EventStore {
  readonly kind: string;
  /** All events of a stream in order (empty when the stream does not exist). */
  read(stream: string): Promise<StoredEvent[]>;
  /**
   * Hands a stream's events to `visit` in order without keeping them (a long stream folds in
   * little memory); resolves to the head version.
   */
  forEach(stream: string, visit: (event: StoredEvent) => void): Promise<number>;
  /** The stream's head version (0 when it does not exist), without reading its events. */
  version(stream: string): Promise<number>;
  /**
   * Appends events atomically after `expectedVersion` (0 for a new stream). Throws
   * {@link ConcurrencyConflict} when the stream has moved, {@link FencedAppend} when the fence's
   * lease has passed to a newer holder. `expectedVersion` must come from a read of the stream.
   */
  append(stream: string, expectedVersion: number, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** Names of the streams whose name starts with `prefix`, sorted. */
  listStreams(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** The stream moved since the writer read it: re-read, decide again, retry. */
export class ConcurrencyConflict extends Error {
  override readonly name = 'ConcurrencyConflict';
  constructor(
    readonly stream: string,
    readonly expectedVersion: number,
    readonly actualVersion?: number,
  ) {
    super(
      `stream ${stream} has moved: expected version ${expectedVersion}${actualVersion === undefined ? '' : `, found ${actualVersion}`}`,
    );
  }
}

/** A writer whose lease was taken over tried to append: its fencing token is stale. */
export class FencedAppend extends Error {
  override readonly name = 'FencedAppend';
  constructor(
    readonly lease: string,
    readonly token: number,
  ) {
    super(`append refused: lease ${lease} no longer carries fencing token ${token} (another controller took over)`);
  }
}

/** A stream's stored bytes are damaged (torn last write, bad checksum, gap): reported, never repaired silently. */
export class CorruptStream extends Error {
  override readonly name = 'CorruptStream';
  constructor(
    readonly stream: string,
    readonly location: string,
    /** 1-based line (file store) or version where the damage starts. */
    readonly line: number,
    /** Byte offset where the damage starts (file store), else -1. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`stream ${stream} is damaged at ${location} line ${line}${offset >= 0 ? ` (byte ${offset})` : ''}: ${reason}`);
  }
}

/**
 * An append holding more events than the store can write in one atomic operation. Refused
 * whole before anything is sent: splitting it would let a reader or a crash see half of it.
 */
export class AppendTooLarge extends Error {
  override readonly name = 'AppendTooLarge';
  constructor(
    readonly stream: string,
    readonly events: number,
    /** The most events this append could have held. */
    readonly limit: number,
    /** Why the limit is what it is (the store's own bound). */
    readonly why: string,
  ) {
    super(`append to stream ${stream} refused, nothing written: ${events} events, but one atomic append holds at most ${limit} here (${why})`);
  }
}

/** The store could not be reached or used (missing table, lock held too long, bad endpoint). */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

// ---------------------------------------------------------------------------------------------
// Leases: one controller drives a migration at a time.

export interface Lease {
  readonly name: string;
  readonly owner: string;
  /** Grows by one at every acquisition; every append under the lease carries it. */
  readonly token: number;
  /** Epoch ms after which another owner may take the lease. */
  readonly expiresAt: number;
}

export type AcquireResult =
  | { readonly acquired: true; readonly lease: Lease }
  | { readonly acquired: false; readonly holder: string; readonly expiresAt: number; readonly token: number };

export interface LeaseManager {
  /** Takes the lease when it is free or expired (at `now`, epoch ms); a new token each time. */
  acquire(name: string, owner: string, ttlMs: number, now: number): Promise<AcquireResult>;
  /** Extends a lease still held with the same token; undefined when it was lost. */
  renew(lease: Lease, ttlMs: number, now: number): Promise<Lease | undefined>;
  /** Gives the lease up so another owner need not wait for expiry. */
  release(lease: Lease): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Transient failures: worth waiting out and trying again.

/** Error names a store (or the AWS SDK under it) uses for "too much, too fast" and "down for now". */
const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
/** Socket errors of a peer that is unreachable or went away mid-call. */
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/**
 * True for a failure that says nothing about the request itself — throttling, a 5xx, a connection
 * refused, reset or timed out — so the same call may succeed later. Judged from the error's shape
 * alone (name, code, the SDK's `$retryable` and HTTP status), so this module still imports nothing.
 */
export function isTransientError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const shaped = err as Error & { code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; cause?: unknown };
  if (TRANSIENT_NAMES.has(err.name)) return true;
  if (typeof shaped.code === 'string' && TRANSIENT_CODES.has(shaped.code)) return true;
  if (shaped.$retryable !== undefined) return true;
  const status = shaped.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return shaped.cause !== undefined && shaped.cause !== err && isTransientError(shaped.cause);
}
