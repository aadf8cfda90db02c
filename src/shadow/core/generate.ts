/**
 * A generator of realistic request logs, deterministic per seed: skewed (Zipf-like) account and
 * model popularity, every service tier and classification, accounts with a dominant kind of
 * traffic, clients that send no service tier or no request type, arrival times that advance
 * like a busy service's, session tokens issued per session under the legacy writer, and an
 * `observed` outcome that reproduces the baseline (with an optional share of drift to show
 * what a baseline that does not match production looks like). Pure: rule set and token writer
 * are passed in; the CLI writes the records.
 */
import type { Domain } from '../../catalog/index.js';
import { seededRandom } from '../../random/index.js';
import { FailClosedError, type Outcome } from '../../rules/index.js';
import type { TokenWriter } from '../../tokens/index.js';
import type { RuleSetPort } from './judge.js';
import type { RequestRecord } from './record.js';

export interface GenerateOptions {
  readonly count: number;
  readonly seed: number;
  /** Share (0-1) of records whose `observed` priority differs from the baseline's. Default 0. */
  readonly drift?: number;
  /** First arrival, epoch ms. Default 2026-03-02T00:00:00Z. */
  readonly startMs?: number;
  readonly accounts?: number;
  readonly models?: number;
}

export interface GenerateDeps {
  readonly domain: Domain;
  /** The mapping production ran (its outcome becomes `observed` and the session token's priority). */
  readonly baseline: RuleSetPort;
  /** Issues the session tokens; omit to generate records without tokens. */
  readonly tokenWriter?: TokenWriter;
}

export const DEFAULT_START_MS = Date.UTC(2026, 2, 2, 0, 0, 0);
const SESSION_MS = 20 * 60 * 1000;
const TOKEN_TTL_MS = 60 * 60 * 1000;
/** Mean gap between arrivals: a million records span about a day. */
const MEAN_GAP_MS = 86;

/** Cumulative weights for picking index i with probability proportional to weights[i]. */
function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => {
    sum += w;
    out[i] = sum;
  });
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

function pick(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Zipf weights 1/rank^s: a few accounts and models carry most of the traffic, as in production. */
function zipf(n: number, s: number): Float64Array {
  return cumulative(Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s)));
}

const CLASSIFICATION_WEIGHTS: Readonly<Record<string, number>> = {
  ON_DEMAND: 40,
  PREMIUM_ON_DEMAND: 10,
  PTV1: 8,
  PTV2: 6,
  PRIORITY_ACCESS: 4,
  FLEX: 8,
  BATCH: 8,
  BEST_EFFORT_ON_DEMAND: 6,
  CROSS_REGION: 7,
  INTERNAL: 3,
};

/** Which service tier a client sends for a classification (when it sends one at all). */
const TIER_CHOICES: Readonly<Record<string, readonly (readonly [string, number])[]>> = {
  PTV1: [['RESERVED', 80], ['PRIORITY', 15], ['FLEX', 5]],
  PTV2: [['RESERVED', 85], ['DEFAULT', 10], ['FLEX', 5]],
  PRIORITY_ACCESS: [['RESERVED', 60], ['PRIORITY', 40]],
  PREMIUM_ON_DEMAND: [['PRIORITY', 70], ['DEFAULT', 30]],
  ON_DEMAND: [['DEFAULT', 85], ['PRIORITY', 10], ['FLEX', 5]],
  FLEX: [['FLEX', 90], ['DEFAULT', 10]],
  BATCH: [['DEFAULT', 50], ['FLEX', 50]],
  BEST_EFFORT_ON_DEMAND: [['FLEX', 60], ['DEFAULT', 30], ['PRIORITY', 10]],
  CROSS_REGION: [['DEFAULT', 90], ['PRIORITY', 10]],
  INTERNAL: [['RESERVED', 100]],
};

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-northeast-1', 'eu-central-1'];
const REGION_CDF = cumulative([50, 20, 15, 10, 5]);
const MODEL_FAMILIES = ['atlas', 'borealis', 'cirrus', 'dorado', 'ember', 'fjord', 'galena', 'halcyon', 'iris', 'juniper'];
const MODEL_SIZES = ['nano', 'small', 'medium', 'large'];

interface Session {
  readonly id: string;
  readonly startedAt: number;
  readonly token: string | undefined;
}

