/**
 * The traffic scenarios' shared setup: `prio serve` children started with the rehearsal's
 * `startServe` (real processes, so one can be killed, and each runs its own clock and keys),
 * capacity files small enough that a few hundred requests per second overload them, hostile and
 * hand-made requests, and /metrics read and summed as an operator's dashboard would.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { parseMix, runLoad, type LoadReport } from '../../../src/load/index.js';
import { REHEARSAL_TOKEN_KEYS, startServe } from '../../../scripts/rollout/rehearsal.js';
import type { ScenarioContext } from '../scenario.js';

/** Token keys as `PRIO_TOKEN_KEYS` text: `kid:base64secret`, the first entry signs. */
export function tokenKey(kid: string, fill: number): string {
  return `${kid}:${Buffer.alloc(32, fill).toString('base64')}`;
}

export interface Served {
  readonly url: string;
  readonly process: ChildProcess;
}

export interface ServeOptions {
  /** Extra `prio serve` options (capacity, upstream, clock offset…). */
  readonly args?: readonly string[];
  /** `PRIO_TOKEN_KEYS`; the rehearsal's shared key by default. */
  readonly tokenKeys?: string;
  /** Where the configuration comes from: the baked rules unless `--config` is among the args. */
  readonly source?: 'baked' | 'file';
}

/**
 * Starts one `prio serve` child on a free loopback port and registers its end (SIGKILL, if it
 * is still running when the scenario ends).
 */
export async function serve(ctx: ScenarioContext, o: ServeOptions = {}): Promise<Served> {
  const env: NodeJS.ProcessEnv = { ...process.env, PRIO_TOKEN_KEYS: o.tokenKeys ?? REHEARSAL_TOKEN_KEYS };
  const args = ['--port', '0', '--log-level', 'warn', '--grace-ms', '2000', ...(o.args ?? [])];
  const s = await startServe(args, env, o.source ?? 'baked');
  ctx.defer(() => stopServe(s, 'SIGKILL'));
  return s;
}

/** Starts `n` instances in parallel with the same options. */
export async function serveFleet(ctx: ScenarioContext, n: number, o: ServeOptions = {}): Promise<Served[]> {
  return Promise.all(Array.from({ length: n }, () => serve(ctx, o)));
}

/** Sends `signal` and resolves once the process has exited (at once when it already has). */
export function stopServe(s: Served, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise<void>((done) => {
    if (s.process.exitCode !== null || s.process.signalCode !== null) return done();
    s.process.once('exit', () => done());
    s.process.kill(signal);
    setTimeout(() => s.process.kill('SIGKILL'), 5_000).unref();
  });
}

/** Writes a capacity file for one shared pool (every model) and returns its path. */
export function capacityFile(ctx: ScenarioContext, name: string, pool: { concurrency: number; queueBound: number; qosPreemption?: boolean; reserved?: Readonly<Record<string, number>> }): string {
  const file = join(ctx.dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ variants: {}, defaultVariant: { qosPreemption: false, ...pool } }, null, 2)}\n`);
  return file;
}

/** A `/metrics` scrape. */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

/**
 * The sum of the samples of `name` whose labels include every given pair (a dashboard's
 * `sum(name{...})`); 0 when none.
 */
export function metric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^\s{]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const given = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => given.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Sums `metric` over several scrapes (one per instance). */
export function fleetMetric(texts: readonly string[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return texts.reduce((n, t) => n + metric(t, name, labels), 0);
}

/**
 * The smallest histogram bucket bound (seconds) under which at least `q` of the observations
 * lie, over every scrape given (prometheus's histogram_quantile, without its interpolation,
 * so an upper bound of the true quantile); undefined when nothing was observed.
 */
export function bucketQuantile(texts: readonly string[], name: string, labels: Readonly<Record<string, string>>, q: number): number | undefined {
  const byLe = new Map<number, number>();
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}_bucket{`)) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      const le = /le="([^"]+)"/.exec(line)?.[1];
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + value);
    }
  }
  const bounds = [...byLe.keys()].sort((a, b) => a - b);
  const total = byLe.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return undefined;
  for (const b of bounds) if ((byLe.get(b) ?? 0) >= q * total) return b;
  return Number.POSITIVE_INFINITY;
}

export interface GatewayLoad {
  readonly targets: readonly string[];
  readonly rate: number;
  readonly durationMs: number;
  readonly classifications: string;
  readonly requestTypes?: string;
  readonly serviceTiers?: string;
  readonly sessions?: number;
  readonly accounts?: number;
  readonly seed?: number;
  readonly timeoutMs?: number;
  readonly mode?: 'gateway' | 'decide';
  readonly allowStatus?: readonly number[];
  /** Connections per target (64 by default); above the queue bound to overload one, since each holds one request. */
  readonly connections?: number;
}

/** `prio load`'s library over the fleet, bounded in rate and time, stopped by the scenario's signal. */
export function load(ctx: ScenarioContext, o: GatewayLoad): Promise<LoadReport> {
  return runLoad({
    targets: o.targets,
    mode: o.mode ?? 'gateway',
    rate: o.rate,
    durationMs: o.durationMs,
    sessions: o.sessions ?? 0,
    accounts: o.accounts ?? 50,
    classifications: parseMix(o.classifications),
    serviceTiers: parseMix(o.serviceTiers ?? 'none', true),
    requestTypes: parseMix(o.requestTypes ?? 'none', true),
    models: ['model-a'],
    seed: o.seed ?? 11,
    timeoutMs: o.timeoutMs ?? 15_000,
    connections: o.connections ?? 64,
    ...(o.allowStatus === undefined ? {} : { allowStatus: o.allowStatus }),
    signal: ctx.signal,
  });
}

