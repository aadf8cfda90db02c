/**
 * One gateway request from arrival to its last byte, as a callback-driven object: it reads the
 * body, ranks the request, admits it to the dispatch loop (it is the runtime's
 * {@link Admission}), forwards it when dispatched, frees the slot when the response has reached
 * the client, and writes the request's record.
 *
 * Why callbacks and not `async` functions: at tens of thousands of requests per second on one
 * core, each promise, `await` and closure a request costs shows up as CPU and young-generation
 * garbage (docs/service.md "Figures"). This object replaces an async handler, a promise for the
 * body, a promise for the outcome and their microtask hops; every way a request can end goes
 * through {@link GatewayExchange.finish}, once.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { ConfigSnapshot } from '../appconfig/index.js';
import type { SchedulingRejected} from '../scheduler/index.js';
import { type Admission, type SchedulerRuntime, type Ticket } from '../scheduler/index.js';
import { readBody, type BodySink } from './body.js';
import type { Ranked } from './decide.js';
import { forward, splitRequestHeaders, type ForwardRequest, type Forwarding } from './forward.js';
import { headerObject, rankingHeaders, requestRecord, type ServiceRecord } from './respond.js';
import { fromHeaders, HEADER, isWireProblem, modelOfBody, type WireRequest } from './wire.js';

/** The request headers the gateway reads (the rest it only forwards). */
const GATEWAY_READS: ReadonlySet<string> = new Set([...Object.values(HEADER), 'content-type']);

/** What every exchange of one service shares: its runtime, upstream, limits and answers. */
export interface GatewayContext {
  readonly runtime: SchedulerRuntime<number>;
  readonly upstream: Dispatcher;
  /** Prefixed to the client's path (the upstream URL's path, without a trailing slash). */
  readonly upstreamPath: string;
  readonly maxBodyBytes: number;
  readonly queueTimeoutMs: number;
  /** Region recorded for requests that name none. */
  readonly region: string;
  readonly logger: Logger;
  /** Set once the drain's grace period has run out: a cancelled request is then answered 503, not taken for a client that left. */
  readonly drainDeadlinePassed: boolean;
  /** Ranks a parsed request; answers 400 itself (and returns undefined) when the rules fail closed. */
  rank(snapshot: ConfigSnapshot, wire: WireRequest, nowMs: number, res: ServerResponse): Ranked | undefined;
  /** The variant (index in the scheduler's config) serving `modelId`, if any. */
  variantOf(modelId: string): number | undefined;
  /** Writes a JSON answer and counts its status. */
  respond(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  /** Answers 413 for a body over `maxBodyBytes`. */
  refuseTooLarge(res: ServerResponse): void;
  /** A fault of the service's own (a bug): logged, answered 500 if still possible. */
  internalError(res: ServerResponse, err: unknown): void;
  /** Counts the upstream's status as its response begins. */
  readonly countResponse: (status: number) => void;
  /** Hands a finished request's record to the request log; undefined when there is none (a record costs a Date, a string and an object). */
  readonly log: ((record: ServiceRecord) => void) | undefined;
  nextTicketId(): number;
  /** Called once per exchange, when it has ended however it ended. */
  ended(): void;
}

/** Where an exchange is: reading the body, ranked and admitted (queued, running or streaming), or over. */
type Phase = 'reading' | 'admitted' | 'over';

export class GatewayExchange implements Admission<number>, BodySink {
  /** Set once admitted; the client's hang-up cancels it, queued or running. */
  private ticket: Ticket<number> | undefined;
  private phase: Phase = 'reading';
  private forwarding: Forwarding | undefined;
  private requestId = '';
  private wire: WireRequest | undefined;
  private ranked: Ranked | undefined;
  private headers: string[] = [];
  private forwardRequest: ForwardRequest | undefined;
  /** The client closed the connection before its response was complete. */
  private clientGone = false;

  constructor(
    private readonly gw: GatewayContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    /** The configuration in force when the request arrived, kept to its end. */
    private readonly snapshot: ConfigSnapshot,
    private readonly arrivalMs: number,
  ) {}

  /** Starts reading the request; from here on it ends through {@link finish}. */
  begin(): void {
    this.res.on('close', this.onClientClose);
    readBody(this.req, this.gw.maxBodyBytes, this);
  }

  onBody(body: Buffer): void {
    if (this.phase !== 'reading') return;
    try {
      this.rankAndAdmit(body);
    } catch (err) {
      this.gw.internalError(this.res, err);
      this.finish();
    }
  }

  onTooLarge(): void {
    if (this.phase !== 'reading') return;
    this.gw.refuseTooLarge(this.res);
    this.finish();
  }

  /** The client's request broke off (it went away mid-body): nothing was ranked, nobody to answer. */
  onBroken(): void {
    if (this.phase === 'reading') this.finish('cancelled', 499);
  }

