/**
 * The runtime adapter: drives the pure core on Node's event loop in real time. Submissions,
 * completions and cancellations made during one tick are batched and settled by a single
 * `pump` on the next `setImmediate`, so requests arriving together compete by weight instead
 * of in arrival order. A timer (unref'd, so it never keeps the process alive) expires queued
 * requests whose deadline passes while nothing else happens.
 */
import { EventEmitter } from 'node:events';
import { DispatchCore } from './core/index.js';
import type { SchedulerConfig, SchedulerEventKind, SubmitRequest, TerminalState, Ticket } from './core/index.js';
// perf_hooks' own export, not the global: in the gateway's CPU profile (Node 20) the global's
// `performance.now()` took about 4.6 µs per request (two calls); this export does not show.
import { performance } from 'node:perf_hooks';

export interface RuntimeOptions<Id> {
  /** Milliseconds; defaults to `performance.now()`. Injected so tests can drive time. */
  readonly clock?: () => number;
  /** How often queued deadlines are checked while requests with a deadline wait. Default 10 ms. */
  readonly expiryIntervalMs?: number;
  /** Every transition, after the core made it (for metrics). */
  readonly onEvent?: (kind: SchedulerEventKind, ticket: Ticket<Id>, now: number) => void;
}

/** Why a request handed to {@link SchedulerRuntime.run} did not complete. */
export class SchedulingRejected extends Error {
  override readonly name = 'SchedulingRejected';
  constructor(readonly state: Exclude<TerminalState, 'completed'>, readonly retryAfterMs: number) {
    super(state === 'throttled' ? `throttled: retry after ${retryAfterMs} ms` : `request ${state}`);
  }
}

/** Per-call options of {@link SchedulerRuntime.run}. */
export interface RunOptions {
  /**
   * The caller's way to withdraw the request (a client that hung up, a request timeout):
   * aborting cancels it, queued or running, as {@link SchedulerRuntime.cancel} does. Already
   * aborted: the request is never submitted and `run` rejects with `cancelled`.
   */
  readonly signal?: AbortSignal;
}

/**
 * Tells a running task that its request was preempted or cancelled: `aborted`, `reason`, and an
 * `'abort'` event. An EventEmitter rather than an AbortSignal because every request gets one and
 * few are ever aborted: an AbortController with one listener added and removed costs about 5 µs
 * of CPU, an EventEmitter about 0.1 µs (measured on Node 20). undici takes either as `signal`;
 * {@link TaskSignal.toAbortSignal} gives an AbortSignal to APIs that take nothing else.
 */
export class TaskSignal extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  /** Aborts once: sets `aborted` and `reason`, then emits `'abort'`. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort', reason);
  }

  /** An AbortSignal that aborts with this one (made on demand). */
  toAbortSignal(): AbortSignal {
    if (this.aborted) return AbortSignal.abort(this.reason);
    const controller = new AbortController();
    this.once('abort', (reason: unknown) => controller.abort(reason));
    return controller.signal;
  }
}

/**
 * What {@link SchedulerRuntime.admit} calls back, once per request: an object per request rather
 * than closures, as undici's dispatch handlers are (see {@link SchedulerRuntime.admit} for why).
 */
export interface Admission<Id> {
  /**
   * The request was dispatched: start its work, and call {@link SchedulerRuntime.release} with
   * the ticket when the work ends. Called outside the core's call stack (in a microtask), never
   * for a request cancelled between its dispatch and this call.
   */
  onStart(ticket: Ticket<Id>): void;
  /**
   * The request ended without completing: throttled, shed or expired while queued (throttled and
   * shed ones during `admit` itself), or preempted or cancelled, queued or running. Called at most
   * once, and never after `release`; a running request's work should stop.
   */
  onReject(rejected: SchedulingRejected, ticket: Ticket<Id>): void;
}

/** {@link SchedulerRuntime.run} on top of {@link SchedulerRuntime.admit}: a task, its signal and its promise. */
class TaskRun<Id, T> implements Admission<Id> {
  readonly signal = new TaskSignal();
  /** Stops listening to the caller's signal once the request has ended. */
  unlisten = noop;

