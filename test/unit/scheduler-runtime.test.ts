import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SchedulerRuntime, SchedulingRejected, TaskSignal, type Admission, type SchedulerConfig, type Ticket } from '../../src/scheduler/index.js';

const config = (over: Partial<SchedulerConfig['variants'][number]> = {}): SchedulerConfig => ({
  tierWeights: [4, 1],
  variants: [{ id: 'm', concurrency: 1, queueBound: 10, qosPreemption: true, ...over }],
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Waits until an expiry timer of 1 ms has ticked at least once: Node runs due timers in order of
 * their due time, and this timeout, set later for longer, is due after the interval's next tick.
 */
const afterExpiryTicks = (): Promise<void> => new Promise((r) => setTimeout(r, 3));

/** A clock the test moves by hand; `reads` shows whether the runtime (or its timer) looked at it. */
function manualClock(): { now: number; reads: number; read: () => number } {
  const clock = {
    now: 0,
    reads: 0,
    read: () => {
      clock.reads++;
      return clock.now;
    },
  };
  return clock;
}

describe('SchedulerRuntime', () => {
  it('batches a tick of submissions so they compete by weight, and runs them one slot at a time', async () => {
    const runtime = new SchedulerRuntime<string>(config());
    const order: string[] = [];
    let active = 0;
    const task = (name: string) => async () => {
      if (++active > 1) throw new Error('two at once');
      order.push(name);
      await new Promise((r) => setImmediate(r));
      active--;
      return name;
    };
    // submitted in one tick, low first: the pump after the tick starts the high one first
    const results = await Promise.all([
      runtime.run({ id: 'low', variant: 0, tier: 1, account: 'a' }, task('low')),
      runtime.run({ id: 'high', variant: 0, tier: 0, account: 'a' }, task('high')),
    ]);
    expect(results).toEqual(['low', 'high']);
    expect(order).toEqual(['high', 'low']);
    expect(runtime.core.counters.completed).toBe(2);
    runtime.close();
  });

  it('rejects throttled and shed requests at once, and frees the slot of a failing task', async () => {
    const runtime = new SchedulerRuntime<string>({ ...config({ queueBound: 1 }), accountRates: { slow: { rate: 1, burst: 1 } } });
    const gate = deferred();
    const first = runtime.run({ id: '1', variant: 0, tier: 1, account: 'slow' }, () => gate.promise);
    await expect(runtime.run({ id: '2', variant: 0, tier: 1, account: 'slow' }, async () => undefined)).rejects.toMatchObject({ state: 'throttled' });
    await new Promise((r) => setImmediate(r));
    const queued = runtime.run({ id: '3', variant: 0, tier: 1, account: 'x' }, () => Promise.reject(new Error('boom')));
    await expect(runtime.run({ id: '4', variant: 0, tier: 1, account: 'x' }, async () => undefined)).rejects.toBeInstanceOf(SchedulingRejected);
    gate.resolve();
    await first;
    await expect(queued).rejects.toThrow('boom');
    expect(runtime.core.inflight(0)).toBe(0);
    runtime.close();
  });

  it('aborts a preempted task and rejects its promise', async () => {
    const runtime = new SchedulerRuntime<string>(config({ reserved: { owner: 1 } }));
    let aborted: unknown;
    const borrower = runtime.run({ id: 'b', variant: 0, tier: 1, account: 'other', preemptable: true }, (signal) => {
      signal.once('abort', () => (aborted = signal.reason));
      return new Promise<void>(() => undefined); // never finishes on its own
    });
    await new Promise((r) => setImmediate(r));
    const owner = runtime.run({ id: 'o', variant: 0, tier: 0, account: 'owner' }, async () => 'mine');
    await expect(borrower).rejects.toMatchObject({ state: 'preempted' });
    expect(aborted).toBeInstanceOf(SchedulingRejected);
    await expect(owner).resolves.toBe('mine');
    runtime.close();
  });

  it('expires a queued request at its deadline on the clock it is given', async () => {
    let now = 0;
    const runtime = new SchedulerRuntime<string>(config(), { clock: () => now, expiryIntervalMs: 1 });
    const gate = deferred();
    const running = runtime.run({ id: 'r', variant: 0, tier: 0, account: 'a' }, () => gate.promise);
    const waiting = runtime.run({ id: 'w', variant: 0, tier: 0, account: 'a', deadline: 5 }, async () => undefined);
    now = 10;
    await expect(waiting).rejects.toMatchObject({ state: 'expired' });
    gate.resolve();
    await running;
    runtime.close();
  });

  it('cancels a queued request and refuses work once closed', async () => {
    const events: string[] = [];
    const runtime = new SchedulerRuntime<string>(config(), { onEvent: (kind, t) => events.push(`${kind}:${t.id}`) });
    const gate = deferred();
    const running = runtime.run({ id: 'r', variant: 0, tier: 0, account: 'a' }, () => gate.promise);
    const waiting = runtime.run({ id: 'w', variant: 0, tier: 0, account: 'a' }, async () => undefined);
    await new Promise((r) => setImmediate(r));
    const ticket = runtime.unfinished.find((t) => t.id === 'w');
    expect(ticket?.state).toBe('queued');
    expect(runtime.cancel(ticket!)).toBe(true);
    await expect(waiting).rejects.toMatchObject({ state: 'cancelled' });
    gate.resolve();
    await running;
    expect(events).toEqual(['queued:r', 'queued:w', 'dispatched:r', 'cancelled:w', 'completed:r']);
    runtime.close();
    await expect(runtime.run({ id: 'late', variant: 0, tier: 0, account: 'a' }, async () => undefined)).rejects.toThrow('closed');
  });
  it("withdraws a request when the caller's signal aborts: queued, running, or before it was submitted", async () => {
    const runtime = new SchedulerRuntime<string>(config());
    const started: string[] = [];
    let taskAbort: unknown;
    const hangUp = new AbortController();
    const running = runtime.run(
      { id: 'r', variant: 0, tier: 0, account: 'a' },
      (signal) => {
        started.push('r');
        signal.once('abort', () => (taskAbort = signal.reason));
        return new Promise<void>(() => undefined); // ends only by being withdrawn
      },
      { signal: hangUp.signal },
    );
    const timeout = new AbortController();
    const waiting = runtime.run({ id: 'w', variant: 0, tier: 0, account: 'a' }, async () => void started.push('w'), { signal: timeout.signal });
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['r']);

    timeout.abort();
    await expect(waiting).rejects.toMatchObject({ state: 'cancelled' });
    hangUp.abort();
    await expect(running).rejects.toMatchObject({ state: 'cancelled' });
    expect(taskAbort).toMatchObject({ state: 'cancelled' });
    expect(runtime.core.inflight(0)).toBe(0);

    // the freed slot serves the next request; a signal that outlives its request changes nothing
    const kept = new AbortController();
    await expect(runtime.run({ id: 'n', variant: 0, tier: 0, account: 'a' }, async () => 'done', { signal: kept.signal })).resolves.toBe('done');
    // a long-lived signal shared by many requests must not collect a listener per request
    expect(getEventListeners(kept.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(hangUp.signal, 'abort')).toHaveLength(0);
    kept.abort();

    const gone = new AbortController();
    gone.abort();
    await expect(runtime.run({ id: 'late', variant: 0, tier: 0, account: 'a' }, async () => void started.push('late'), { signal: gone.signal })).rejects.toMatchObject({ state: 'cancelled' });
    expect(started).toEqual(['r']); // neither the withdrawn 'w' nor the never-submitted 'late' ran
    expect(runtime.core.counters).toMatchObject({ queued: 3, dispatched: 2, completed: 1, cancelled: 2 });
    expect(runtime.unfinished).toEqual([]);
    runtime.close();
  });

  it('says why it rejected: the retry-after of a throttled request, the state of any other', async () => {
    const runtime = new SchedulerRuntime<string>({ ...config(), accountRates: { slow: { rate: 1, burst: 1 } } }, { clock: () => 100 });
    await expect(runtime.run({ id: '1', variant: 0, tier: 0, account: 'slow' }, async () => 'first')).resolves.toBe('first');
    // one token a second, none left: the next one is due in exactly 1000 ms on the fixed clock
    await expect(runtime.run({ id: '2', variant: 0, tier: 0, account: 'slow' }, async () => undefined)).rejects.toMatchObject({
      name: 'SchedulingRejected',
      state: 'throttled',
      retryAfterMs: 1000,
      message: 'throttled: retry after 1000 ms',
    });
    await expect(runtime.run({ id: '3', variant: 0, tier: 0, account: 'a', deadline: 50 }, async () => undefined)).rejects.toMatchObject({
      name: 'SchedulingRejected',
      state: 'expired',
      retryAfterMs: 0,
      message: 'request expired',
    });
    runtime.close();
  });

  it('reads deadlines on performance.now() unless given a clock', async () => {
    const runtime = new SchedulerRuntime<string>(config());
    await expect(runtime.run({ id: 'past', variant: 0, tier: 0, account: 'a', deadline: performance.now() - 1 }, async () => 'ran')).rejects.toMatchObject({
      state: 'expired',
    });
    await expect(runtime.run({ id: 'future', variant: 0, tier: 0, account: 'a', deadline: performance.now() + 60_000 }, async () => 'ran')).resolves.toBe('ran');
    runtime.close();
  });

  it('expires waiting requests by its timer while nothing else happens, and stops the timer once no request is left', async () => {
    const clock = manualClock();
    const runtime = new SchedulerRuntime<string>(config(), { clock: clock.read, expiryIntervalMs: 1 });
    const gate = deferred();
    const running = runtime.run({ id: 'r', variant: 0, tier: 0, account: 'a' }, () => gate.promise);
    // handled from the start: they reject inside a timer tick, before the test awaits them
    const soon = expect(runtime.run({ id: 'soon', variant: 0, tier: 0, account: 'a', deadline: 5 }, async () => undefined)).rejects.toMatchObject({ state: 'expired' });
    const later = expect(runtime.run({ id: 'later', variant: 0, tier: 0, account: 'a', deadline: 100 }, async () => undefined)).rejects.toMatchObject({ state: 'expired' });
    await new Promise((r) => setImmediate(r)); // the pump: 'r' runs, the others wait behind it
    const state = () => runtime.unfinished.map((t) => `${t.id}:${t.state}`);
    expect(state()).toEqual(['r:running', 'soon:queued', 'later:queued']);

    // no submission, completion or cancellation follows: only the timer can notice the deadlines
    clock.now = 10;
    await afterExpiryTicks();
    expect(state()).toEqual(['r:running', 'later:queued']);
    await soon;
    // the timer keeps watching while requests are left
    clock.now = 200;
    await afterExpiryTicks();
    expect(state()).toEqual(['r:running']);
    await later;

    gate.resolve();
    await running;
    await afterExpiryTicks(); // a tick that finds nothing left stops the timer
    const readsWhenIdle = clock.reads;
    await afterExpiryTicks();
    expect(clock.reads).toBe(readsWhenIdle);
    runtime.close();
  });

  it('runs no timer for requests without a deadline nor for one turned away', async () => {
    const clock = manualClock();
    const runtime = new SchedulerRuntime<string>({ ...config(), accountRates: { slow: { rate: 1, burst: 1 } } }, { clock: clock.read, expiryIntervalMs: 1 });
    const gate = deferred();
    const running = runtime.run({ id: 'r', variant: 0, tier: 0, account: 'slow' }, () => gate.promise);
    await new Promise((r) => setImmediate(r));
    await expect(runtime.run({ id: 't', variant: 0, tier: 0, account: 'slow', deadline: 50 }, async () => undefined)).rejects.toMatchObject({
      state: 'throttled',
    });
    const readsAfterSubmissions = clock.reads;
    await afterExpiryTicks();
    expect(clock.reads).toBe(readsAfterSubmissions); // no timer tick and no pump looked at the clock
    gate.resolve();
    await running;
    runtime.close();
  });

  it('hands the slot of a cancelled running request to the next waiting one', async () => {
    const runtime = new SchedulerRuntime<string>(config());
    const started: string[] = [];
    const running = runtime.run({ id: 'r', variant: 0, tier: 0, account: 'a' }, () => new Promise<void>(() => undefined)); // never finishes on its own
    const next = runtime.run({ id: 'n', variant: 0, tier: 0, account: 'a' }, async () => {
      started.push('n');
      return 'next ran';
    });
    await new Promise((r) => setImmediate(r));
    const ticket = runtime.unfinished.find((t) => t.id === 'r')!;
    expect(runtime.cancel(ticket)).toBe(true);
    await expect(running).rejects.toMatchObject({ state: 'cancelled', message: 'request cancelled' });
    await new Promise((r) => setImmediate(r)); // the pump the cancellation scheduled
    expect(started).toEqual(['n']);
    await expect(next).resolves.toBe('next ran');
    expect(runtime.cancel(ticket)).toBe(false); // already ended
    runtime.close();
  });

  it('never starts a request cancelled between its dispatch and the start of its task', async () => {
    const runtime = new SchedulerRuntime<string>(config({ concurrency: 2 }));
    const started: string[] = [];
    // Both are dispatched by one pump; the first task to start withdraws its twin (a hedged request).
    const first = runtime.run({ id: 'first', variant: 0, tier: 0, account: 'a' }, async () => {
      started.push('first');
      runtime.cancel(runtime.unfinished.find((t) => t.id === 'twin')!);
      return 'first ran';
    });
    const twin = runtime.run({ id: 'twin', variant: 0, tier: 0, account: 'a' }, async () => void started.push('twin'));
    await expect(first).resolves.toBe('first ran');
    await expect(twin).rejects.toMatchObject({ state: 'cancelled' });
    expect(started).toEqual(['first']);
    expect(runtime.core.counters).toMatchObject({ dispatched: 2, completed: 1, cancelled: 1 });
    runtime.close();
  });

  it('treats a task that throws synchronously like one that rejects: its run rejects and its slot is freed', async () => {
    const runtime = new SchedulerRuntime<string>(config());
    const failing = runtime.run({ id: 'f', variant: 0, tier: 0, account: 'a' }, () => {
      throw new Error('bad input');
    });
    const next = runtime.run({ id: 'n', variant: 0, tier: 0, account: 'a' }, async () => 'next ran');
    const outcome = failing.catch((err: unknown) => err);
    await new Promise((r) => setImmediate(r)); // the pump, then the failing task in a microtask
    expect(runtime.unfinished.map((t) => t.id)).toEqual(['n']);
    expect(await outcome).toMatchObject({ message: 'bad input' });
    await expect(next).resolves.toBe('next ran');
    runtime.close();
  });

  it('close stops the timers: queued requests stay queued though a slot frees or their deadline passes, until cancelled', async () => {
    const clock = manualClock();
    const runtime = new SchedulerRuntime<string>(config(), { clock: clock.read, expiryIntervalMs: 1 });
    const started: string[] = [];
    const gate = deferred();
    const running = runtime.run({ id: 'r', variant: 0, tier: 0, account: 'a' }, async () => {
      await gate.promise;
      return 'r done';
    });
    await new Promise((r) => setImmediate(r));
    // submitted in one tick, each asking for a pump, the first for the expiry timer too; closed before either fires
    const withDeadline = runtime.run({ id: 'd', variant: 0, tier: 0, account: 'a', deadline: 5 }, async () => void started.push('d'));
    const other = runtime.run({ id: 'o', variant: 0, tier: 0, account: 'a' }, async () => void started.push('o'));
    runtime.close();
    clock.now = 10;
    await afterExpiryTicks();
    gate.resolve();
    await expect(running).resolves.toBe('r done'); // its completion schedules no pump either
    await afterExpiryTicks();
    expect(runtime.unfinished.map((t) => `${t.id}:${t.state}`)).toEqual(['d:queued', 'o:queued']);
    expect(started).toEqual([]);

    for (const ticket of runtime.unfinished) expect(runtime.cancel(ticket)).toBe(true);
    await expect(withDeadline).rejects.toMatchObject({ state: 'cancelled' });
    await expect(other).rejects.toMatchObject({ state: 'cancelled' });
  });
});

/** An admission that records what the runtime told it, in order. */
function recording(name: string, log: string[]): Admission<string> & { started: Ticket<string> | undefined } {
  return {
    started: undefined,
    onStart(ticket) {
      this.started = ticket;
      log.push(`${name} started`);
    },
    onReject(rejected) {
      log.push(`${name} ${rejected.state}`);
    },
  };
}

describe('SchedulerRuntime.admit', () => {
  it('starts admitted requests by weight after the tick, and a release hands the slot on', async () => {
    const runtime = new SchedulerRuntime<string>(config());
    const log: string[] = [];
    const low = recording('low', log);
    const high = recording('high', log);
    const lowTicket = runtime.admit({ id: 'low', variant: 0, tier: 1, account: 'a' }, low);
    const highTicket = runtime.admit({ id: 'high', variant: 0, tier: 0, account: 'a' }, high);
    expect(log).toEqual([]);
    expect(runtime.unfinished.map((t) => t.id)).toEqual(['low', 'high']);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['high started']);
    expect(high.started).toBe(highTicket);
    expect(runtime.release(highTicket)).toBe(true);
    expect(runtime.release(highTicket)).toBe(false); // once only
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['high started', 'low started']);
    expect(runtime.release(lowTicket)).toBe(true);
    expect(runtime.unfinished).toEqual([]);
    expect(runtime.core.counters).toMatchObject({ dispatched: 2, completed: 2 });
    runtime.close();
  });

  it('tells a request turned away on arrival at once, and keeps nothing of it', () => {
    const runtime = new SchedulerRuntime<string>({ ...config(), accountRates: { slow: { rate: 1, burst: 1 } } });
    const log: string[] = [];
    runtime.admit({ id: '1', variant: 0, tier: 0, account: 'slow' }, recording('first', log));
    const second = runtime.admit({ id: '2', variant: 0, tier: 0, account: 'slow' }, recording('second', log));
    expect(log).toEqual(['second throttled']);
    expect(second.state).toBe('throttled');
    expect(runtime.unfinished.map((t) => t.id)).toEqual(['1']);
    expect(runtime.release(second)).toBe(false);
    runtime.close();
  });

  it('a request cancelled while running is rejected once, and its late release changes nothing', async () => {
    const runtime = new SchedulerRuntime<string>(config());
    const log: string[] = [];
    const ticket = runtime.admit({ id: 'r', variant: 0, tier: 0, account: 'a' }, recording('r', log));
    const waiting = runtime.admit({ id: 'w', variant: 0, tier: 0, account: 'a' }, recording('w', log));
    await new Promise((r) => setImmediate(r));
    expect(runtime.cancel(ticket)).toBe(true);
    expect(log).toEqual(['r started', 'r cancelled']);
    expect(runtime.release(ticket)).toBe(false);
    expect(runtime.core.counters).toMatchObject({ completed: 0, cancelled: 1 });
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['r started', 'r cancelled', 'w started']);
    expect(runtime.release(waiting)).toBe(true);
    runtime.close();
  });

  it('lets go of an ended request: its ticket no longer holds the runtime state that reaches the admission', async () => {
    const runtime = new SchedulerRuntime<string>(config());
    const ticket = runtime.admit({ id: 'x', variant: 0, tier: 0, account: 'a', deadline: 1e12 }, recording('x', []));
    expect(runtime.core.attachment(ticket)).not.toBeNull();
    await new Promise((r) => setImmediate(r));
    runtime.release(ticket);
    // The deadline index may still hold the ended ticket; it must not keep the request's objects alive.
    expect(runtime.core.deadlineEntries(0)).toBe(1);
    expect(runtime.core.attachment(ticket)).toBeNull();
    runtime.close();
  });

  it('a start that throws frees its slot and still starts the requests dispatched with it', async () => {
    const runtime = new SchedulerRuntime<string>(config({ concurrency: 2 }));
    const log: string[] = [];
    const thrown: unknown[] = [];
    const onUncaught = (err: unknown) => thrown.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      runtime.admit({ id: 'bad', variant: 0, tier: 0, account: 'a' }, { onStart: () => { throw new Error('broken admission'); }, onReject: () => log.push('bad rejected') });
      const good = runtime.admit({ id: 'good', variant: 0, tier: 0, account: 'a' }, recording('good', log));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(log).toEqual(['good started']);
      expect(runtime.unfinished.map((t) => t.id)).toEqual(['good']);
      expect(runtime.core.counters.completed).toBe(1);
      expect(thrown).toMatchObject([{ message: 'broken admission' }]);
      runtime.release(good);
    } finally {
      process.off('uncaughtException', onUncaught);
      runtime.close();
    }
  });
});

describe('TaskSignal', () => {
  it('aborts once, with its reason, and hands an AbortSignal to APIs that need one, made before or after the abort', () => {
    const signal = new TaskSignal();
    const early = signal.toAbortSignal();
    const seen: unknown[] = [];
    signal.on('abort', (reason: unknown) => seen.push(reason));
    expect(signal.aborted).toBe(false);
    expect(early.aborted).toBe(false);
    signal.abort('first');
    signal.abort('second');
    expect(seen).toEqual(['first']);
    expect(signal).toMatchObject({ aborted: true, reason: 'first' });
    expect(early.aborted).toBe(true);
    expect(early.reason).toBe('first');
    const late = signal.toAbortSignal();
    expect(late.aborted).toBe(true);
    expect(late.reason).toBe('first');
  });
});
