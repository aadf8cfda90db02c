/**
 * `npm run bench -- scheduler [--json] [--requests N]`: the dispatch loop against p-queue
 * (priority + concurrency) and Bottleneck (priority + maxConcurrent), doing the same job on the
 * same input in one process: a mixed workload over the 7 tiers of priorities.json and 50 model
 * variants, each request enqueued, dispatched under the variant's concurrency limit and completed.
 *
 * Figures:
 * - steady-state decisions/s: one enqueue → dispatch → complete cycle per decision, the variant
 *   kept backlogged (prio only: the peers have no synchronous API to drive this way);
 * - batch job ops/s for all three: batches of 1,000 requests enqueued, then run to completion,
 *   measured in interleaved rounds (see batchRates);
 * - per-decision latency p50/p99 (HDR histogram, nanoseconds) of the steady-state cycle;
 * - heap bytes per queued request, measured at two queue depths, and after draining.
 *
 * Rates divide by the process's CPU time (user + system), not the wall clock: on a shared
 * machine the wall clock also counts the time other processes held the core. Wall-clock rates
 * are reported next to them.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Bottleneck from 'bottleneck';
import { build as buildHistogram } from 'hdr-histogram-js';
import PQueue from 'p-queue';
import { loadDomain } from '../src/config/index.js';
import { seededRandom } from '../src/random/index.js';
import { DispatchCore, type SchedulerConfig, type Ticket } from '../src/scheduler/index.js';
import type { BenchSuite } from './harness.js';

const VARIANTS = 50;

interface Timing {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
}

function startTiming(): () => Timing {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  return () => {
    const used = process.cpuUsage(cpu);
    return { cpuSeconds: (used.user + used.system) / 1e6, wallSeconds: Number(process.hrtime.bigint() - wall) / 1e9 };
  };
}

const rate = (count: number, t: Timing) => ({ perCpuSecond: count / t.cpuSeconds, perWallSecond: count / t.wallSeconds });

const CONCURRENCY = 8;
const BATCH = 1_000;

/**
 * The workload as parallel typed arrays: reading it costs the measured loops next to nothing,
 * and millions of requests do not sit in the heap as objects for the collector to trace.
 */
interface Workload {
  readonly length: number;
  readonly variant: Int32Array;
  readonly tier: Int32Array;
  /** Index into ACCOUNTS. */
  readonly account: Int32Array;
}

const ACCOUNTS = Array.from({ length: 200 }, (_, i) => `acct-${i}`);

function workload(count: number, tiers: number, seed: number): Workload {
  const random = seededRandom(seed);
  // Skewed like real traffic: most requests in the middle tiers, few at the extremes.
  const tierShare = [0.05, 0.1, 0.15, 0.35, 0.15, 0.12, 0.08].slice(0, tiers);
  const total = tierShare.reduce((x, y) => x + y, 0);
  const w = { length: count, variant: new Int32Array(count), tier: new Int32Array(count), account: new Int32Array(count) };
  for (let i = 0; i < count; i++) {
    let u = random() * total;
    let tier = 0;
    while (tier < tiers - 1 && u >= (tierShare[tier] as number)) u -= tierShare[tier++] as number;
    w.variant[i] = Math.floor(random() * VARIANTS);
    w.tier[i] = tier;
    w.account[i] = Math.floor(random() * ACCOUNTS.length);
  }
  return w;
}

function prefix(w: Workload, count: number): Workload {
  const n = Math.min(count, w.length);
  return { length: n, variant: w.variant.subarray(0, n), tier: w.tier.subarray(0, n), account: w.account.subarray(0, n) };
}

function config(weights: readonly number[], queueBound: number): SchedulerConfig {
  return {
    tierWeights: weights,
    variants: Array.from({ length: VARIANTS }, (_, i) => ({ id: `model-${i}`, concurrency: CONCURRENCY, queueBound, qosPreemption: false })),
  };
}

/**
 * Steady state: every variant full and backlogged; each decision enqueues one request, completes
 * the oldest running request of that variant and dispatches the next by weight. With `latency`,
 * each decision is timed on its own (a separate loop, so the untimed one carries no clock reads).
 */
