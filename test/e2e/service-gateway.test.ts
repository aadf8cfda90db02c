/**
 * `prio serve` over real HTTP on 127.0.0.1: gateway and decision modes end to end, overload as
 * a client sees it, a client that hangs up, a streamed answer, health and metrics.
 */
import { createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimUpstream, type Service, type SimUpstream } from '../../src/service/index.js';
import { LEGACY_FLAGS, PHASE2_FLAGS, TestProvider, post, snapshot, startTestService } from '../support/serve.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function sim(meanMs: number, distribution: 'fixed' | 'exponential' = 'fixed', streamChunks?: number): Promise<SimUpstream> {
  const s = await startSimUpstream({ meanMs, distribution, ...(streamChunks === undefined ? {} : { streamChunks }) });
  cleanup.push(() => s.close());
  return s;
}

async function serve(options: Parameters<typeof startTestService>[0]): Promise<Service> {
  const { service } = await startTestService(options);
  cleanup.push(() => service.close(1000));
  return service;
}

const ptv1 = { 'x-prio-account': 'acct-1', 'x-prio-classification': 'PTV1', 'x-prio-service-tier': 'RESERVED' };
const batch = { 'x-prio-account': 'acct-2', 'x-prio-classification': 'BATCH', 'x-prio-request-type': 'BATCH' };

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('prio serve gateway', () => {
  it('forwards a ranked request to the upstream and hands back the answer, the tier and a session token', async () => {
    const upstream = await sim(1);
    const service = await serve({ upstream: upstream.url, flags: PHASE2_FLAGS });
    const first = await post(`${service.url}/v1/chat/completions`, { model: 'model-a', messages: [] }, ptv1);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'chat.completion', model: 'model-a' });
    expect(first.headers.get('x-prio-tier')).toBe('P90');
    expect(first.headers.get('x-prio-ranked-by')).toBe('rules');
    const token = first.headers.get('x-prio-session-token') as string;
    expect(token.startsWith('v2.')).toBe(true);

    const second = await post(`${service.url}/v1/chat/completions`, { model: 'model-a' }, { ...ptv1, 'x-prio-session-token': token });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-prio-ranked-by')).toBe('token');
    expect(second.headers.get('x-prio-session-token')).toBe(token);
    expect(upstream.served).toBe(2);
  });

  it('answers 400 naming an unknown classification (fail closed) and a missing header, and counts them', async () => {
    const upstream = await sim(1);
    const service = await serve({ upstream: upstream.url });
    const gold = await post(`${service.url}/v1/chat/completions`, { model: 'm' }, { ...ptv1, 'x-prio-classification': 'GOLD' });
    expect(gold.status).toBe(400);
    expect(gold.body).toMatchObject({ error: 'fail-closed', attribute: 'classification', value: 'GOLD' });
    expect(String(gold.body.message)).toContain('GOLD');
    const missing = await post(`${service.url}/v1/chat/completions`, { model: 'm' }, { 'x-prio-classification': 'PTV1' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe('missing header x-prio-account');
    expect(upstream.served).toBe(0);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('prio_fail_closed_total{attribute="classification",value="GOLD"} 1');
  });

  it('sheds the lowest tier first when a variant is overloaded: queued batch requests get 429 with Retry-After, provisioned ones run', async () => {
    const upstream = await sim(150);
    const service = await serve({ upstream: upstream.url, capacity: { variants: { m: { concurrency: 1, queueBound: 3 } } } });
    const url = `${service.url}/v1/chat/completions`;
    const blocker = post(url, { model: 'm' }, batch);
    await until(() => service.runtime.core.inflight(0) === 1, 'the blocker to run');
    const low = [0, 1, 2].map(() => post(url, { model: 'm' }, batch));
    await until(() => service.runtime.core.queued(0) === 3, 'three batch requests queued');
    const high = [0, 1, 2].map(() => post(url, { model: 'm' }, ptv1));
    const lowResults = await Promise.all(low);
    const highResults = await Promise.all(high);
    expect(lowResults.map((r) => r.status)).toEqual([429, 429, 429]);
    for (const r of lowResults) {
      expect(r.body).toMatchObject({ error: 'shed', tier: 'P10' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(highResults.map((r) => [r.status, r.headers.get('x-prio-tier')])).toEqual([
      [200, 'P100'],
      [200, 'P100'],
      [200, 'P100'],
    ]);
    expect((await blocker).status).toBe(200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('prio_scheduler_requests_total{tier="P10",event="shed"} 3');
    expect(metrics).toContain('prio_queue_depth{tier="P10"} 0');
  });

  it('a client that disconnects frees its running slot and withdraws its queued request', async () => {
    const upstream = await sim(60_000);
    const service = await serve({ upstream: upstream.url, capacity: { variants: { m: { concurrency: 1, queueBound: 10 } } } });
    const url = `${service.url}/v1/chat/completions`;
    const running = new AbortController();
    const queued = new AbortController();
    const a = fetch(url, { method: 'POST', body: JSON.stringify({ model: 'm' }), headers: { ...batch, 'content-type': 'application/json' }, signal: running.signal }).catch((e: Error) => e.name);
    await until(() => service.runtime.core.inflight(0) === 1, 'the first request to run');
    const b = fetch(url, { method: 'POST', body: JSON.stringify({ model: 'm' }), headers: { ...batch, 'content-type': 'application/json' }, signal: queued.signal }).catch((e: Error) => e.name);
    await until(() => service.runtime.core.queued(0) === 1, 'the second request to queue');
    queued.abort();
    await until(() => service.runtime.core.queued(0) === 0, 'the queued request to be withdrawn');
    running.abort();
    await until(() => service.runtime.core.inflight(0) === 0, 'the slot to be freed');
    expect(await a).toBe('AbortError');
    expect(await b).toBe('AbortError');
    await until(() => upstream.abandoned === 1, 'the upstream to see the hang-up');
    await until(() => service.inFlight === 0, 'both handlers to finish');
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('prio_scheduler_requests_total{tier="P10",event="cancelled"} 2');
    expect(metrics).toContain('prio_http_responses_total{status="499"} 2');
  });

  it('refuses a body over the limit with 413 and closes the connection, in gateway and decision modes, and forwards nothing', async () => {
    const upstream = await sim(1);
    const service = await serve({ upstream: upstream.url, maxBodyBytes: 1024 });
    const big = JSON.stringify({ model: 'm', prompt: 'x'.repeat(4096) });
    for (const path of ['/v1/chat/completions', '/v1/decide']) {
      const res = await fetch(`${service.url}${path}`, { method: 'POST', body: big, headers: { ...batch, 'content-type': 'application/json' } });
      expect(res.status).toBe(413);
      expect(res.headers.get('connection')).toBe('close');
      expect(await res.json()).toMatchObject({ error: 'too-large', message: 'body over 1024 bytes' });
    }
    await until(() => service.inFlight === 0, 'both handlers to finish');
    expect(upstream.served).toBe(0);
    // A body within the limit still goes through.
    expect((await post(`${service.url}/v1/chat/completions`, { model: 'm' }, batch)).status).toBe(200);
  });

  it('a client that breaks off in the middle of its body leaves nothing in flight, and the next request is served', async () => {
    const upstream = await sim(1);
    const service = await serve({ upstream: upstream.url });
    const { port } = new URL(service.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const head = [
      'POST /v1/chat/completions HTTP/1.1',
      'host: 127.0.0.1',
      'content-type: application/json',
      'content-length: 1000',
      ...Object.entries(batch).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${head.join('\r\n')}\r\n\r\n{"model":"m",`);
    await until(() => service.inFlight === 1, 'the request to be read');
    socket.destroy();
    await until(() => service.inFlight === 0, 'the half-read request to end');
    expect(upstream.served).toBe(0);
    expect(service.runtime.core.inflight(0) + service.runtime.core.queued(0, 0)).toBe(0);
    // Never ranked, so in no scheduler counter: counted as a response the client walked away from.
    expect(await (await fetch(`${service.url}/metrics`)).text()).toContain('prio_http_responses_total{status="499"} 1');
    expect((await post(`${service.url}/v1/chat/completions`, { model: 'm' }, batch)).status).toBe(200);
  });

  it('passes a streamed (server-sent events) answer through intact', async () => {
    const upstream = await sim(100, 'fixed', 5);
    const service = await serve({ upstream: upstream.url });
    const res = await fetch(`${service.url}/v1/chat/completions`, { method: 'POST', headers: { ...ptv1, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true }) });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-prio-tier')).toBe('P100');
    const events = (await res.text()).split('\n\n').filter((e) => e !== '');
    expect(events).toHaveLength(6);
    events.slice(0, 5).forEach((e, i) => expect(JSON.parse(e.slice('data: '.length)).choices[0].delta.content).toBe(`chunk ${i + 1} of 5`));
    expect(events[5]).toBe('data: [DONE]');
  });

  it('a client that hangs up in the middle of a streamed answer frees the slot and the upstream sees it go', async () => {
    const upstream = await sim(4000, 'fixed', 40);
    const service = await serve({ upstream: upstream.url, capacity: { variants: { m: { concurrency: 1, queueBound: 10 } } } });
    const hangUp = new AbortController();
    const res = await fetch(`${service.url}/v1/chat/completions`, { method: 'POST', headers: { ...ptv1, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', stream: true }), signal: hangUp.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('chunk 1 of 40');
    hangUp.abort();
    await until(() => service.runtime.core.inflight(0) === 0, 'the slot to be freed');
    await until(() => upstream.abandoned === 1, 'the upstream to see the hang-up');
    await until(() => service.inFlight === 0, 'the handler to finish');
  });

  it('a running request cut off by the drain has its upstream request ended before any answer came, and the client gets 503', async () => {
    const upstream = await sim(4000);
    const { service } = await startTestService({ upstream: upstream.url, capacity: { variants: { m: { concurrency: 1, queueBound: 10 } } } });
    const answer = post(`${service.url}/v1/chat/completions`, { model: 'm' }, ptv1);
    await until(() => service.runtime.core.inflight(0) === 1, 'the request to run');
    const report = await service.close(50);
    expect(report).toEqual({ finished: 0, cancelled: 1 });
    const res = await answer;
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('draining');
    await until(() => upstream.abandoned === 1, 'the upstream to see the request go');
  });

  it('relays a large answer whole to a client that stops reading for a while (the upstream waits for it)', async () => {
    const CHUNK = Buffer.alloc(64 * 1024, 0x61);
    const CHUNKS = 256; // 16 MiB: far more than the sockets buffer
    const upstream = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(CHUNK.length * CHUNKS) });
      let sent = 0;
      const more = () => {
        while (sent < CHUNKS) {
          sent++;
          if (!res.write(CHUNK)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise((r) => upstream.close(r)));
    const service = await serve({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
    const received = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const req = httpRequest(`${service.url}/v1/chat/completions`, { method: 'POST', headers: { ...ptv1, 'x-prio-model': 'm' } }, (res) => {
        let bytes = 0;
        res.pause();
        setTimeout(() => {
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
          res.resume();
        }, 300);
      });
      req.on('error', reject);
      req.end();
    });
    expect(received).toEqual({ status: 200, bytes: CHUNK.length * CHUNKS });
    await until(() => service.inFlight === 0, 'the handler to finish');
  });

  it('answers 502 naming the failure when the upstream cannot be reached, with the ranking headers', async () => {
    const gone = await sim(0);
    const url = gone.url;
    await gone.close();
    const service = await serve({ upstream: url });
    const res = await post(`${service.url}/v1/chat/completions`, { model: 'm' }, ptv1);
    expect(res.status).toBe(502);
    expect(res.body.error).toBe('upstream-error');
    expect(String(res.body.message)).not.toBe('');
    expect(res.headers.get('x-prio-tier')).not.toBeNull();
    expect(res.headers.get('x-prio-session-token')).not.toBeNull();
  });
});

describe('prio serve decision mode and health', () => {
  it('POST /v1/decide returns tier, QoS, preemptable, legacy level and the token per the flags in force', async () => {
    const service = await serve({ flags: LEGACY_FLAGS });
    const r = await post(`${service.url}/v1/decide`, { accountId: 'acct-1', classification: 'BATCH', requestType: 'BATCH', modelId: 'm' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ tier: 'P10', rank: 5, qos: 10, preemptable: true, legacyLevel: 3, rankedBy: 'rules', mapping: 'legacy', tokenRejected: null, observed: null });
    expect(String(r.body.sessionToken).startsWith('v1.')).toBe(true);
    const bad = await post(`${service.url}/v1/decide`, { accountId: 'acct-1', classification: 'GOLD', modelId: 'm' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ attribute: 'classification', value: 'GOLD' });
    const forged = await post(`${service.url}/v1/decide`, { accountId: 'acct-1', classification: 'BATCH', modelId: 'm', sessionToken: 'v1.x.y.z' });
    expect(forged.body).toMatchObject({ rankedBy: 'rules', tokenRejected: 'UNKNOWN_KID' });
    const gateway = await post(`${service.url}/v1/chat/completions`, { model: 'm' }, ptv1);
    expect(gateway.status).toBe(404);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('prio_session_token_rejections_total{reason="UNKNOWN_KID"} 1');
    expect(metrics).toMatch(/prio_config_info\{version="test:\d+",source="baked",priority_scheme="legacy"/);
  });

  it('/readyz is 503 until a configuration is loaded, then 200; /healthz is 200 throughout', async () => {
    const provider = new TestProvider();
    const { service } = await startTestService({ provider });
    cleanup.push(() => service.close(1000));
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
    expect((await post(`${service.url}/v1/decide`, { accountId: 'a', classification: 'PTV1', modelId: 'm' })).status).toBe(503);
    provider.set(snapshot(PHASE2_FLAGS));
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { version: string }).version).toMatch(/^test:/);
  });
});
