/**
 * `prio serve`: the scheduler runtime, the rules and the session tokens behind HTTP.
 *
 * - Gateway mode (an upstream is given): requests under `/v1/` are ranked, queued by the
 *   dispatch loop, forwarded when it grants a slot, and the slot is freed when the upstream's
 *   response has ended (streamed chunk by chunk). A client that goes away withdraws its request.
 * - Decision mode (`POST /v1/decide`): the ranking alone, for schedulers with queues of their own.
 *
 * Every request takes the configuration snapshot in force when it arrives and keeps it to the
 * end, so a swap never re-ranks a request in flight. `close` drains: it stops accepting, lets
 * what is queued and running finish within a grace period, answers whatever is left 503, and
 * flushes the request log.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { Client, Pool } from 'undici';
import type { ConfigProvider, ConfigSnapshot } from '../appconfig/index.js';
import type { Domain } from '../catalog/index.js';
import { schedulerConfigFor, SchedulerRuntime, type Capacity } from '../scheduler/index.js';
import type { Keyring } from '../tokens/index.js';
import { readBody } from './body.js';
import { codecCache, rank, type Ranked } from './decide.js';
import { GatewayExchange, type GatewayContext } from './gateway.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { noRequestLog, type RequestLog } from './request-log.js';
import { requestRecord, sendJson } from './respond.js';
import { fromDecisionBody, isWireProblem, usableSessionId, type WireRequest } from './wire.js';

/** The variant name requests for a model without limits of its own share (the capacity file's `defaultVariant`). */
export const DEFAULT_VARIANT = '*';

export interface ServiceOptions {
  readonly provider: ConfigProvider;
  readonly domain: Domain;
  readonly capacity: Capacity;
  readonly keyring: Keyring;
  /** Base URL of the model server; absent: decision mode only (`/v1/` other than decide is 404). */
  readonly upstream?: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** How long a request may wait in the queue before it expires (503). Default 30 s. */
  readonly queueTimeoutMs?: number;
  /** Lifetime of a new session's token. Default 1 h. */
  readonly sessionTtlMs?: number;
  /**
   * Added to the wall clock wherever session tokens read the time (issuedAt and expiresAt of the
   * tokens written, the expiry check of the tokens read); request records keep the real time.
   * Default 0. For game days and tests of a fleet whose clocks disagree: the ranking takes the
   * time as a parameter, so a skewed clock is injected here rather than faked.
   */
  readonly tokenClockOffsetMs?: number;
  /** Region recorded for requests that name none. Default `local`. */
  readonly region?: string;
  readonly requestLog?: RequestLog;
  readonly logger?: Logger;
  /** Largest request body accepted (413 beyond). Default 8 MiB. */
  readonly maxBodyBytes?: number;
  /** Connections to the upstream. Default 256. */
  readonly upstreamConnections?: number;
  /** Whether /metrics includes process metrics (CPU, memory, event loop lag). Default true. */
  readonly processMetrics?: boolean;
}

export interface DrainReport {
  /** Requests that were queued or running when the drain began and finished normally. */
  readonly finished: number;
  /** Requests still queued or running when the grace period ended, answered 503. */
  readonly cancelled: number;
}

export interface Service {
  readonly url: string;
  readonly metrics: ServiceMetrics;
  readonly runtime: SchedulerRuntime<number>;
  /** Requests being handled right now (ranked, queued, running or streaming). */
  readonly inFlight: number;
  /** Stops accepting, drains within `graceMs`, flushes the request log, closes everything. */
  close(graceMs?: number): Promise<DrainReport>;
}

class BodyTooLarge extends Error {}

/** {@link readBody} as a promise, for the decision path. */
function bodyOf(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => readBody(req, limit, { onBody: resolve, onTooLarge: () => reject(new BodyTooLarge()), onBroken: reject }));
}

