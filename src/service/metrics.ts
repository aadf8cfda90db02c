/**
 * `/metrics` for `prio serve` in Prometheus text (prom-client), on a registry of its own so two
 * services in one process (tests, benchmarks) never share counters. Every name starts with
 * `prio_`. The per-request counts (scheduler transitions, responses) are kept in
 * plain typed arrays and handed to prom-client when /metrics is scraped (its `collect` hook):
 * a prom-client `inc` hashes the label set on every call, even on a child resolved once, and
 * six of them per request cost more than the rest of the bookkeeping (docs/service.md, "Figures").
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConfigSnapshot } from '../appconfig/index.js';
import type { SchedulerEventKind } from '../scheduler/index.js';

/** Distinct fail-closed values kept as labels; the rest are counted under `other` (values come from clients). */
const MAX_FAIL_CLOSED_VALUES = 64;

export interface ServiceMetrics {
  readonly registry: Registry;
  /** One scheduler transition of a request in tier `tier` (index into `tierNames`). */
  schedulerEvent(kind: SchedulerEventKind, tier: number, waitSeconds: number): void;
  failClosed(attribute: string, value: string): void;
  tokenRejected(reason: string): void;
  response(status: number): void;
  observed(result: 'same' | 'changed' | 'error'): void;
  configLoaded(snapshot: ConfigSnapshot): void;
  requestLog(event: 'written' | 'dropped', count: number): void;
  draining(on: boolean): void;
}

export interface ServiceMetricsOptions {
  /** Whether to include process metrics (CPU, memory, event loop lag). Default true. */
  readonly processMetrics?: boolean;
  /** Requests waiting in tier `tier` (index into `tierNames`) right now; read when /metrics is scraped. */
  readonly queueDepth?: (tier: number) => number;
}

export function createServiceMetrics(tierNames: readonly string[], options: ServiceMetricsOptions = {}): ServiceMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'prio_' });
  const kinds: readonly SchedulerEventKind[] = ['queued', 'dispatched', 'completed', 'shed', 'throttled', 'expired', 'preempted', 'cancelled'];
  const tierCount = tierNames.length;
  /** Scheduler transitions per kind × tier, and how many of them prom-client has been handed. */
  const eventCounts = new Float64Array(kinds.length * tierCount);
  const eventPublished = new Float64Array(kinds.length * tierCount);
  const kindIndex = new Map(kinds.map((k, i) => [k, i]));
  /** Responses per status: [count so far, count handed to prom-client]. */
  const responseCounts = new Map<number, { count: number; published: number; child: { inc(by: number): void } }>();
  let depthChildren: { set(v: number): void }[] = [];
  let eventChildren: { inc(by: number): void }[] = [];
  const depth = new Gauge({
    name: 'prio_queue_depth',
    help: 'Requests waiting in the dispatch loop, per tier.',
    labelNames: ['tier'],
    registers: [registry],
    collect() {
      const queueDepth = options.queueDepth;
      if (queueDepth !== undefined) for (let t = 0; t < tierCount; t++) depthChildren[t]?.set(queueDepth(t));
    },
  });
  const wait = new Histogram({
    name: 'prio_queue_wait_seconds',
    help: 'Time from arrival to dispatch, per tier.',
    labelNames: ['tier'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'prio_scheduler_requests_total',
    help: 'Scheduler transitions per tier: queued, dispatched, completed, shed, throttled, expired, preempted, cancelled.',
    labelNames: ['tier', 'event'],
    registers: [registry],
    collect() {
      for (let i = 0; i < eventCounts.length; i++) {
        const delta = (eventCounts[i] as number) - (eventPublished[i] as number);
        if (delta > 0) {
          eventChildren[i]?.inc(delta);
          eventPublished[i] = eventCounts[i] as number;
        }
      }
    },
  });
  const failClosed = new Counter({ name: 'prio_fail_closed_total', help: 'Requests the rules refused (fail closed), by attribute and value.', labelNames: ['attribute', 'value'], registers: [registry] });
  const tokens = new Counter({ name: 'prio_session_token_rejections_total', help: 'Presented session tokens that did not decide the ranking, by reason.', labelNames: ['reason'], registers: [registry] });
  const responses = new Counter({
    name: 'prio_http_responses_total',
    help: 'HTTP responses by status code.',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      for (const r of responseCounts.values()) {
        if (r.count > r.published) {
          r.child.inc(r.count - r.published);
          r.published = r.count;
        }
      }
    },
  });
  const observed = new Counter({
    name: 'prio_observed_mapping_total',
    help: 'Requests also evaluated under the mapping not in force: same tier, changed, or an error there.',
    labelNames: ['result'],
    registers: [registry],
  });
  const config = new Gauge({ name: 'prio_config_info', help: 'The configuration in force (value 1).', labelNames: ['version', 'source', 'priority_scheme', 'token_read_mode', 'token_write_mode', 'service_tier_mode', 'rules_version'], registers: [registry] });
  const configLoadedAt = new Gauge({ name: 'prio_config_loaded_timestamp_seconds', help: 'When the configuration in force was swapped in.', registers: [registry] });
  const logged = new Counter({ name: 'prio_request_log_records_total', help: 'Request records handed to the request log: written, or dropped (buffer full or sink failed).', labelNames: ['result'], registers: [registry] });
  const drainingGauge = new Gauge({ name: 'prio_draining', help: '1 while the service drains before stopping.', registers: [registry] });
  drainingGauge.set(0);

  depthChildren = tierNames.map((t) => depth.labels(t));
  for (const child of depthChildren) child.set(0);
  const waitChildren = tierNames.map((t) => wait.labels(t));
  eventChildren = kinds.flatMap((k) => tierNames.map((t) => outcomes.labels(t, k)));
  const failValues = new Set<string>();

  return {
    registry,
    schedulerEvent(kind, tier, waitSeconds) {
      const k = kindIndex.get(kind);
      if (k === undefined || tier < 0 || tier >= tierCount) return;
      const i = k * tierCount + tier;
      eventCounts[i] = (eventCounts[i] as number) + 1;
      if (kind === 'dispatched') waitChildren[tier]?.observe(waitSeconds);
    },
    failClosed(attribute, value) {
      if (!failValues.has(value) && failValues.size >= MAX_FAIL_CLOSED_VALUES) value = 'other';
      else failValues.add(value);
      failClosed.labels(attribute, value).inc();
    },
    tokenRejected(reason) {
      tokens.labels(reason).inc();
    },
    response(status) {
      let r = responseCounts.get(status);
      if (r === undefined) {
        r = { count: 0, published: 0, child: responses.labels(String(status)) };
        responseCounts.set(status, r);
      }
      r.count++;
    },
    observed(result) {
      observed.labels(result).inc();
    },
    configLoaded(snapshot) {
      config.reset();
      const f = snapshot.flags;
      config.labels(snapshot.version, snapshot.source, f.priorityScheme, f.tokenReadMode, f.tokenWriteMode, f.serviceTierMode, f.rulesVersion).set(1);
      configLoadedAt.set(snapshot.loadedAt / 1000);
    },
    requestLog(event, count) {
      logged.labels(event).inc(count);
    },
    draining(on) {
      drainingGauge.set(on ? 1 : 0);
    },
  };
}
