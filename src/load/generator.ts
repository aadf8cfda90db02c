/**
 * `prio load`: an open-loop load generator for `prio serve` fleets. Requests leave at a fixed
 * rate whatever the responses do, and each one's latency is measured from the instant it was
 * meant to leave (not when it actually left), so a stalled server shows up as latency instead
 * of hiding behind a slower send rate (coordinated omission).
 *
 * Sticky sessions: a pool of sessions, each with one account, classification, service tier,
 * request type and model; a session's requests go round robin over the targets, each carrying
 * the token the previous response handed back. A session is *mis-ranked* when two of its
 * responses give different tiers while no target's configuration version changed in between.
 */
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { Pool } from 'undici';
import { seededRandom } from '../random/index.js';
import { performance } from 'node:perf_hooks';

export type LoadMode = 'gateway' | 'decide';

/** A value and its relative weight in a mix. `null` means "send none" (no service tier header). */
export interface Weighted<T> {
  readonly value: T;
  readonly weight: number;
}

export interface LoadOptions {
  /** Base URLs of the `prio serve` instances. */
  readonly targets: readonly string[];
  readonly mode: LoadMode;
  /** Requests per second, all targets together. */
  readonly rate: number;
  /** Stop sending after this long (ms). At least one of durationMs and requests is required. */
  readonly durationMs?: number;
  /** Stop after this many requests. */
  readonly requests?: number;
  /** Sticky sessions in the pool; 0 sends every request without a session. */
  readonly sessions: number;
  readonly accounts: number;
  readonly classifications: readonly Weighted<string>[];
  readonly serviceTiers: readonly Weighted<string | null>[];
  readonly requestTypes: readonly Weighted<string | null>[];
  readonly models: readonly string[];
  readonly seed: number;
  /** Gateway path (default /v1/chat/completions). */
  readonly path?: string;
  /** Ask the gateway for streamed answers. */
  readonly stream?: boolean;
  /** Statuses that are not failures besides 2xx and 429 (shed or throttled on purpose). */
  readonly allowStatus?: readonly number[];
  /** Per-request timeout in ms (default 30 s). */
  readonly timeoutMs?: number;
  /** Connections per target (default 128). */
  readonly connections?: number;
  /** Stops sending early (the report covers what was sent); for a run ended by a signal. */
  readonly signal?: AbortSignal;
  /** Called with a message when something noteworthy happens (first failures). */
  readonly onNote?: (message: string) => void;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export interface MisRankedSession {
  readonly session: string;
  readonly account: string;
  readonly classification: string;
  /** The tiers its responses gave, in order, with the target that gave each. */
  readonly tiers: readonly string[];
}

export interface LoadReport {
  readonly mode: LoadMode;
  readonly targets: readonly string[];
  readonly rate: number;
  readonly sent: number;
  readonly durationMs: number;
  readonly achievedRate: number;
  /** Responses by status code; `error` for requests with no HTTP answer (connection failed, timed out). */
  readonly statuses: Readonly<Record<string, number>>;
  readonly unexpected: number;
  /** Latency in ms from the intended send time to the end of the response. */
  readonly latencyMs: { readonly all: LatencySummary; readonly byTier: Readonly<Record<string, LatencySummary>> };
  readonly sessions: {
    readonly pool: number;
    /** Sessions that had at least two answered requests. */
    readonly compared: number;
    readonly misRanked: number;
    /** Sessions whose tier changed at all, including across a configuration change. */
    readonly tierChanged: number;
    /** Requests sent without a session because every session was waiting for an answer. */
    readonly sessionless: number;
    readonly examples: readonly MisRankedSession[];
  };
  /** The configuration version each target answered with last. */
  readonly configVersions: Readonly<Record<string, string>>;
  /** Distinct configuration versions seen on any target during the run, in order of first sight. */
  readonly configVersionsSeen: readonly string[];
  readonly failures: readonly string[];
  /** True when nothing failed unexpectedly and no session was mis-ranked. */
  readonly ok: boolean;
}

interface Session {
  readonly id: string;
  readonly index: number;
  readonly account: string;
  readonly classification: string;
  readonly serviceTier: string | null;
  readonly requestType: string | null;
  readonly model: string;
  token: string | undefined;
  busy: boolean;
  sent: number;
  tier: string | undefined;
  epoch: number;
  answered: number;
  misRanked: boolean;
  changed: boolean;
  readonly history: string[];
}

/** A target did not answer its health check before the run: nothing was sent. */
export class TargetUnavailable extends Error {
  override readonly name = 'TargetUnavailable';
}

function picker<T>(mix: readonly Weighted<T>[], random: () => number): () => T {
  const total = mix.reduce((a, m) => a + m.weight, 0);
  if (mix.length === 0 || !(total > 0)) throw new RangeError('a mix needs at least one entry with a positive weight');
  return () => {
    let x = random() * total;
    for (const m of mix) {
      x -= m.weight;
      if (x < 0) return m.value;
    }
    return (mix[mix.length - 1] as Weighted<T>).value;
  };
}

function newHistogram(): Histogram {
  return buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Runs the load and resolves with the report once every request sent has been answered or has failed. */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const { targets, mode, rate } = options;
  if (targets.length === 0) throw new RangeError('at least one target is required');
  if (!(rate > 0)) throw new RangeError('rate must be > 0');
  if (options.durationMs === undefined && options.requests === undefined) throw new RangeError('give a duration, a request count, or both');
  const total = Math.min(options.requests ?? Number.POSITIVE_INFINITY, options.durationMs === undefined ? Number.POSITIVE_INFINITY : Math.floor((options.durationMs / 1000) * rate));
  const random = seededRandom(options.seed);
  const pickClassification = picker(options.classifications, random);
  const pickServiceTier = picker(options.serviceTiers, random);
  const pickRequestType = picker(options.requestTypes, random);
  const pickModel = picker(
    options.models.map((value) => ({ value, weight: 1 })),
    random,
  );
  const allowed = new Set(options.allowStatus ?? []);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const path = options.path ?? '/v1/chat/completions';
  const pools = targets.map((t) => new Pool(new URL(t).origin, { connections: options.connections ?? 128, keepAliveTimeout: 30_000 }));

  const newSession = (index: number, prefix: string): Session => ({
    id: `${prefix}-${options.seed}-${index}`,
    index,
    account: `acct-${String(1 + Math.floor(random() * options.accounts)).padStart(4, '0')}`,
    classification: pickClassification(),
    serviceTier: pickServiceTier(),
    requestType: pickRequestType(),
    model: pickModel(),
    token: undefined,
    busy: false,
    sent: 0,
    tier: undefined,
    epoch: 0,
    answered: 0,
    misRanked: false,
    changed: false,
    history: [],
  });
  const sessions: Session[] = Array.from({ length: options.sessions }, (_, i) => newSession(i, 'sess'));
  let cursor = 0;
  let sessionless = 0;

  const statuses: Record<string, number> = {};
  let unexpected = 0;
  const failures: string[] = [];
  const all = newHistogram();
  const byTier = new Map<string, Histogram>();
  const versions = new Map<string, string>();
  const versionsSeen = new Set<string>();
  let epoch = 0;

  const note = (message: string) => {
    if (failures.length < 20) {
      failures.push(message);
      options.onNote?.(message);
    }
  };

  function take(): Session | undefined {
    for (let k = 0; k < sessions.length; k++) {
      const s = sessions[(cursor + k) % sessions.length] as Session;
      if (!s.busy) {
        cursor = (cursor + k + 1) % sessions.length;
        return s;
      }
    }
    return undefined;
  }

  async function send(seq: number, intendedAt: number): Promise<void> {
    let session = take();
    const pooled = session !== undefined;
    if (session === undefined) {
      sessionless++;
      session = newSession(seq, 'once');
    }
    session.busy = true;
    const targetIndex = (session.index + session.sent) % targets.length;
    session.sent++;
    const target = targets[targetIndex] as string;
    const pool = pools[targetIndex] as Pool;
    let status = 'error';
    let tier: string | undefined;
    let token: string | undefined;
    let version: string | undefined;
    try {
      let response;
      if (mode === 'gateway') {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'x-prio-account': session.account,
          'x-prio-classification': session.classification,
          'x-prio-session-id': session.id,
        };
        if (session.serviceTier !== null) headers['x-prio-service-tier'] = session.serviceTier;
        if (session.requestType !== null) headers['x-prio-request-type'] = session.requestType;
        if (session.token !== undefined) headers['x-prio-session-token'] = session.token;
        response = await pool.request({ path, method: 'POST', headers, body: JSON.stringify({ model: session.model, messages: [{ role: 'user', content: 'hello' }], ...(options.stream ? { stream: true } : {}) }), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        await response.body.dump({ limit: Number.MAX_SAFE_INTEGER });
        tier = header(response.headers, 'x-prio-tier');
        token = header(response.headers, 'x-prio-session-token');
        version = header(response.headers, 'x-prio-config-version');
      } else {
        const body = {
          accountId: session.account,
          classification: session.classification,
          modelId: session.model,
          sessionId: session.id,
          ...(session.serviceTier !== null ? { serviceTier: session.serviceTier } : {}),
          ...(session.requestType !== null ? { requestType: session.requestType } : {}),
          ...(session.token !== undefined ? { sessionToken: session.token } : {}),
        };
        response = await pool.request({ path: '/v1/decide', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        const text = await response.body.text();
        if (response.statusCode === 200) {
          const doc = JSON.parse(text) as { tier?: string; sessionToken?: string | null; configVersion?: string };
          tier = doc.tier;
          token = doc.sessionToken ?? undefined;
          version = doc.configVersion;
        }
      }
      status = String(response.statusCode);
      const code = response.statusCode;
      if (!((code >= 200 && code < 300) || code === 429 || allowed.has(code))) {
        unexpected++;
        note(`${target}: HTTP ${code} for ${session.classification} (account ${session.account})`);
      }
    } catch (err) {
      unexpected++;
      note(`${target}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const latencyUs = Math.max(1, Math.round((performance.now() - intendedAt) * 1000));
    statuses[status] = (statuses[status] ?? 0) + 1;
    all.recordValue(latencyUs);
    if (tier !== undefined) {
      let h = byTier.get(tier);
      if (h === undefined) byTier.set(tier, (h = newHistogram()));
      h.recordValue(latencyUs);
    }
    if (version !== undefined) {
      versionsSeen.add(version);
      const previous = versions.get(target);
      if (previous !== undefined && previous !== version) epoch++;
      versions.set(target, version);
    }
    if (tier !== undefined) {
      session.answered++;
      session.history.push(`${tier}@${targetIndex}`);
      if (session.tier !== undefined && session.tier !== tier) {
        session.changed = true;
        if (session.epoch === epoch) session.misRanked = true;
      }
      session.tier = tier;
      session.epoch = epoch;
    }
    if (token !== undefined) session.token = token;
    if (pooled) session.busy = false;
  }

  // Every target must answer /healthz before the clock starts; this also loads the HTTP client's
  // parser, whose first use would otherwise count as latency against the first requests.
  await Promise.all(
    pools.map(async (pool, i) => {
      try {
        const res = await pool.request({ path: '/healthz', method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`/healthz answered ${res.statusCode}`);
      } catch (err) {
        await Promise.all(pools.map((p) => p.close()));
        throw new TargetUnavailable(`target ${targets[i]} is not available: ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
  );

  const interval = 1000 / rate;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let seq = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (seq < total && started + seq * interval <= now) {
        const p = send(seq, started + seq * interval);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        seq++;
      }
      if (seq >= total || options.signal?.aborted === true) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, started + seq * interval - performance.now())));
    };
    tick();
  });
  await Promise.all(inFlight);
  const durationMs = performance.now() - started;
  await Promise.all(pools.map((p) => p.close()));

  const compared = sessions.filter((s) => s.answered >= 2);
  const misRanked = sessions.filter((s) => s.misRanked);
  const tierSummaries: Record<string, LatencySummary> = {};
  for (const [tier, h] of [...byTier.entries()].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true })).reverse()) tierSummaries[tier] = summarize(h);
  return {
    mode,
    targets,
    rate,
    sent: seq,
    durationMs: Math.round(durationMs),
    achievedRate: Math.round((seq / durationMs) * 1000 * 10) / 10,
    statuses,
    unexpected,
    latencyMs: { all: summarize(all), byTier: tierSummaries },
    sessions: {
      pool: sessions.length,
      compared: compared.length,
      misRanked: misRanked.length,
      tierChanged: sessions.filter((s) => s.changed).length,
      sessionless,
      examples: misRanked.slice(0, 10).map((s) => ({ session: s.id, account: s.account, classification: s.classification, tiers: s.history.slice(0, 20) })),
    },
    configVersions: Object.fromEntries(versions),
    configVersionsSeen: [...versionsSeen],
    failures,
    ok: unexpected === 0 && misRanked.length === 0,
  };
}