export async function startService(options: ServiceOptions): Promise<Service> {
  const { provider, domain, capacity, keyring } = options;
  const logger = options.logger ?? pino({ level: 'info' });
  const queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
  const sessionTtlMs = options.sessionTtlMs ?? 3_600_000;
  const tokenClockOffsetMs = options.tokenClockOffsetMs ?? 0;
  const region = options.region ?? 'local';
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const requestLog = options.requestLog ?? noRequestLog;
  const tiers = domain.scale.tiers;
  const metrics = createServiceMetrics(
    tiers.map((t) => t.name),
    // Read from the dispatch core when /metrics is scraped, not counted per request.
    { processMetrics: options.processMetrics ?? true, queueDepth: (tier) => queuedInTier(tier) },
  );
  const codecs = codecCache(keyring);

  const variantNames = [...Object.keys(capacity.variants), ...(capacity.defaultVariant === undefined ? [] : [DEFAULT_VARIANT])];
  const schedulerConfig = schedulerConfigFor(
    capacity,
    tiers.map((t) => t.weight),
    variantNames,
  );
  const variantIndex = new Map(schedulerConfig.variants.map((v, i) => [v.id, i]));
  const defaultVariant = variantIndex.get(DEFAULT_VARIANT);

  const countResponse = (status: number): void => metrics.response(status);
  let nextId = 0;
  const runtime = new SchedulerRuntime<number>(schedulerConfig, {
    onEvent: (kind, ticket, now) => metrics.schedulerEvent(kind, ticket.tier, kind === 'dispatched' ? (now - ticket.arrivedAt) / 1000 : 0),
  });
  const queuedInTier = (tier: number): number => {
    let n = 0;
    for (let v = 0; v < runtime.core.variantCount; v++) n += runtime.core.queued(v, tier);
    return n;
  };

  const pool = options.upstream === undefined ? undefined : new Pool(new URL(options.upstream).origin, { connections: options.upstreamConnections ?? 256, keepAliveTimeout: 30_000 });
  const upstreamPath = options.upstream === undefined ? '' : new URL(options.upstream).pathname.replace(/\/$/, '');

  let draining = false;
  /** Set when the grace period has run out: a cancelled request is then answered 503, not taken for a client that left. */
  let drainDeadlinePassed = false;
  let inFlight = 0;
  let onIdle: (() => void) | undefined;

  const unsubscribe = provider.subscribe((snapshot) => {
    metrics.configLoaded(snapshot);
    logger.info({ version: snapshot.version, source: snapshot.source, flags: snapshot.flags }, 'configuration swapped in');
  });
  const initial = provider.current();
  if (initial !== undefined) metrics.configLoaded(initial);

  /** Records are built only when a log is configured (one costs a Date, an ISO string and an object per request). */
  const logging = requestLog !== noRequestLog;

  function respond(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
    metrics.response(status);
    sendJson(res, status, body, headers);
  }

  /** Ranks a parsed request; answers 400 itself when the rules fail closed. */
  function rankOrRefuse(snapshot: ConfigSnapshot, wire: WireRequest, nowMs: number, res: ServerResponse): Ranked | undefined {
    const ranking = rank(
      snapshot,
      codecs(snapshot),
      { request: wire.request, sessionToken: wire.sessionToken, newSessionId: usableSessionId(wire.sessionId) ? (wire.sessionId as string) : randomUUID(), nowMs: nowMs + tokenClockOffsetMs },
      { sessionTtlMs },
    );
    if (!ranking.ok) {
      const { error } = ranking;
      metrics.failClosed(error.attribute ?? error.code, error.value === undefined ? '' : String(error.value));
      respond(res, 400, { error: 'fail-closed', code: error.code, attribute: error.attribute ?? null, value: error.value ?? null, message: error.message });
      return undefined;
    }
    if (ranking.tokenRejected !== undefined) metrics.tokenRejected(ranking.tokenRejected);
    if (ranking.observed !== undefined) metrics.observed(!ranking.observed.ok ? 'error' : ranking.observed.tier === ranking.tier ? 'same' : 'changed');
    return ranking;
  }

  async function decideRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivalMs = Date.now();
    const snapshot = provider.current();
    if (snapshot === undefined) return respond(res, 503, { error: 'no configuration loaded' });
    const wire = fromDecisionBody(await bodyOf(req, maxBody), region);
    if (isWireProblem(wire)) return respond(res, 400, { error: 'bad-request', message: wire.message });
    const requestId = wire.requestId ?? randomUUID();
    const r = rankOrRefuse(snapshot, wire, arrivalMs, res);
    if (r === undefined) {
      if (logging) requestLog.write(requestRecord(requestId, arrivalMs, wire.request, undefined, 'fail-closed', 400));
      return;
    }
    respond(res, 200, {
      requestId,
      tier: r.tier.name,
      rank: r.tier.rank,
      qos: r.qos,
      preemptable: r.preemptable,
      legacyLevel: r.legacyLevel,
      sessionToken: r.sessionToken ?? null,
      sessionId: r.sessionId,
      rankedBy: r.source,
      mapping: r.mapping,
      ruleId: r.ruleId,
      configVersion: snapshot.version,
      tokenRejected: r.tokenRejected ?? null,
      observed: r.observed === undefined ? null : r.observed.ok ? { mapping: r.observed.mapping, tier: r.observed.tier.name, qos: r.observed.qos } : { mapping: r.observed.mapping, error: r.observed.code },
    });
    if (logging) requestLog.write(requestRecord(requestId, arrivalMs, wire.request, r, 'decided', 200));
  }

  /** A request under /v1/ has ended, however it ended. */
  function requestEnded(): void {
    inFlight--;
    if (inFlight === 0) onIdle?.();
  }

  /** A fault of the service's own (a bug): logged, answered 500 if still possible. */
  function internalError(res: ServerResponse, err: unknown): void {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'request failed');
    if (!res.headersSent) respond(res, 500, { error: 'internal', message: 'internal error' });
    else res.destroy();
  }

  function refuseTooLarge(res: ServerResponse): void {
    respond(res, 413, { error: 'too-large', message: `body over ${maxBody} bytes` }, { connection: 'close' });
  }

  const gateway: GatewayContext | undefined =
    pool === undefined
      ? undefined
      : {
          runtime,
          upstream: pool,
          upstreamPath,
          maxBodyBytes: maxBody,
          queueTimeoutMs,
          region,
          logger,
          get drainDeadlinePassed() {
            return drainDeadlinePassed;
          },
          rank: rankOrRefuse,
          variantOf: (modelId) => variantIndex.get(modelId) ?? defaultVariant,
          respond,
          refuseTooLarge,
          internalError,
          countResponse,
          log: logging ? (r) => requestLog.write(r) : undefined,
          nextTicketId: () => ++nextId,
          ended: requestEnded,
        };

  /** Synchronous up to the request's own handling: the gateway path costs no promise of its own. */
  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url;
    if (req.method === 'GET' && path === '/healthz') return respond(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const snapshot = provider.current();
      if (snapshot === undefined) return respond(res, 503, { ready: false, reason: 'no configuration loaded' });
      if (draining) return respond(res, 503, { ready: false, reason: 'draining' });
      return respond(res, 200, { ready: true, version: snapshot.version, source: snapshot.source });
    }
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => internalError(res, err),
      );
      return;
    }
    if (!path.startsWith('/v1/')) return respond(res, 404, { error: 'not-found', message: `no route ${path}` });
    if (draining) return respond(res, 503, { error: 'draining', message: 'the service is stopping' }, { connection: 'close' });
    if (path === '/v1/decide') {
      if (req.method !== 'POST') return respond(res, 405, { error: 'method-not-allowed', message: 'POST /v1/decide' }, { allow: 'POST' });
      inFlight++;
      decideRequest(req, res)
        .catch((err: unknown) => {
          if (err instanceof BodyTooLarge) refuseTooLarge(res);
          else internalError(res, err);
        })
        .finally(requestEnded);
      return;
    }
    if (gateway === undefined) return respond(res, 404, { error: 'not-found', message: 'decision mode only: no upstream configured (POST /v1/decide)' });
    // The snapshot in force at arrival ranks the request and stays with it to the end.
    const snapshot = provider.current();
    if (snapshot === undefined) return respond(res, 503, { error: 'no configuration loaded' });
    inFlight++;
    new GatewayExchange(gateway, req, res, snapshot, Date.now()).begin();
  }

  const server: Server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (err) {
      internalError(res, err);
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  if (pool !== undefined) {
    // The upstream client's HTTP parser is compiled on first use; doing that now, against our
    // own /healthz, keeps it out of the first forwarded requests' latency.
    const self = new Client(url);
    await self
      .request({ path: '/healthz', method: 'GET' })
      .then((r) => r.body.dump())
      .finally(() => self.close());
  }
  logger.info({ url, upstream: options.upstream ?? null, variants: variantNames, requestLog: requestLog.target }, 'prio serve listening');

  let closing: Promise<DrainReport> | undefined;
  async function close(graceMs = 30_000): Promise<DrainReport> {
    draining = true;
    metrics.draining(true);
    const atStart = inFlight;
    logger.info({ inFlight: atStart, graceMs }, 'draining');
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          onIdle = resolve;
        }),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      if (timer !== undefined) clearTimeout(timer);
    }
    let cancelled = 0;
    if (inFlight > 0) {
      drainDeadlinePassed = true;
      for (const ticket of runtime.unfinished) if (runtime.cancel(ticket)) cancelled++;
      await new Promise<void>((resolve) => {
        if (inFlight === 0) resolve();
        else onIdle = resolve;
        setTimeout(resolve, 1000).unref();
      });
    }
    await requestLog.close();
    runtime.close();
    unsubscribe();
    server.closeAllConnections();
    await stopped;
    await pool?.close();
    logger.info({ finished: atStart - cancelled, cancelled }, 'stopped');
    return { finished: atStart - cancelled, cancelled };
  }

  return {
    url,
    metrics,
    runtime,
    get inFlight() {
      return inFlight;
    },
    close: (graceMs) => (closing ??= close(graceMs)),
  };
}
