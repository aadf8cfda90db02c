/**
 * A simulated model server (`prio serve --upstream sim:`), so demos, tests and game days need
 * nothing else: it answers any request after a service time drawn from a seeded distribution,
 * as OpenAI-style JSON, or — when the JSON body asks `"stream": true` — as server-sent events
 * spread over the service time. It listens on its own 127.0.0.1 port and the gateway reaches it
 * through the same upstream client as any real model server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../random/index.js';

export type ServiceTimeDistribution = 'fixed' | 'exponential' | 'uniform';
export const SERVICE_TIME_DISTRIBUTIONS: readonly ServiceTimeDistribution[] = ['fixed', 'exponential', 'uniform'];

export interface SimUpstreamOptions {
  /** Mean service time in ms (0: answer at once). */
  readonly meanMs: number;
  readonly distribution: ServiceTimeDistribution;
  readonly seed?: number;
  /** Events a streamed answer is split into. Default 8. */
  readonly streamChunks?: number;
  readonly port?: number;
}

export interface SimUpstream {
  readonly url: string;
  /** Requests answered in full so far. */
  readonly served: number;
  /** Requests whose client went away before the answer was complete. */
  readonly abandoned: number;
  close(): Promise<void>;
}

/** Draws service times in ms: fixed at the mean, exponential with that mean, or uniform on [0, 2·mean]. */
export function serviceTimeSampler(distribution: ServiceTimeDistribution, meanMs: number, seed = 1): () => number {
  const random = seededRandom(seed);
  if (meanMs <= 0) return () => 0;
  switch (distribution) {
    case 'fixed':
      return () => meanMs;
    case 'uniform':
      return () => random() * 2 * meanMs;
    case 'exponential':
      return () => -Math.log(1 - random()) * meanMs;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): { model?: unknown; stream?: unknown } {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as { model?: unknown; stream?: unknown }) : {};
  } catch {
    return {};
  }
}

export async function startSimUpstream(options: SimUpstreamOptions): Promise<SimUpstream> {
  const draw = serviceTimeSampler(options.distribution, options.meanMs, options.seed);
  const chunks = Math.max(1, options.streamChunks ?? 8);
  let served = 0;
  let abandoned = 0;
  let sequence = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const doc = body.length > 0 ? parseJson(body) : {};
    const model = typeof doc.model === 'string' ? doc.model : 'sim';
    const id = `sim-${++sequence}`;
    const serviceMs = draw();
    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        gone = true;
        abandoned++;
      }
    });
    const wait = (ms: number) => (ms <= 0 ? Promise.resolve() : new Promise<void>((r) => setTimeout(r, ms)));
    if (doc.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (let i = 0; i < chunks && !gone; i++) {
        await wait(serviceMs / chunks);
        if (gone) return;
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: { content: `chunk ${i + 1} of ${chunks}` } }] })}\n\n`);
      }
      if (gone) return;
      res.end('data: [DONE]\n\n');
    } else {
      await wait(serviceMs);
      if (gone) return;
      const answer = JSON.stringify({ id, object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content: 'simulated answer' }, finish_reason: 'stop' }], serviceMs: Math.round(serviceMs * 1000) / 1000 });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    }
    served++;
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get served() {
      return served;
    },
    get abandoned() {
      return abandoned;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