  private rankAndAdmit(body: Buffer): void {
    const { gw, res, req, snapshot, arrivalMs } = this;
    const split = splitRequestHeaders(req.rawHeaders, GATEWAY_READS);
    const wire = fromHeaders(split.read, modelOfBody(body, split.read['content-type']), gw.region);
    if (isWireProblem(wire)) {
      gw.respond(res, 400, { error: 'bad-request', message: wire.message });
      return this.finish();
    }
    this.wire = wire;
    this.requestId = wire.requestId ?? randomUUID();
    const r = gw.rank(snapshot, wire, arrivalMs, res);
    if (r === undefined) return this.finish('fail-closed', 400);
    this.ranked = r;
    const variant = gw.variantOf(wire.request.modelId);
    if (variant === undefined) {
      gw.respond(res, 400, { error: 'unknown-model', message: `no capacity for model ${JSON.stringify(wire.request.modelId)} and no defaultVariant in the capacity file` });
      return this.finish('unknown-model', 400);
    }
    this.headers = rankingHeaders(r, snapshot, this.requestId);
    if (res.destroyed) return this.finish('cancelled', 499);
    this.forwardRequest = { path: gw.upstreamPath + (req.url ?? '/'), method: req.method ?? 'GET', headers: split.forward, body: body.length > 0 ? body : null };
    this.phase = 'admitted';
    this.ticket = gw.runtime.admit({ id: gw.nextTicketId(), variant, tier: r.tier.rank, account: wire.request.accountId, preemptable: r.preemptable, deadline: performance.now() + gw.queueTimeoutMs }, this);
  }

  onStart(ticket: Ticket<number>): void {
    this.ticket = ticket;
    try {
      // The client's hang-up is watched by onClientClose (it cancels the ticket, which aborts this).
      this.forwarding = forward(this.gw.upstream, this.forwardRequest as ForwardRequest, this.res, { extraHeaders: this.headers, onStatus: this.gw.countResponse, onEnd: this.onForwarded, watchClient: false });
    } catch (err) {
      if (this.gw.runtime.release(ticket)) this.upstreamFailed(err);
    }
  }

  /** The forwarding ended: the slot goes back, unless the request was preempted or cancelled meanwhile (already rejected). */
  private readonly onForwarded = (status: number, err: Error | undefined): void => {
    if (!this.gw.runtime.release(this.ticket as Ticket<number>)) return;
    if (err === undefined) this.finish('completed', status);
    else this.upstreamFailed(err);
  };

  onReject(rejected: SchedulingRejected): void {
    this.forwarding?.abort(rejected);
    const { gw, res, ranked } = this;
    const tier = (ranked as Ranked).tier.name;
    switch (rejected.state) {
      case 'shed':
      case 'throttled':
        gw.respond(res, 429, { error: rejected.state, message: rejected.message, tier }, headerObject(this.headers, { 'retry-after': String(Math.max(1, Math.ceil(rejected.retryAfterMs / 1000))) }));
        return this.finish(rejected.state, 429);
      case 'expired':
        gw.respond(res, 503, { error: 'expired', message: `waited ${gw.queueTimeoutMs} ms in the queue without a slot`, tier }, headerObject(this.headers, {}));
        return this.finish('expired', 503);
      case 'preempted':
        this.answer503('preempted', rejected.message);
        return this.finish('preempted', 503);
      default:
        // Cancelled: by the drain once its grace period has passed, or because the client went away (nobody to answer).
        if (!gw.drainDeadlinePassed || this.clientGone) return this.finish('cancelled', 499);
        this.answer503('draining', rejected.message);
        return this.finish('cancelled', 503);
    }
  }

  /** 503 for a request taken back from the scheduler; a response already begun can only be cut. */
  private answer503(error: string, message: string): void {
    if (this.res.headersSent) this.res.destroy();
    else this.gw.respond(this.res, 503, { error, message }, headerObject(this.headers, { connection: 'close' }));
  }

  private upstreamFailed(err: unknown): void {
    if (this.clientGone) return this.finish('cancelled', 499);
    const message = err instanceof Error ? err.message : String(err);
    if (this.res.headersSent) this.res.destroy();
    else this.gw.respond(this.res, 502, { error: 'upstream-error', message }, headerObject(this.headers, {}));
    this.gw.logger.warn({ requestId: this.requestId, err: message }, 'upstream request failed');
    this.finish('upstream-error', 502);
  }

  /** The client hung up before its response was complete: withdraw the request, queued or running. */
  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    if (this.phase === 'reading') return this.finish('cancelled', 499);
    if (this.ticket !== undefined) this.gw.runtime.cancel(this.ticket);
  };

  /**
   * The one way out: records the request (when it was parsed and `outcome` is given) and tells
   * the service it has ended. Later calls do nothing. A request whose client went away (499,
   * nginx's "client closed request"; nothing is sent) is counted with the responses, so that
   * one abandoned before its body had arrived, never ranked, is still counted somewhere.
   */
  private finish(outcome?: string, status?: number): void {
    if (this.phase === 'over') return;
    this.phase = 'over';
    this.res.off('close', this.onClientClose);
    if (status === 499) this.gw.countResponse(499);
    const { log } = this.gw;
    if (log !== undefined && outcome !== undefined && this.wire !== undefined) {
      log(requestRecord(this.requestId, this.arrivalMs, this.wire.request, this.ranked, outcome, status as number));
    }
    this.gw.ended();
  }
}