function steadyState(weights: readonly number[], w: Workload, latency?: { recordValue(ns: number): void }): { decisions: number; timing: Timing } {
  // Per variant, a ring of exactly its running requests (oldest first), so the harness keeps
  // nothing alive that the scheduler has let go of.
  const ring: (Ticket<number> | undefined)[][] = Array.from({ length: VARIANTS }, () => new Array<Ticket<number> | undefined>(CONCURRENCY).fill(undefined));
  const head = new Int32Array(VARIANTS);
  const size = new Int32Array(VARIANTS);
  const core = new DispatchCore<number>(
    config(weights, 1 << 30),
    (_, t) => {
      const v = t.variant;
      (ring[v] as (Ticket<number> | undefined)[])[((head[v] as number) + (size[v] as number)) % CONCURRENCY] = t;
      size[v] = (size[v] as number) + 1;
    },
    ['dispatched'],
  );
  // prime: fill every variant's slots and a backlog of 16
  let id = 0;
  for (let v = 0; v < VARIANTS; v++) for (let k = 0; k < CONCURRENCY + 16; k++) core.submit({ id: id++, variant: v, tier: k % weights.length, account: 'prime' }, 0);
  core.pump(0);
  const n = w.length;
  const request = { id: 0, variant: 0, tier: 0, account: '' };
  const decide = (i: number, now: number) => {
    const v = w.variant[i] as number;
    request.id = i;
    request.variant = v;
    request.tier = w.tier[i] as number;
    request.account = ACCOUNTS[w.account[i] as number] as string;
    core.submit(request, now);
    const slots = ring[v] as (Ticket<number> | undefined)[];
    const oldest = head[v] as number;
    const t = slots[oldest] as Ticket<number>;
    slots[oldest] = undefined;
    head[v] = (oldest + 1) % CONCURRENCY;
    size[v] = (size[v] as number) - 1;
    core.complete(t, now);
    core.pumpVariant(v, now);
  };
  const stop = startTiming();
  if (latency === undefined) {
    for (let i = 0; i < n; i++) decide(i, 1 + (i >> 10));
  } else {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      decide(i, 1 + (i >> 10));
      latency.recordValue(Number(process.hrtime.bigint() - t0));
    }
  }
  const timing = stop();
  if (core.counters.dispatched !== VARIANTS * CONCURRENCY + n) throw new Error('steady state lost a decision');
  return { decisions: n, timing };
}

/**
 * The batch job with prio: enqueue a batch, then dispatch and complete until it has all run.
 * Used as its API documents: the listener hears only dispatches (the one event this driver acts
 * on), and one request object is refilled per submission (the core copies what it keeps).
 */
function prioBatches(weights: readonly number[], w: Workload): number {
  // Two buffers in turn: this round's dispatches are completed while the pump fills the other.
  let started: Ticket<number>[] = [];
  let next: Ticket<number>[] = [];
  const core = new DispatchCore<number>(config(weights, 1 << 30), (_, t) => next.push(t), ['dispatched']);
  const request = { id: 0, variant: 0, tier: 0, account: '' };
  let now = 0;
  let completed = 0;
  for (let b = 0; b < w.length; b += BATCH) {
    const end = Math.min(w.length, b + BATCH);
    for (let i = b; i < end; i++) {
      request.id = i;
      request.variant = w.variant[i] as number;
      request.tier = w.tier[i] as number;
      request.account = ACCOUNTS[w.account[i] as number] as string;
      core.submit(request, now);
    }
    core.pump(now);
    while (next.length > 0) {
      now++;
      [started, next] = [next, started];
      for (let k = 0; k < started.length; k++) core.complete(started[k] as Ticket<number>, now);
      completed += started.length;
      started.length = 0;
      core.pump(now);
    }
  }
  return completed;
}

async function pQueueBatches(weights: readonly number[], w: Workload): Promise<number> {
  const queues = Array.from({ length: VARIANTS }, () => new PQueue({ concurrency: CONCURRENCY }));
  let completed = 0;
  const task = async () => {
    completed++;
  };
  // p-queue: larger priority runs first. One options object per tier, made once.
  const options = weights.map((_, tier) => ({ priority: weights.length - tier }));
  for (let b = 0; b < w.length; b += BATCH) {
    const end = Math.min(w.length, b + BATCH);
    for (let i = b; i < end; i++) {
      void (queues[w.variant[i] as number] as PQueue).add(task, options[w.tier[i] as number]);
    }
    await Promise.all(queues.map((q) => q.onIdle()));
  }
  return completed;
}

