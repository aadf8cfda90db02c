import { describe, expect, it } from 'vitest';
import { SchedulerRuntime, SchedulingRejected, type SchedulerConfig } from '../../src/scheduler/index.js';

const config = (over: Partial<SchedulerConfig['variants'][number]> = {}): SchedulerConfig => ({
  tierWeights: [4, 1],
  variants: [{ id: 'm', concurrency: 1, queueBound: 10, qosPreemption: true, ...over }],
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
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
      signal.addEventListener('abort', () => (aborted = signal.reason));
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
        signal.addEventListener('abort', () => (taskAbort = signal.reason));
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
    kept.abort();

    const gone = new AbortController();
    gone.abort();
    await expect(runtime.run({ id: 'late', variant: 0, tier: 0, account: 'a' }, async () => void started.push('late'), { signal: gone.signal })).rejects.toMatchObject({ state: 'cancelled' });
    expect(started).toEqual(['r']); // neither the withdrawn 'w' nor the never-submitted 'late' ran
    expect(runtime.core.counters).toMatchObject({ queued: 3, dispatched: 2, completed: 1, cancelled: 2 });
    expect(runtime.unfinished).toEqual([]);
    runtime.close();
  });
});