/** Responses of a load run with a status matching `pattern` (e.g. /^2/). */
export function statusCount(report: LoadReport, pattern: RegExp): number {
  return Object.entries(report.statuses)
    .filter(([status]) => pattern.test(status))
    .reduce((n, [, count]) => n + count, 0);
}

/** One `POST /v1/decide`, its status and parsed body. */
export async function decide(url: string, body: Readonly<Record<string, unknown>>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: (typeof parsed === 'object' && parsed !== null ? parsed : { text }) as Record<string, unknown> };
}

/** Runs `worker` over `items` with at most `concurrency` at a time; resolves with the results in order. */
export async function pooled<T, R>(items: readonly T[], concurrency: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await worker(items[i] as T, i);
      }
    }),
  );
  return results;
}

/**
 * Open-loop: starts `worker(i)` at `start + i / rate` for i < count, whatever the earlier ones
 * are doing (a flood does not wait for answers), and resolves with every result once all ended.
 */
export async function paced<R>(count: number, rate: number, worker: (i: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const started = performance.now();
  const running: Promise<R>[] = [];
  for (let i = 0; i < count && signal?.aborted !== true; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    running.push(worker(i));
  }
  return Promise.all(running);
}

export interface FailoverResult {
  /** Per target: requests answered 2xx, other statuses, failed without an answer. */
  readonly ok: number[];
  readonly otherStatus: number[];
  readonly failed: number[];
  /** Requests re-sent elsewhere because their target refused the connection (never accepted). */
  readonly rerouted: number;
  readonly sent: number;
  /** When each target was first seen failing (ms since epoch), if it was. */
  readonly failedAt: (number | undefined)[];
  /** Per target: when it was marked out of rotation. */
  readonly removedAt: (number | undefined)[];
  /** Requests outstanding per target when `snapshot` was called, and requests sent to each after it. */
  readonly outstandingAtMark: number[];
  readonly sentAfterMark: number[];
  /** First 2xx on a surviving target after the mark. */
  readonly firstOkAfterMark: number | undefined;
}

/**
 * Open-loop gateway traffic spread round robin over the targets, as a load balancer with
 * passive health checks sends it: a target whose connection fails is taken out of rotation;
 * a request whose connection was refused never reached a server, so it goes to the next
 * target (counted as rerouted); one that failed after it was sent is a failure of that target.
 * `mark()` records what is outstanding at that instant (call it right before a fault).
 */
export function failoverTraffic(ctx: ScenarioContext, o: { targets: readonly string[]; rate: number; durationMs: number; classification?: string }): { mark(): void; done: Promise<FailoverResult> } {
  const n = o.targets.length;
  const pools = o.targets.map((t) => new Pool(t, { connections: 64 }));
  const alive = o.targets.map(() => true);
  const outstanding = o.targets.map(() => 0);
  const r = { ok: o.targets.map(() => 0), otherStatus: o.targets.map(() => 0), failed: o.targets.map(() => 0), rerouted: 0, sent: 0, failedAt: o.targets.map((): number | undefined => undefined), removedAt: o.targets.map((): number | undefined => undefined), outstandingAtMark: o.targets.map(() => 0), sentAfterMark: o.targets.map(() => 0), firstOkAfterMark: undefined as number | undefined };
  let markedAt: number | undefined;
  let cursor = 0;
  const pick = (): number | undefined => {
    for (let k = 0; k < n; k += 1) {
      const i = (cursor + k) % n;
      if (alive[i] === true) {
        cursor = i + 1;
        return i;
      }
    }
    return undefined;
  };
  const sendOne = async (seq: number): Promise<void> => {
    for (let attempt = 0; attempt < n; attempt += 1) {
      const i = pick();
      if (i === undefined) break;
      const pool = pools[i] as Pool;
      outstanding[i] = (outstanding[i] ?? 0) + 1;
      if (markedAt !== undefined) r.sentAfterMark[i] = (r.sentAfterMark[i] ?? 0) + 1;
      try {
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-prio-account': `acct-${seq % 40}`, 'x-prio-classification': o.classification ?? 'ON_DEMAND' },
          body: JSON.stringify({ model: 'model-a', messages: [] }),
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          r.ok[i] = (r.ok[i] ?? 0) + 1;
          if (markedAt !== undefined && r.firstOkAfterMark === undefined && r.failedAt[i] === undefined) r.firstOkAfterMark = Date.now();
        } else r.otherStatus[i] = (r.otherStatus[i] ?? 0) + 1;
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        r.failedAt[i] ??= Date.now();
        if (alive[i] === true) {
          alive[i] = false;
          r.removedAt[i] = Date.now();
        }
        if (code === 'ECONNREFUSED') {
          r.rerouted += 1;
          continue;
        }
        r.failed[i] = (r.failed[i] ?? 0) + 1;
        return;
      } finally {
        outstanding[i] = (outstanding[i] ?? 0) - 1;
      }
    }
  };
  const count = Math.floor((o.rate * o.durationMs) / 1000);
  const done = paced(
    count,
    o.rate,
    async (seq) => {
      r.sent += 1;
      await sendOne(seq);
    },
    ctx.signal,
  ).then(async () => {
    await Promise.all(pools.map((p) => p.close()));
    return r;
  });
  return {
    mark() {
      markedAt = Date.now();
      r.outstandingAtMark.splice(0, n, ...outstanding);
    },
    done,
  };
}