async function bottleneckBatches(weights: readonly number[], w: Workload): Promise<number> {
  const limiters = Array.from({ length: VARIANTS }, () => new Bottleneck({ maxConcurrent: CONCURRENCY }));
  let completed = 0;
  const task = async () => {
    completed++;
  };
  // Bottleneck: priority 0-9, lower runs first. One options object per tier, made once.
  const options = weights.map((_, tier) => ({ priority: tier }));
  for (let b = 0; b < w.length; b += BATCH) {
    const end = Math.min(w.length, b + BATCH);
    const pending: Promise<void>[] = [];
    for (let i = b; i < end; i++) pending.push((limiters[w.variant[i] as number] as Bottleneck).schedule(options[w.tier[i] as number] as { priority: number }, task));
    await Promise.all(pending);
  }
  await Promise.all(limiters.map((l) => l.disconnect()));
  return completed;
}

/**
 * Agreement on a sample: one variant with one slot, 210 requests enqueued at once. All three
 * must run every request exactly once, never more than one at a time, and keep FIFO inside each
 * tier. (Across tiers they differ by design: the peers are strict priority, prio is weighted.)
 */
async function checkAgreement(weights: readonly number[]): Promise<void> {
  const sample = Array.from({ length: 210 }, (_, i) => ({ id: i, tier: (i * 7 + Math.floor(i / 3)) % weights.length }));
  const perTier = (order: readonly number[]) => weights.map((_, t) => order.filter((id) => (sample[id] as { tier: number }).tier === t).join(','));
  const prioOrder: number[] = [];
  const core = new DispatchCore<number>({ tierWeights: weights, variants: [{ id: 'm', concurrency: 1, queueBound: 1000, qosPreemption: false }] }, (kind, t) => {
    if (kind === 'dispatched') prioOrder.push(t.id);
  });
  const tickets = sample.map((s) => core.submit({ id: s.id, variant: 0, tier: s.tier, account: 'a' }, 0));
  for (let now = 0; core.pump(now) > 0; now++) for (const t of tickets) if (t.state === 'running') core.complete(t, now);

  const peerOrder = async (run: (id: number, tier: number, task: () => Promise<void>) => Promise<void>) => {
    const order: number[] = [];
    let active = 0;
    await Promise.all(
      sample.map((s) =>
        run(s.id, s.tier, async () => {
          if (++active > 1) throw new Error('concurrency exceeded');
          order.push(s.id);
          await Promise.resolve();
          active--;
        }),
      ),
    );
    return order;
  };
  const pq = new PQueue({ concurrency: 1 });
  const pqOrder = await peerOrder((_, tier, task) => pq.add(task, { priority: weights.length - tier }));
  const limiter = new Bottleneck({ maxConcurrent: 1 });
  const bnOrder = await peerOrder((_, tier, task) => limiter.schedule({ priority: tier }, task));
  await limiter.disconnect();
  for (const [name, order] of [['p-queue', pqOrder], ['bottleneck', bnOrder]] as const) {
    if (order.length !== sample.length || new Set(order).size !== sample.length) throw new Error(`${name} did not run every sample request once`);
    if (JSON.stringify(perTier(order)) !== JSON.stringify(perTier(prioOrder))) throw new Error(`${name} and prio disagree on the order inside a tier`);
  }
  if (prioOrder.length !== sample.length) throw new Error('prio did not run every sample request');
}

function heapBytesPerQueued(weights: readonly number[]): { bytesPerQueued: number; retainedAfterDrainBytes: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const ops = workload(200_000, weights.length, 3);
  const measure = (count: number) => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const core = new DispatchCore<number>(config(weights, 1 << 30));
    for (let i = 0; i < count; i++) {
      core.submit({ id: i, variant: ops.variant[i] as number, tier: ops.tier[i] as number, account: ACCOUNTS[ops.account[i] as number] as string }, 0);
    }
    gc();
    const queued = process.memoryUsage().heapUsed - before;
    // keep the core alive until measured
    return { queued, queuedCount: core.queued(0) };
  };
  const small = measure(50_000);
  const large = measure(200_000);
  const bytesPerQueued = (large.queued - small.queued) / 150_000;
  // drain the large core: dispatch and complete everything, then compare to an empty core
  const started: Ticket<number>[] = [];
  const core = new DispatchCore<number>(config(weights, 1 << 30), (kind, t) => {
    if (kind === 'dispatched') started.push(t);
  });
  gc();
  const base = process.memoryUsage().heapUsed;
  for (let i = 0; i < 200_000; i++) {
    core.submit({ id: i, variant: ops.variant[i] as number, tier: ops.tier[i] as number, account: ACCOUNTS[ops.account[i] as number] as string }, 0);
  }
  core.pump(0);
  while (started.length > 0) {
    for (const t of started.splice(0)) core.complete(t, 1);
    core.pump(1);
  }
  gc();
  return { bytesPerQueued, retainedAfterDrainBytes: process.memoryUsage().heapUsed - base };
}

