/**
 * `npm run bench -- appconfig --json`: what the runtime configuration provider costs.
 *
 * 1. Rule evaluations through the provider, as `prio serve` does them (one `provider.current()`
 *    per request, then `snapshot.tiered.evaluate(request)`), against direct evaluation of the very
 *    same compiled rule set, in alternating rounds of the same run. Target: >= 95%.
 * 2. Validate + compile + swap: rules/service_tier.json composed with the overrides profile
 *    (rules/overrides.example.json, 56 accounts) and the flags, handed to a running provider as
 *    JSON text, parsed, validated, compiled and swapped in; each swap timed into an HDR histogram.
 *    Every swap hands over a rules document never handed over before (its description names the
 *    swap), so each one is parsed, validated and compiled in full.
 *    Target: p99 < 5 ms.
 * 3. Heap over 10,000 such swaps, after full collections: it must stay flat (< 1 MB growth).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { build as buildHistogram } from 'hdr-histogram-js';
import { loadBaked, PushSource, RuntimeConfigProvider, type ConfigSnapshot, type ProviderLogger, type RawDocument } from '../src/appconfig/index.js';
import { DEFAULT_RULES_DIR } from '../src/config/index.js';
import { seededRandom } from '../src/random/index.js';
import type { CompiledRuleSet, RequestAttributes } from '../src/rules/index.js';
import type { BenchReport, BenchSuite } from './harness.js';

const REQUESTS = 8_192;
const SWAPS_TIMED = 2_000;
const SWAPS_HEAP = 10_000;


const quiet: ProviderLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function requests(rs: CompiledRuleSet, accounts: readonly string[], count: number, seed: number): RequestAttributes[] {
  const { catalog } = rs.domain;
  const next = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  return Array.from({ length: count }, () => {
    const r = next();
    // A fifth of the traffic from override accounts, the rest from accounts no rule names or none at all.
    const accountId = r < 0.2 ? pick(accounts) : r < 0.9 ? String(100_000_000_000 + Math.floor(next() * 1e6)) : null;
    return {
      serviceTier: next() < 0.2 ? null : pick(catalog.serviceTiers),
      // INTERNAL aside: the tiered rules answer every other classification.
      classification: pick(catalog.classifications),
      requestType: next() < 0.1 ? null : pick(catalog.requestTypes),
      modelId: pick(['vendor.large-v2', 'vendor.medium-v1', 'vendor.small-v3']),
      region: pick(['us-east-1', 'eu-west-1']),
      accountId,
    };
  });
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

/** Evaluations per CPU second over ~`seconds` of one loop. */
function rate(seconds: number, batch: () => number): number {
  let ops = 0;
  const start = now();
  const cpuStart = process.cpuUsage();
  while (now() - start < seconds) ops += batch();
  const used = process.cpuUsage(cpuStart);
  return ops / ((used.user + used.system) / 1e6);
}

