/**
 * `prio serve` speed, in one run, with a zero-latency upstream on the same machine:
 *
 * - gateway throughput against a bare pass-through proxy written with the same HTTP stack
 *   (node:http in, undici out) and no scheduling: the cost of ranking, tokens, the dispatch
 *   loop and metrics per request. Closed loop, `--concurrency` requests in flight, interleaved
 *   rounds of `--seconds` each so a burst of other work on the machine hits both alike;
 * - added latency at 1,000 requests/s: `prio load` (open loop) against each, p99 of the
 *   gateway minus p99 of the proxy;
 * - decision mode throughput (POST /v1/decide, one process = one core for the server).
 *
 * Every server runs in a process of its own (bench/serve/child.ts); the load comes from this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { runLoad, type LoadReport } from '../src/load/index.js';
import type { BenchSuite } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
}

async function startChild(role: string, upstream?: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'serve', 'child.ts'), role, ...(upstream === undefined ? [] : [upstream])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /url (\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`${role} exited ${code}`)));
  });
  return { url, child };
}

const GATEWAY_HEADERS = { 'content-type': 'application/json', 'x-prio-account': 'acct-1', 'x-prio-classification': 'ON_DEMAND', 'x-prio-service-tier': 'DEFAULT' };
const GATEWAY_BODY = JSON.stringify({ model: 'model-a', messages: [{ role: 'user', content: 'hello' }] });
const CLASSIFICATIONS = ['ON_DEMAND', 'PTV1', 'FLEX', 'BATCH', 'PREMIUM_ON_DEMAND'];

/** Requests completed per second with `concurrency` always in flight for `seconds`. */
async function closedLoop(url: string, seconds: number, concurrency: number, decide: boolean): Promise<number> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const worker = async (w: number) => {
    let i = w;
    while (performance.now() < end) {
      const res = decide
        ? await pool.request({ path: '/v1/decide', method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"accountId":"acct-${i % 50}","classification":"${CLASSIFICATIONS[i % CLASSIFICATIONS.length]}","modelId":"model-a"}` })
        : await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: GATEWAY_HEADERS, body: GATEWAY_BODY });
      await res.body.dump();
      if (res.statusCode === 200) done++;
      else failed++;
      i += concurrency;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  if (failed > 0) throw new Error(`${failed} requests to ${url} failed`);
  return done / elapsed;
}

function openLoop(url: string, seconds: number, rate: number): Promise<LoadReport> {
  return runLoad({
    targets: [url],
    mode: 'gateway',
    rate,
    durationMs: seconds * 1000,
    sessions: 0,
    accounts: 50,
    classifications: [{ value: 'ON_DEMAND', weight: 1 }],
    serviceTiers: [{ value: 'DEFAULT', weight: 1 }],
    requestTypes: [{ value: null, weight: 1 }],
    models: ['model-a'],
    seed: 1,
    connections: 64,
  });
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export const suite: BenchSuite = async ({ args, log }) => {
  const seconds = option(args, '--seconds', 3);
  const rounds = option(args, '--rounds', 3);
  const concurrency = option(args, '--concurrency', 64);
  const children: ChildProcess[] = [];
  try {
    const upstream = await startChild('upstream');
    children.push(upstream.child);
    const proxy = await startChild('proxy', upstream.url);
    const gateway = await startChild('gateway', upstream.url);
    const decide = await startChild('decide');
    children.push(proxy.child, gateway.child, decide.child);

    log('warming up');
    await closedLoop(proxy.url, 1, concurrency, false);
    await closedLoop(gateway.url, 1, concurrency, false);
    await closedLoop(decide.url, 1, concurrency, true);

    const proxyRates: number[] = [];
    const gatewayRates: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const p = await closedLoop(proxy.url, seconds, concurrency, false);
      const g = await closedLoop(gateway.url, seconds, concurrency, false);
      proxyRates.push(p);
      gatewayRates.push(g);
      ratios.push(g / p);
      log(`round ${r + 1}: proxy ${Math.round(p)}/s, gateway ${Math.round(g)}/s (${((g / p) * 100).toFixed(1)}%)`);
    }
    const decideRates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      decideRates.push(await closedLoop(decide.url, seconds, concurrency, true));
      log(`round ${r + 1}: decide ${Math.round(decideRates[r] as number)}/s`);
    }

    log('open loop at 1,000 requests/s');
    const latencySeconds = Math.max(seconds, 3);
    const proxyLoad = await openLoop(proxy.url, latencySeconds, 1000);
    const gatewayLoad = await openLoop(gateway.url, latencySeconds, 1000);
    for (const [name, rep] of [['proxy', proxyLoad], ['gateway', gatewayLoad]] as const) {
      if (rep.unexpected > 0) throw new Error(`${name}: ${rep.unexpected} requests failed at 1,000/s: ${rep.failures.join('; ')}`);
    }
    const added = { p50: gatewayLoad.latencyMs.all.p50 - proxyLoad.latencyMs.all.p50, p99: gatewayLoad.latencyMs.all.p99 - proxyLoad.latencyMs.all.p99 };

    const ratio = median(ratios);
    const gatewayPerSec = median(gatewayRates);
    const decidePerSec = median(decideRates);
    return {
      suite: 'serve',
      seconds,
      rounds,
      concurrency,
      results: [
        { name: 'prio', opsPerSec: gatewayPerSec, mode: 'gateway', rounds: gatewayRates.map(Math.round), latencyAt1000PerSecMs: gatewayLoad.latencyMs.all, addedLatencyMs: added },
        { name: 'ceiling:bare-proxy', opsPerSec: median(proxyRates), rounds: proxyRates.map(Math.round), latencyAt1000PerSecMs: proxyLoad.latencyMs.all },
        { name: 'prio-decide', opsPerSec: decidePerSec, mode: 'decide', rounds: decideRates.map(Math.round) },
      ],
      targets: [
        { target: 'gateway throughput >= 70% of a bare pass-through proxy', measured: `${(ratio * 100).toFixed(1)}% (median of ${rounds} interleaved rounds: ${ratios.map((x) => `${(x * 100).toFixed(1)}%`).join(', ')})`, met: ratio >= 0.7 },
        { target: 'added latency p99 < 1 ms at 1,000 requests/s', measured: `${added.p99.toFixed(3)} ms (gateway p99 ${gatewayLoad.latencyMs.all.p99} ms, proxy p99 ${proxyLoad.latencyMs.all.p99} ms; p50 added ${added.p50.toFixed(3)} ms)`, met: added.p99 < 1 },
        { target: 'decision mode >= 20,000 requests/s on one core', measured: `${Math.round(decidePerSec).toLocaleString('en-US')}/s`, met: decidePerSec >= 20_000 },
      ],
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
};