interface Contender {
  readonly name: string;
  /** Requests one run of the job handles. */
  readonly requests: number;
  /** Runs the whole job once; returns the number of requests that completed. */
  readonly run: () => number | Promise<number>;
}

interface BatchRate {
  readonly perCpuSecond: number;
  readonly perWallSecond: number;
  /** Runs of the job per timed round, chosen so a round lasts at least the minimum (see batchRates). */
  readonly runsPerRound: number;
  /** Each round's rate per CPU second, in the order the rounds ran. */
  readonly rounds: readonly number[];
}

/**
 * The median over rounds of a's rate divided by b's in the same round. Rounds interleave, so
 * the two rates of a pair were measured seconds apart under the same machine load; shown next to
 * the ratio of the medians, it says how much of a run-to-run swing is load.
 */
function pairedRatio(a: BatchRate, b: BatchRate): number {
  const ratios = a.rounds.map((x, r) => x / (b.rounds[r] as number)).sort((x, y) => x - y);
  return ratios[Math.floor(ratios.length / 2)] as number;
}

/**
 * The same method for every contender. Each first runs its whole job once untimed (so it is
 * measured with its code optimized, not while the JIT is still compiling it), then once timed
 * to size its rounds: a round repeats the job as often as it takes to last `minRoundSeconds` of
 * CPU, so a fast contender's round is not a handful of milliseconds that one scheduler hiccup
 * can halve. Rounds then interleave: round r runs every contender once, starting with a
 * different one each time, so a change of machine load falls on all of them alike. (No forced
 * collection between rounds: a full GC shrinks V8's young generation, and the next rounds then
 * promote short-lived objects until it has grown back, which slowed every contender, prio 5×.)
 * The median round is reported, every round's rate beside it.
 */
async function batchRates(contenders: readonly Contender[], rounds: number, minRoundSeconds: number): Promise<Map<string, BatchRate>> {
  const runChecked = async (c: Contender) => {
    if ((await c.run()) !== c.requests) throw new Error(`${c.name} lost requests`);
  };
  const runsPerRound = new Map<string, number>();
  for (const c of contenders) {
    await runChecked(c);
    const stop = startTiming();
    await runChecked(c);
    runsPerRound.set(c.name, Math.max(1, Math.ceil(minRoundSeconds / Math.max(stop().cpuSeconds, 1e-6))));
  }
  const measured = new Map<string, { perCpuSecond: number; perWallSecond: number }[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length] as Contender;
      const runs = runsPerRound.get(c.name) as number;
      const stop = startTiming();
      for (let i = 0; i < runs; i++) await runChecked(c);
      measured.get(c.name)?.push(rate(runs * c.requests, stop()));
    }
  }
  const out = new Map<string, BatchRate>();
  for (const c of contenders) {
    const inOrder = measured.get(c.name) ?? [];
    const median = [...inOrder].sort((a, b) => a.perCpuSecond - b.perCpuSecond)[Math.floor(inOrder.length / 2)] as { perCpuSecond: number; perWallSecond: number };
    out.set(c.name, { ...median, runsPerRound: runsPerRound.get(c.name) as number, rounds: inOrder.map((m) => Math.round(m.perCpuSecond)) });
  }
  return out;
}