/** Yields `count` records, the same ones for the same seed and options. */
export function* generateRecords(options: GenerateOptions, deps: GenerateDeps): Generator<RequestRecord> {
  const { count, seed } = options;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const drift = options.drift ?? 0;
  if (!(drift >= 0 && drift <= 1)) throw new RangeError(`drift must be between 0 and 1, got ${drift}`);
  const random = seededRandom(seed);
  const catalog = deps.domain.catalog;
  const classifications = catalog.classifications;
  const classCdf = cumulative(classifications.map((c) => CLASSIFICATION_WEIGHTS[c] ?? 1));
  const tierCdfs = new Map(classifications.map((c) => [c, TIER_CHOICES[c] ?? catalog.serviceTiers.map((t) => [t, 1] as const)] as const));
  const accountCount = options.accounts ?? 400;
  const modelCount = options.models ?? 36;
  const accountCdf = zipf(accountCount, 1.1);
  const modelCdf = zipf(modelCount, 1.2);
  const models = Array.from({ length: modelCount }, (_, i) => `${MODEL_FAMILIES[i % MODEL_FAMILIES.length]}-${MODEL_SIZES[Math.floor(i / MODEL_FAMILIES.length) % MODEL_SIZES.length]}-v${1 + Math.floor(i / (MODEL_FAMILIES.length * MODEL_SIZES.length))}`);
  // Each account has a dominant kind of traffic, a home region and an old or new client.
  const accounts = Array.from({ length: accountCount }, (_, i) => ({
    id: `acct-${String(100000 + i * 7919).padStart(6, '0')}`,
    primary: classifications[pick(classCdf, random())] as string,
    home: REGIONS[pick(REGION_CDF, random())] as string,
    sendsServiceTier: random() < 0.7,
    sendsRequestType: random() < 0.85,
  }));
  const sessions = new Map<string, Session>();
  let now = options.startMs ?? DEFAULT_START_MS;
  const idPrefix = `req-${seed.toString(36)}-`;

  for (let i = 0; i < count; i++) {
    // Exponential inter-arrival gaps: a Poisson stream of requests.
    now += Math.max(1, Math.round(-Math.log(1 - random()) * MEAN_GAP_MS));
    const account = accounts[pick(accountCdf, random())] as (typeof accounts)[number];
    const classification = random() < 0.75 ? account.primary : (classifications[pick(classCdf, random())] as string);
    const choices = tierCdfs.get(classification) ?? [];
    const serviceTier = account.sendsServiceTier ? pickWeighted(choices, random()) : null;
    const requestType = account.sendsRequestType ? requestTypeFor(classification, catalog.provisionedClassifications, random()) : null;
    const region = random() < 0.9 ? account.home : (REGIONS[pick(REGION_CDF, random())] as string);
    const modelId = models[pick(modelCdf, random())] as string;
    const record = {
      requestId: `${idPrefix}${i.toString(36).padStart(7, '0')}`,
      timestamp: new Date(now).toISOString(),
      accountId: account.id,
      modelId,
      region,
      classification,
      ...(serviceTier === null ? {} : { serviceTier }),
      ...(requestType === null ? {} : { requestType }),
    };
    let baseline: Outcome | null = null;
    try {
      baseline = deps.baseline.evaluate(record);
    } catch (err) {
      if (!(err instanceof FailClosedError)) throw err;
    }
    let sessionToken: string | undefined;
    const withToken = random() < 0.9;
    if (deps.tokenWriter !== undefined && baseline !== null && withToken) {
      const key = `${account.id}|${classification}`;
      let session = sessions.get(key);
      if (session === undefined || now - session.startedAt > SESSION_MS) {
        const startedAt = now - Math.floor(random() * 1000);
        const id = `s-${seed.toString(36)}-${i.toString(36)}`;
        session = {
          id,
          startedAt,
          token: deps.tokenWriter.issue({ sessionId: id, accountId: account.id, classification, tier: baseline.tier, issuedAt: startedAt, ttlMs: TOKEN_TTL_MS }),
        };
        sessions.set(key, session);
      }
      sessionToken = session.token;
    }
    let observed: RequestRecord['observed'];
    if (baseline !== null) {
      let level = baseline.legacyLevel ?? baseline.tier.legacyLevel;
      const drifted = drift > 0 && random() < drift;
      if (drifted) level = ((level + 1 + Math.floor(random() * 3)) % 4) as typeof level;
      observed = { priority: level, qos: baseline.qos };
    }
    yield {
      ...record,
      ...(sessionToken === undefined ? {} : { sessionToken }),
      ...(observed === undefined ? {} : { observed }),
    };
  }
}

function pickWeighted(choices: readonly (readonly [string, number])[], u: number): string | null {
  let total = 0;
  for (const [, w] of choices) total += w;
  let at = u * total;
  for (const [value, w] of choices) {
    if (at < w) return value;
    at -= w;
  }
  return choices.at(-1)?.[0] ?? null;
}

function requestTypeFor(classification: string, provisioned: readonly string[], u: number): string {
  if (classification === 'BATCH') return u < 0.9 ? 'BATCH' : 'ON_DEMAND';
  if (provisioned.includes(classification)) return u < 0.8 ? 'PROVISIONED' : u < 0.95 ? 'ON_DEMAND' : 'BATCH';
  return u < 0.97 ? 'ON_DEMAND' : 'BATCH';
}
