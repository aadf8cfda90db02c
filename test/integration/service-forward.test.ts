/**
 * The gateway's forwarder (src/service/forward.ts) against a real HTTP upstream and a real
 * client on 127.0.0.1: how it reports the end of a forwarding (callback, promise asked for
 * before or after the end) and whether it watches the client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forward, forwardedHeaders, splitRequestHeaders, type Forwarding, type ForwardOptions } from '../../src/service/index.js';

let upstream: Server;
let pool: Pool;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      return; // never ends: the client must hang up
    }
    res.writeHead(201, { 'content-type': 'text/plain', connection: 'keep-alive' });
    res.end('made');
  });
  pool = new Pool(await listen(upstream));
});

afterAll(async () => {
  await pool.destroy();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

/** A front server that forwards each request with `options` and hands the Forwarding to `seen`. */
async function front(options: ForwardOptions, seen: (f: Forwarding, res: ServerResponse, req: IncomingMessage) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => seen(forward(pool, { path: req.url ?? '/', method: 'GET', headers: forwardedHeaders(req), body: null }, res, options), res, req));
  });
  return { url: await listen(server), server };
}

describe('forward', () => {
  it('calls onEnd once with the status, adds the extra headers, and still gives a promise asked for after the end', async () => {
    const ends: [number, Error | undefined][] = [];
    const statuses: number[] = [];
    let forwarding: Forwarding | undefined;
    const { url, server } = await front({ extraHeaders: ['x-prio-tier', 'P50'], onStatus: (s) => statuses.push(s), onEnd: (s, e) => ends.push([s, e]) }, (f) => (forwarding = f));
    const res = await request(`${url}/made`, { headers: { connection: 'keep-alive' } });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-prio-tier']).toBe('P50');
    expect(res.headers.connection).not.toBe('close');
    expect(await res.body.text()).toBe('made');
    await expect.poll(() => ends.length).toBe(1);
    expect(ends).toEqual([[201, undefined]]);
    expect(statuses).toEqual([201]);
    await expect((forwarding as Forwarding).done).resolves.toBe(201);
    server.close();
  });

  it('aborts the upstream request when the client hangs up, unless told the caller watches the client', async () => {
    const closeListeners: Record<string, number> = {};
    for (const watchClient of [true, false]) {
      const ends: (Error | undefined)[] = [];
      let forwarding: Forwarding | undefined;
      const { url, server } = await front({ watchClient, onEnd: (_s, e) => ends.push(e) }, (f, res) => {
        forwarding = f;
        closeListeners[String(watchClient)] = res.listenerCount('close');
      });
      const client = new Pool(url);
      const res = await client.request({ path: '/slow', method: 'GET' });
      expect(res.statusCode).toBe(200);
      await client.destroy();
      if (watchClient) {
        await expect.poll(() => ends.length).toBe(1);
        expect(ends[0]?.message).toMatch(/client closed the connection/);
      } else {
        // Nobody aborts it: the caller would, through its own listener.
        await new Promise((r) => setTimeout(r, 50));
        expect(ends).toEqual([]);
        (forwarding as Forwarding).abort(new Error('withdrawn by the caller'));
        await expect.poll(() => ends.length).toBe(1);
        expect(ends[0]?.message).toBe('withdrawn by the caller');
      }
      server.closeAllConnections();
      server.close();
    }
    // One listener of its own on the client's response when it watches, none otherwise.
    expect((closeListeners.true as number) - (closeListeners.false as number)).toBe(1);
  });
});

describe('splitRequestHeaders', () => {
  it('reads the wanted headers by lower-case name, joins repeats as Node does, and forwards all but hop-by-hop ones', () => {
    const raw = ['Host', 'gw:1', 'X-Prio-Account', 'a1', 'Content-Type', 'application/json', 'x-prio-account', 'a2', 'Connection', 'keep-alive', 'X-Other', 'o', 'Content-Length', '2'];
    const { read, forward: sent } = splitRequestHeaders(raw, new Set(['x-prio-account', 'content-type', 'x-prio-model']));
    expect(read).toEqual({ 'x-prio-account': 'a1, a2', 'content-type': 'application/json' });
    expect(sent).toEqual(['X-Prio-Account', 'a1', 'Content-Type', 'application/json', 'x-prio-account', 'a2', 'X-Other', 'o']);
    // The same list as forwardedHeaders gives from a request.
    expect(sent).toEqual(forwardedHeaders({ rawHeaders: raw } as IncomingMessage));
  });
});