function argValue(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export const suite: BenchSuite = async ({ args, log }) => {
  const weights = loadDomain().scale.tiers.map((t) => t.weight);
  const requests = argValue(args, '--requests', 2_000_000);
  const peerRequests = argValue(args, '--peer-requests', 100_000);
  const bottleneckRequests = argValue(args, '--bottleneck-requests', 10_000);
  const rounds = argValue(args, '--rounds', 7);
  const minRoundSeconds = argValue(args, '--min-round-seconds', 0.25);
  log('checking that prio, p-queue and Bottleneck agree on a sample…');
  await checkAgreement(weights);

  const ops = workload(requests, weights.length, 1);
  log(`steady state: ${requests.toLocaleString('en-US')} decisions over ${VARIANTS} variants × ${weights.length} tiers…`);
  steadyState(weights, prefix(ops, 200_000)); // warm-up
  const steady = steadyState(weights, ops);
  const steadyRate = rate(steady.decisions, steady.timing);
  const steadyPerSec = steadyRate.perCpuSecond;

  const histogram = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  steadyState(weights, prefix(ops, 500_000), histogram);
  const p50 = histogram.getValueAtPercentile(50);
  const p99 = histogram.getValueAtPercentile(99);
  // the clock's own cost, to read the latency figures against
  const clockHistogram = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < 500_000; i++) {
    const t0 = process.hrtime.bigint();
    clockHistogram.recordValue(Number(process.hrtime.bigint() - t0));
  }

  log(`batch job: prio and p-queue on ${peerRequests.toLocaleString('en-US')} requests, Bottleneck on ${bottleneckRequests.toLocaleString('en-US')} (the same input's prefix), ${rounds} interleaved rounds of at least ${minRoundSeconds} CPU-s each…`);
  const peerOps = prefix(ops, peerRequests);
  const bnOps = prefix(ops, bottleneckRequests);
  const batch = await batchRates(
    [
      { name: 'prio', requests: peerOps.length, run: () => prioBatches(weights, peerOps) },
      { name: 'p-queue', requests: peerOps.length, run: () => pQueueBatches(weights, peerOps) },
      { name: 'bottleneck', requests: bnOps.length, run: () => bottleneckBatches(weights, bnOps) },
    ],
    rounds,
    minRoundSeconds,
  );
  const prioBatch = batch.get('prio') as BatchRate;
  const pQueue = batch.get('p-queue') as BatchRate;
  const bottleneck = batch.get('bottleneck') as BatchRate;
  const prioBatchPerSec = prioBatch.perCpuSecond;
  const pQueuePerSec = pQueue.perCpuSecond;
  const bottleneckPerSec = bottleneck.perCpuSecond;

  log('memory per queued request…');
  const memory = heapBytesPerQueued(weights);

  const vsPQueue = prioBatchPerSec / pQueuePerSec;
  const vsBottleneck = prioBatchPerSec / bottleneckPerSec;
  const pairedVsPQueue = pairedRatio(prioBatch, pQueue);
  const pairedVsBottleneck = pairedRatio(prioBatch, bottleneck);
  return {
    suite: 'scheduler',
    rates: 'per CPU second of this process (opsPerWallSecond: per wall-clock second)',
    workload: { variants: VARIANTS, tiers: weights.length, concurrencyPerVariant: CONCURRENCY, batch: BATCH, requests, peerRequests, bottleneckRequests, rounds, minRoundSeconds },
    results: [
      { name: 'prio', opsPerSec: prioBatchPerSec, opsPerWallSecond: prioBatch.perWallSecond, runsPerRound: prioBatch.runsPerRound, roundsPerCpuSecond: prioBatch.rounds, steadyStateDecisionsPerSec: steadyPerSec, steadyStateDecisionsPerWallSecond: steadyRate.perWallSecond, decisionLatencyNs: { p50, p99 }, clockOverheadNs: { p50: clockHistogram.getValueAtPercentile(50), p99: clockHistogram.getValueAtPercentile(99) }, memory },
      { name: 'p-queue', opsPerSec: pQueuePerSec, opsPerWallSecond: pQueue.perWallSecond, runsPerRound: pQueue.runsPerRound, roundsPerCpuSecond: pQueue.rounds },
      { name: 'bottleneck', opsPerSec: bottleneckPerSec, opsPerWallSecond: bottleneck.perWallSecond, runsPerRound: bottleneck.runsPerRound, roundsPerCpuSecond: bottleneck.rounds },
    ],
    targets: [
      { target: '>= 2,000,000 decisions/s on one core', measured: `${Math.round(steadyPerSec).toLocaleString('en-US')} steady-state, ${Math.round(prioBatchPerSec).toLocaleString('en-US')} batch`, met: steadyPerSec >= 2_000_000 },
      // Judged on the ratio of the medians; the median of same-round ratios is shown beside it.
      { target: '>= 20x p-queue', measured: `${vsPQueue.toFixed(1)}x (same-round ratios: median ${pairedVsPQueue.toFixed(1)}x)`, met: vsPQueue >= 20 },
      { target: '>= 1,000x Bottleneck', measured: `${vsBottleneck.toFixed(0)}x (same-round ratios: median ${pairedVsBottleneck.toFixed(0)}x)`, met: vsBottleneck >= 1000 },
      { target: 'p99 decision latency < 2 µs', measured: `${p99} ns (p50 ${p50} ns, clock read itself p99 ${clockHistogram.getValueAtPercentile(99)} ns)`, met: p99 < 2000 },
      { target: 'memory proportional to queued requests', measured: `${Math.round(memory.bytesPerQueued)} B per queued request; ${Math.round(memory.retainedAfterDrainBytes / 1024)} KiB retained after draining 200,000`, met: memory.retainedAfterDrainBytes < 5 * 1024 * 1024 },
    ],
  };
};