export const suite: BenchSuite = async ({ log }): Promise<BenchReport> => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  const baked = loadBaked();
  const rulesText = readFileSync(join(DEFAULT_RULES_DIR, 'service_tier.json'), 'utf8');
  const overridesText = readFileSync(join(DEFAULT_RULES_DIR, 'overrides.example.json'), 'utf8');
  const flagsText = JSON.stringify({ ...(JSON.parse(readFileSync(join(DEFAULT_RULES_DIR, 'flags.json'), 'utf8')) as object), rulesVersion: 'tiered-7.1' });
  const accounts = (JSON.parse(overridesText) as { accountOverrides: { accountId: string }[] }).accountOverrides.map((o) => o.accountId);
  // Every hand-over is a rules document the provider has never seen (its description names the
  // swap), made before the clock starts: no swap can be answered from anything kept of an earlier one.
  const rulesTextOf = (i: number) => rulesText.replace('"description": "', `"description": "(swap ${i}) `);
  const doc = (profile: RawDocument['profile'], text: string, label: string): RawDocument => ({ profile, text, label, file: `bench:${profile}` });

  const source = new PushSource();
  const provider = new RuntimeConfigProvider({ sources: [source], baked, startTimeoutMs: 1_000, logger: quiet, now: Date.now });
  const starting = provider.start();
  source.push([doc('rules', rulesTextOf(0), 'r0'), doc('overrides', overridesText, 'o'), doc('flags', flagsText, 'f')]);
  await starting;
  const first = provider.current() as ConfigSnapshot;
  if (first.source !== 'appconfig') throw new Error(`the benchmark's documents were refused: ${provider.status().lastError}`);
  log(`snapshot ${first.version}: ${first.tiered.model.rules.length} rules and overrides`);

  // ------------------------------------------------------------ 1. evaluation through the provider
  const direct = first.tiered;
  const input = requests(direct, accounts, REQUESTS, 42);
  const mask = REQUESTS - 1;
  let acc = 0;
  const N = 1_000_000;
  const viaProvider = () => {
    for (let i = 0; i < N; i++) {
      const snapshot = provider.current() as ConfigSnapshot;
      acc += snapshot.tiered.evaluate(input[i & mask] as RequestAttributes).qos;
    }
    return N;
  };
  const viaCompiled = () => {
    for (let i = 0; i < N; i++) acc += direct.evaluate(input[i & mask] as RequestAttributes).qos;
    return N;
  };
  log('timing evaluations: through the provider and direct, alternating rounds');
  rate(0.5, viaProvider);
  rate(0.5, viaCompiled);
  let providerBest = 0;
  let directBest = 0;
  // Best of nine short alternating rounds each: the least disturbed measurement of a shared machine.
  for (let round = 0; round < 9; round++) {
    providerBest = Math.max(providerBest, rate(0.6, viaProvider));
    directBest = Math.max(directBest, rate(0.6, viaCompiled));
  }

  // ------------------------------------------------------------ 2. validate + compile + swap
  log(`timing ${SWAPS_TIMED} swaps (parse, validate, compile, swap)`);
  const histogram = () => buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  const wallHistogram = histogram();
  const cpuHistogram = histogram();
  let swaps = 0;
  /** One swap; returns its wall-clock and CPU (all threads, garbage collection included) microseconds. */
  const swapOnce = (): { wall: number; cpu: number } => {
    const i = ++swaps;
    const before = provider.current();
    const next = [doc('rules', rulesTextOf(i), `r${i}`)];
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    source.push(next);
    const wall = Number(process.hrtime.bigint() - t0) / 1_000;
    const cpu = process.cpuUsage(cpu0);
    if (provider.current() === before) throw new Error(`swap ${i} did not happen: ${provider.status().lastError}`);
    return { wall, cpu: cpu.user + cpu.system };
  };
  for (let i = 0; i < 200; i++) swapOnce(); // warm-up
  // Garbage collections during the timed swaps: what the latency tail is made of.
  const collections: { kind: string; ms: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) collections.push({ kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 1 ? 'minor' : 'major or incremental', ms: e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < SWAPS_TIMED; i++) {
    const { wall, cpu } = swapOnce();
    wallHistogram.recordValue(Math.max(1, Math.round(wall)));
    cpuHistogram.recordValue(Math.max(1, Math.round(cpu)));
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // let pending gc entries be delivered
  gcObserver.disconnect();
  const gcDuringSwaps = ['minor', 'major or incremental'].map((kind) => {
    const of = collections.filter((c) => c.kind === kind);
    return { kind, count: of.length, totalMs: Math.round(of.reduce((a, c) => a + c.ms, 0)), maxMs: Math.round(Math.max(0, ...of.map((c) => c.ms)) * 10) / 10 };
  });
  const ms = (micros: number) => Math.round(micros) / 1_000;
  const summary = (h: ReturnType<typeof histogram>) => ({ p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue), mean: ms(h.mean) });
  const swapMs = { wall: summary(wallHistogram), cpu: summary(cpuHistogram) };

  // ------------------------------------------------------------ 3. heap over 10,000 swaps
  log(`heap over ${SWAPS_HEAP.toLocaleString('en-US')} swaps`);
  gc();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const heapSeries: number[] = [];
  for (let i = 1; i <= SWAPS_HEAP; i++) {
    swapOnce();
    if (i % 2_000 === 0) {
      gc();
      heapSeries.push(process.memoryUsage().heapUsed - heapBefore);
    }
  }
  gc();
  gc();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  const status = provider.status();
  await provider.close();
  if (status.refused !== 0) throw new Error(`documents refused during the benchmark: ${status.lastError}`);
  if (acc === -1) log('unreachable'); // keeps the evaluation loops' results observable

  const share = providerBest / directBest;
  const mb = (b: number) => Math.round(b / 1024) / 1024;
  return {
    suite: 'appconfig',
    rulesAndOverrides: first.tiered.model.rules.length,
    accountOverrides: accounts.length,
    swapMs,
    swapsTimed: SWAPS_TIMED,
    gcDuringSwaps,
    loadAverage1m: loadavg()[0],
    cores: availableParallelism(),
    heapGrowthBytesOver10000Swaps: heapGrowth,
    heapGrowthSeriesBytes: heapSeries,
    results: [
      { name: 'prio', opsPerSec: Math.round(providerBest), via: 'provider.current().tiered.evaluate(request), per CPU-second' },
      { name: 'ceiling:direct-compiled', opsPerSec: Math.round(directBest), via: 'compiled.evaluate(request) on the same rule set, per CPU-second' },
    ],
    targets: [
      { target: 'evaluation through the provider >= 95% of direct compiled evaluation (same run)', measured: `${(share * 100).toFixed(1)}%`, met: share >= 0.95 },
      // Wall clock on a loaded machine includes the time spent waiting for a core; CPU time is what the swap costs.
      { target: 'validate + compile + swap of service_tier + 56 overrides: p99 < 5 ms (wall clock)', measured: `p99 ${swapMs.wall.p99} ms (p50 ${swapMs.wall.p50} ms, max ${swapMs.wall.max} ms) at load ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`, met: swapMs.wall.p99 < 5 },
      { target: 'validate + compile + swap of service_tier + 56 overrides: p99 < 5 ms (CPU time, all threads)', measured: `p99 ${swapMs.cpu.p99} ms (p50 ${swapMs.cpu.p50} ms, max ${swapMs.cpu.max} ms)`, met: swapMs.cpu.p99 < 5 },
      { target: `heap flat over ${SWAPS_HEAP.toLocaleString('en-US')} swaps (< 1 MB growth)`, measured: `${mb(heapGrowth).toFixed(3)} MB`, met: heapGrowth < 1024 * 1024 },
    ],
  };
};
