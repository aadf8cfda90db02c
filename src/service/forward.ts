/**
 * Forwards one request to the upstream and streams its response to the client, on undici's
 * dispatch interface: the response's chunks go straight from undici's parser to the client's
 * socket (`res.write`, pausing undici while the client is slow), with no intermediate
 * response stream, no promise per step and no AbortSignal. The caller withdraws a request with
 * `abort` (a preempted or cancelled request), which ends the upstream request at once, whether
 * its response has begun or not.
 *
 * What it costs per request, against `pool.request` + {@link relay} (measured in the serve
 * benchmark, docs/service.md "Figures"): no undici body stream (a Readable and its state),
 * no AsyncResource, no `addEventListener` on an AbortSignal for the upstream request, and
 * headers copied as one flat array rather than two objects and a spread.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';

/** Headers that describe one connection, not the message: never copied from one side to the other. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);
/** The same for the response, except that a response keeps its content-length (the body is relayed whole). */
const RESPONSE_HOP_BY_HOP = new Set([...HOP_BY_HOP].filter((h) => h !== 'content-length'));

/** No headers wanted: {@link forwardedHeaders} only forwards. */
const NONE: ReadonlySet<string> = new Set();

/**
 * The one pass over raw headers both exports make: returns the list to send upstream, and puts
 * the `wanted` ones into `read` (a repeated one joined with `, `, as Node's `req.headers` does).
 */
function endToEnd(raw: readonly string[], wanted: ReadonlySet<string>, read: Record<string, string>): string[] {
  const forward: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (wanted.has(lower)) {
      const earlier = read[lower];
      read[lower] = earlier === undefined ? value : `${earlier}, ${value}`;
    }
    if (!HOP_BY_HOP.has(lower)) forward.push(name, value);
  }
  return forward;
}

/** The client's request headers to send upstream, as undici's flat `[name, value, …]` list. */
export function forwardedHeaders(req: IncomingMessage): string[] {
  return endToEnd(req.rawHeaders, NONE, {});
}

/**
 * One pass over a request's raw headers (`req.rawHeaders`) for a gateway: the headers it reads
 * (`wanted`, lower-case names) and the list to send upstream, as {@link forwardedHeaders} gives
 * it. Reading `req.headers` instead would make Node build an object of every header for a
 * handful of values.
 */
export function splitRequestHeaders(raw: readonly string[], wanted: ReadonlySet<string>): { readonly read: Record<string, string>; readonly forward: string[] } {
  const read: Record<string, string> = {};
  return { read, forward: endToEnd(raw, wanted, read) };
}

export interface ForwardRequest {
  readonly path: string;
  readonly method: string;
  /** Flat `[name, value, …]` list (see {@link forwardedHeaders}). */
  readonly headers: readonly string[];
  readonly body: Buffer | null;
}

export interface Forwarding {
  /**
   * Resolves with the upstream's status once the client has the whole response; rejects when
   * either side fails or the request is aborted. Made on first use: a caller that passes
   * `onEnd` instead pays for no promise.
   */
  readonly done: Promise<number>;
  /** Ends the upstream request (and the client's response, if it has begun). Idempotent. */
  abort(reason: Error): void;
}

export interface ForwardOptions {
  /** Added to the upstream's response headers (flat `[name, value, …]`). */
  readonly extraHeaders?: readonly string[];
  /** Called with the upstream's status as the response begins. */
  readonly onStatus?: (status: number) => void;
  /** Called once when the forwarding ends: with the status once the client has the whole response, or with the error. */
  readonly onEnd?: (status: number, err: Error | undefined) => void;
  /**
   * Whether to abort the upstream request when the client hangs up before the response ends.
   * Default true; a caller that already withdraws the request on the client's `close` (the
   * gateway, through the scheduler) turns it off and saves a listener per request.
   */
  readonly watchClient?: boolean;
}

/**
 * One forwarded request as an undici dispatch handler (the interface `Dispatcher.dispatch`
 * calls: onConnect, onHeaders, onData, onComplete, onError).
 */
class ForwardHandler implements Forwarding {
  private upstreamAbort: ((reason: Error) => void) | undefined;
  private reason: Error | undefined;
  private resume: (() => void) | undefined;
  private status = 0;
  private settled = false;
  /** How it ended, for a `done` asked for after the end. */
  private error: Error | undefined;
  private promise: Promise<number> | undefined;
  private resolvePromise: ((status: number) => void) | undefined;
  private rejectPromise: ((err: Error) => void) | undefined;
  private readonly extraHeaders: readonly string[];
  private readonly watchClient: boolean;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: ForwardOptions,
  ) {
    this.extraHeaders = options.extraHeaders ?? [];
    this.watchClient = options.watchClient ?? true;
    if (this.watchClient) res.on('close', this.onClientClose);
  }

  get done(): Promise<number> {
    this.promise ??= this.settled
      ? this.error === undefined
        ? Promise.resolve(this.status)
        : Promise.reject(this.error)
      : new Promise<number>((resolve, reject) => {
          this.resolvePromise = resolve;
          this.rejectPromise = reject;
        });
    return this.promise;
  }

  abort(reason: Error): void {
    if (this.settled) return;
    this.reason ??= reason;
    if (this.upstreamAbort !== undefined) this.upstreamAbort(reason);
  }

  /** The client went away before it had the whole response: stop the upstream request. */
  private readonly onClientClose = (): void => {
    if (!this.res.writableFinished) this.abort(new Error('the client closed the connection before the response ended'));
  };

  private readonly onDrain = (): void => this.resume?.();

  onConnect(abort: (reason: Error) => void): void {
    if (this.reason !== undefined) abort(this.reason);
    else this.upstreamAbort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the real response follows
    const headers: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as Buffer).toString('latin1');
      if (!RESPONSE_HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'));
    }
    for (const h of this.extraHeaders) headers.push(h);
    this.status = statusCode;
    this.resume = resume;
    this.res.writeHead(statusCode, headers);
    this.options.onStatus?.(statusCode);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // undici stops reading the upstream until the client's socket drains.
    this.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    this.res.end(() => this.settle(undefined));
  }

  onError(err: Error): void {
    // A response already begun cannot be answered otherwise; before that the caller answers (502, 503).
    if (this.res.headersSent) this.res.destroy();
    this.settle(err);
  }

  private settle(err: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.error = err;
    if (this.watchClient) this.res.off('close', this.onClientClose);
    if (this.resume !== undefined) this.res.off('drain', this.onDrain);
    this.options.onEnd?.(this.status, err);
    if (err === undefined) this.resolvePromise?.(this.status);
    else this.rejectPromise?.(err);
  }
}

/** Sends `request` to `upstream` and streams the response to `res`. */
export function forward(upstream: Dispatcher, request: ForwardRequest, res: ServerResponse, options: ForwardOptions = {}): Forwarding {
  const handler = new ForwardHandler(res, options);
  upstream.dispatch({ path: request.path, method: request.method as Dispatcher.HttpMethod, headers: request.headers as string[], body: request.body }, handler);
  return handler;
}