  constructor(
    private readonly runtime: SchedulerRuntime<Id>,
    private readonly task: (signal: TaskSignal) => Promise<T>,
    private readonly resolve: (value: T) => void,
    private readonly reject: (reason: unknown) => void,
  ) {}

  onStart(ticket: Ticket<Id>): void {
    let promise: Promise<T>;
    try {
      promise = this.task(this.signal);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (value) => {
        // False when it was preempted or cancelled meanwhile: its promise was already rejected.
        if (!this.runtime.release(ticket)) return;
        this.unlisten();
        this.resolve(value);
      },
      (err: unknown) => {
        if (!this.runtime.release(ticket)) return;
        this.unlisten();
        this.reject(err);
      },
    );
  }

  onReject(rejected: SchedulingRejected): void {
    this.signal.abort(rejected);
    this.unlisten();
    this.reject(rejected);
  }
}

const noop = (): void => undefined;

/**
 * The runtime's state of one admitted request, kept on its ticket (DispatchCore.attach) until the
 * request ends, and linked into the list of unfinished requests. Not a Map from ticket to state:
 * in the gateway's benchmark, each Map holding per-request objects made V8 promote about ten
 * times more bytes per minor GC (1.1 MB against 0.11 MB, `--trace-gc-nvp`), which cost more CPU
 * than the whole dispatch core (docs/service.md, "Figures").
 */
class Pending<Id> {
  prev: Pending<Id> | null = null;
  next: Pending<Id> | null = null;
  constructor(
    readonly ticket: Ticket<Id>,
    readonly admission: Admission<Id>,
  ) {}
}

