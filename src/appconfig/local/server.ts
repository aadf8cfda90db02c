/**
 * The HTTP shell of the local AppConfig endpoint: one node:http server answering the AppConfig
 * control plane, AppConfigData, CloudWatch DescribeAlarms (for the alarms it models) and the
 * /_local/ admin API on the same port. Requests are not
 * authenticated: the SDK's SigV4 signature is accepted unchecked, whatever the credentials.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ADMIN_PREFIX, createAdmin, handleAdmin, type LocalAdmin } from './admin.js';
import { LocalContext, type Clock } from './context.js';
import { CLOUDWATCH_TARGET_PREFIX, handleCloudWatch } from './cloudwatch.js';
import { controlPlaneRoutes } from './control-plane.js';
import { dataPlaneRoutes } from './data-plane.js';
import { corrupt, FaultTable } from './faults.js';
import { lifecycleRoutes } from './lifecycle.js';
import { tagRoutes } from './tags.js';
import { ApiError, matchRoute, type ApiResponse, type Route } from './protocol.js';
import { DEFAULT_QUOTAS, type Quotas } from './model.js';
import { fileStore, memoryStore } from './store.js';

export interface LocalAppConfigOptions {
  /** Interface to bind; 127.0.0.1 by default. */
  readonly host?: string;
  /** Port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Persist state as JSON in this directory; in memory when absent. */
  readonly stateDir?: string;
  /** Strategy minutes pass in 60/timeScale seconds; 1 by default. */
  readonly timeScale?: number;
  /** Epoch ms; Date.now by default (tests may pass their own). */
  readonly clock?: Clock;
  /** Smallest RequiredMinimumPollIntervalInSeconds accepted (AppConfig: 15); 1 by default. */
  readonly minPollIntervalSeconds?: number;
  /** Overrides of AppConfig's default quotas (a shared test endpoint raises `applications`). */
  readonly quotas?: Partial<Quotas>;
  /** Called once per answered request with `METHOD path status operation ms` (for `--log`). */
  readonly onRequest?: (line: string) => void;
  /** Called with one line per request the endpoint failed on unexpectedly (a bug, answered 500). */
  readonly onInternalError?: (line: string) => void;
}

export interface LocalAppConfig {
  /** Base URL for the SDK clients' `endpoint`, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly timeScale: number;
  /** Where the state lives: `memory` or the state file's path. */
  readonly stateLocation: string;
  readonly admin: LocalAdmin;
  close(): Promise<void>;
}

/** Bodies above this size are refused before they are read whole (AppConfig's limit is 2 MB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': String(body.length), 'x-amzn-requestid': randomUUID() });
  res.end(body);
}

function sendError(res: ServerResponse, err: ApiError): void {
  const body = Buffer.from(JSON.stringify({ Message: err.message, ...err.fields }), 'utf8');
  send(res, err.status, { 'content-type': 'application/json', 'x-amzn-errortype': err.type }, body);
}

function toWire(response: ApiResponse): { headers: Record<string, string>; body: Buffer } {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  if (response.body === undefined) return { headers, body: Buffer.alloc(0) };
  if (Buffer.isBuffer(response.body)) return { headers, body: response.body };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return { headers, body: Buffer.from(JSON.stringify(response.body), 'utf8') };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the endpoint; resolves once it listens. */
export async function startLocalAppConfig(options: LocalAppConfigOptions = {}): Promise<LocalAppConfig> {
  const host = options.host ?? '127.0.0.1';
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
  const store = options.stateDir === undefined ? memoryStore() : fileStore(options.stateDir);
  const ctx = new LocalContext(store, options.clock ?? Date.now, timeScale, { ...DEFAULT_QUOTAS, ...options.quotas });
  const faults = new FaultTable();
  const admin = createAdmin(ctx, faults);
  const routes: Route[] = [
    ...controlPlaneRoutes(ctx),
    ...lifecycleRoutes(ctx),
    ...tagRoutes(ctx),
    ...dataPlaneRoutes(ctx, options.minPollIntervalSeconds === undefined ? {} : { minPollIntervalSeconds: options.minPollIntervalSeconds }),
  ];
  const info = { timeScale, stateLocation: store.location };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://local');
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) sendError(res, new ApiError('PayloadTooLargeException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`));
      return;
    }
    if (url.pathname.startsWith(ADMIN_PREFIX)) {
      const reply = handleAdmin(admin, info, method, url.pathname, body);
      send(res, reply.status, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(reply.body), 'utf8'));
      return;
    }
    const target = req.headers['x-amz-target'];
    if (method === 'POST' && typeof target === 'string' && target.startsWith(CLOUDWATCH_TARGET_PREFIX)) {
      const reply = handleCloudWatch(ctx, target, body);
      send(res, reply.status, reply.headers, reply.body);
      return;
    }
    const match = matchRoute(routes, method, url.pathname);
    if (match === undefined) {
      sendError(res, new ApiError('BadRequestException', `No AppConfig operation is bound to ${method} ${url.pathname} on this endpoint.`, {}, 404));
      return;
    }
    const { route, params } = match;
    const hit = faults.take(route.operation, route.plane);
    const delay = hit.reduce((sum, f) => sum + (f.kind === 'latency' ? (f.latencyMs ?? 0) : 0), 0);
    if (delay > 0) await sleep(delay);
    const failure = hit.find((f) => f.kind === 'throttle' || f.kind === 'error');
    if (failure !== undefined) {
      sendError(
        res,
        failure.kind === 'throttle'
          ? new ApiError('ThrottlingException', 'Rate exceeded (injected fault).')
          : new ApiError('InternalServerException', 'Internal error (injected fault).', {}, failure.status ?? 500),
      );
      return;
    }
    let response: ApiResponse;
    try {
      response = await route.handle({ method, path: url.pathname, params, query: url.searchParams, headers: req.headers, body });
    } catch (err) {
      if (err instanceof ApiError) {
        sendError(res, err);
        return;
      }
      options.onInternalError?.(`${route.operation}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      sendError(res, new ApiError('InternalServerException', `${route.operation} failed: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    const wire = toWire(response);
    send(res, response.status, wire.headers, hit.some((f) => f.kind === 'corrupt') ? corrupt(wire.body) : wire.body);
  }

  const server = createServer((req, res) => {
    const onRequest = options.onRequest;
    if (onRequest !== undefined) {
      const started = performance.now();
      res.once('finish', () => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const operation = matchRoute(routes, req.method ?? 'GET', path)?.route.operation ?? (path.startsWith(ADMIN_PREFIX) ? 'admin' : '-');
        onRequest(`${req.method ?? 'GET'} ${path} ${res.statusCode} ${operation} ${(performance.now() - started).toFixed(1)}ms`);
      });
    }
    handle(req, res).catch((err: unknown) => {
      options.onInternalError?.(`request: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendError(res, new ApiError('InternalServerException', 'internal error'));
      else res.destroy();
    });
  });
  // SDK clients keep connections alive; idle ones must not hold the port open after close().
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    timeScale,
    stateLocation: store.location,
    admin,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
