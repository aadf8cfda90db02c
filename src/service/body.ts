/**
 * Reads a request body whole, up to a limit: the one reader of the decision and gateway paths.
 * Callbacks rather than a promise, so the gateway's per-request path costs no promise (the
 * decision path wraps it in one).
 */
import type { IncomingMessage } from 'node:http';

export interface BodySink {
  /** The whole body (one Buffer, empty when there was none). */
  onBody(body: Buffer): void;
  /** The body passed `limit` bytes: the rest is drained unread, and `onBody` never comes. */
  onTooLarge(): void;
  /** The request broke off before its end (the client went away mid-body). */
  onBroken(err: Error): void;
}

export function readBody(req: IncomingMessage, limit: number, sink: BodySink): void {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (chunks === undefined) return;
    size += chunk.length;
    if (size <= limit) {
      chunks.push(chunk);
      return;
    }
    chunks = undefined;
    req.resume();
    sink.onTooLarge();
  });
  req.on('end', () => {
    if (chunks === undefined) return;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    chunks = undefined;
    sink.onBody(body);
  });
  // Kept for the request's life: an IncomingMessage's error without a listener would crash the process.
  req.on('error', (err) => {
    if (chunks === undefined) return;
    chunks = undefined;
    sink.onBroken(err);
  });
}