export class SchedulerRuntime<Id = string> {
  readonly core: DispatchCore<Id>;
  private readonly clock: () => number;
  private readonly expiryIntervalMs: number;
  /** Requests admitted and not yet ended, oldest first. */
  private head: Pending<Id> | null = null;
  private tail: Pending<Id> | null = null;
  private unfinishedCount = 0;
  /** Dispatched by the current pump, started together by one microtask. */
  private starting: Ticket<Id>[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(config: SchedulerConfig, options: RuntimeOptions<Id> = {}) {
    this.clock = options.clock ?? (() => performance.now());
    this.expiryIntervalMs = options.expiryIntervalMs ?? 10;
    const onEvent = options.onEvent;
    this.core = new DispatchCore<Id>(config, (kind, ticket, now) => {
      this.onTransition(kind, ticket);
      onEvent?.(kind, ticket, now);
    });
  }

  /**
   * Runs `task` when the scheduler dispatches the request; resolves with its result. Rejects
   * with {@link SchedulingRejected} when the request is throttled, shed, expired, preempted or
   * cancelled. A task that fails still frees its slot. The task's signal aborts when the
   * request is preempted or cancelled while running, so the work can stop.
   */
  run<T>(request: SubmitRequest<Id>, task: (signal: TaskSignal) => Promise<T>, options: RunOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const callerSignal = options.signal;
      if (callerSignal?.aborted) {
        reject(new SchedulingRejected('cancelled', 0));
        return;
      }
      const run = new TaskRun<Id, T>(this, task, resolve, reject);
      const ticket = this.admit(request, run);
      if (callerSignal !== undefined && this.core.attachment(ticket) !== null) {
        const onAbort = () => this.cancel(ticket);
        callerSignal.addEventListener('abort', onAbort);
        run.unlisten = () => callerSignal.removeEventListener('abort', onAbort);
      }
    });
  }

  /**
   * The callback form of {@link run}, for a caller that keeps per-request state of its own (the
   * gateway): no promise, signal or closure per request, only the caller's `admission` object.
   * Its `onStart` is called when the request is dispatched; the caller then calls
   * {@link release} when the work ends. Its `onReject` is called when the request ends any other
   * way, synchronously from here for a request throttled or shed on arrival.
   */
  admit(request: SubmitRequest<Id>, admission: Admission<Id>): Ticket<Id> {
    if (this.closed) throw new Error('the scheduler runtime is closed');
    const ticket = this.core.submit(request, this.clock());
    if (ticket.state !== 'queued') {
      admission.onReject(new SchedulingRejected(ticket.state as Exclude<TerminalState, 'completed'>, ticket.retryAfter), ticket);
      return ticket;
    }
    const entry = new Pending(ticket, admission);
    entry.prev = this.tail;
    if (this.tail === null) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    this.unfinishedCount++;
    this.core.attach(ticket, entry);
    this.schedulePump();
    if (ticket.deadline !== Number.POSITIVE_INFINITY) this.watchDeadlines();
    return ticket;
  }

  /**
   * Ends the work of a started request: frees its slot for the next. False (and nothing done)
   * when the request had already ended: preempted or cancelled meanwhile, or released before.
   */
  release(ticket: Ticket<Id>): boolean {
    if (this.detach(ticket) === null) return false;
    this.core.complete(ticket, this.clock());
    this.schedulePump();
    return true;
  }

  /** Cancels a queued or running request; its `run` promise rejects with `cancelled`. */
  cancel(ticket: Ticket<Id>): boolean {
    const done = this.core.cancel(ticket, this.clock());
    if (done) this.schedulePump();
    return done;
  }

  /** Stops the timers; requests still queued stay queued (call `cancel` to end them). */
  close(): void {
    this.closed = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.immediate = this.expiryTimer = undefined;
  }

  /** The tickets of requests admitted that have not ended yet, oldest first. */
  get unfinished(): readonly Ticket<Id>[] {
    const out: Ticket<Id>[] = [];
    for (let e = this.head; e !== null; e = e.next) out.push(e.ticket);
    return out;
  }

  /** Takes the request's state off its ticket and out of the list; null if it had already ended. */
  private detach(ticket: Ticket<Id>): Pending<Id> | null {
    const entry = this.core.attachment(ticket) as Pending<Id> | null;
    if (entry === null) return null;
    this.core.attach(ticket, null);
    if (entry.prev === null) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === null) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = null;
    this.unfinishedCount--;
    return entry;
  }

  private onTransition(kind: SchedulerEventKind, ticket: Ticket<Id>): void {
    if (kind === 'dispatched') {
      if (this.core.attachment(ticket) === null) return;
      // Started outside the core's call stack: work that throws synchronously must not unwind
      // through pump(). One microtask starts everything one pump dispatched.
      if (this.starting.push(ticket) === 1) queueMicrotask(this.startDispatched);
    } else if (kind !== 'queued' && kind !== 'completed') {
      const entry = this.detach(ticket);
      if (entry !== null) entry.admission.onReject(new SchedulingRejected(kind, ticket.retryAfter), ticket);
    }
  }

  private readonly startDispatched = (): void => {
    const batch = this.starting;
    this.starting = [];
    for (const ticket of batch) {
      // Cancelled before its work could start (by work started just before it, say).
      if (ticket.state !== 'running') continue;
      const entry = this.core.attachment(ticket) as Pending<Id> | null;
      if (entry === null) continue;
      try {
        entry.admission.onStart(ticket);
      } catch (err) {
        // An admission's onStart must not throw; if one does, its request ends failed rather
        // than holding its slot for ever, the others still start, and the error surfaces.
        if (this.release(ticket)) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  };

  private schedulePump(): void {
    if (this.immediate !== undefined || this.closed) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.core.pump(this.clock());
    });
  }

  private watchDeadlines(): void {
    if (this.expiryTimer !== undefined || this.closed) return;
    this.expiryTimer = setInterval(() => {
      this.core.expireOverdue(this.clock());
      if (this.unfinishedCount === 0 && this.expiryTimer !== undefined) {
        clearInterval(this.expiryTimer);
        this.expiryTimer = undefined;
      }
    }, this.expiryIntervalMs);
    this.expiryTimer.unref();
  }
}
