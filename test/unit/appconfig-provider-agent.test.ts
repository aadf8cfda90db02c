/**
 * The agent source over real HTTP on 127.0.0.1: a small server that answers the AppConfig Agent's
 * GET path with the documents it holds (and fails on demand), as the agent sidecar would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createConfigProvider, type ConfigProvider, type ProviderLogger } from '../../src/appconfig/index.js';

const serviceTier = JSON.parse(readFileSync('rules/service_tier.json', 'utf8')) as Record<string, unknown>;
const flags = JSON.parse(readFileSync('rules/flags.json', 'utf8')) as Record<string, unknown>;
const request = { serviceTier: 'DEFAULT', classification: 'ON_DEMAND', requestType: 'ON_DEMAND' };
const allTo = (version: string, tier: string) => ({ ...serviceTier, version, rules: [{ id: `all-${tier}`, precedence: 1, when: {}, then: { tier, preemptable: false } }] });
const quiet: ProviderLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface FakeAgent {
  url: string;
  documents: Map<string, { body: string; version: number }>;
  /** Status to answer with instead of the documents (e.g. 503), or null. */
  failWith: number | null;
  requests: string[];
  server: Server;
}

async function agent(): Promise<FakeAgent> {
  const state: Omit<FakeAgent, 'url' | 'server'> = { documents: new Map(), failWith: null, requests: [] };
  const server = createServer((req, res) => {
    state.requests.push(req.url ?? '');
    const m = /^\/applications\/prio\/environments\/prod\/configurations\/([^/?]+)$/.exec(req.url ?? '');
    const doc = m === null ? undefined : state.documents.get(decodeURIComponent(m[1] as string));
    if (state.failWith !== null) {
      res.writeHead(state.failWith).end('agent unavailable');
    } else if (doc === undefined) {
      res.writeHead(404).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'configuration-version': String(doc.version) }).end(doc.body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}`, server });
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function providerFor(url: string, startTimeoutMs = 2_000): ConfigProvider {
  const p = createConfigProvider({
    agent: { baseUrl: url, application: 'prio', environment: 'prod', profiles: { rules: 'rules', overrides: 'overrides', flags: 'flags' }, pollIntervalMs: 30, timeoutMs: 1_000 },
    backoff: { initialMs: 20, maxMs: 100 },
    startTimeoutMs,
    logger: quiet,
  });
  cleanup.push(() => p.close());
  return p;
}

describe('agent source', () => {
  it('serves the agent\'s documents under its Configuration-Version, and follows a new version', async () => {
    const a = await agent();
    cleanup.push(() => new Promise((r) => a.server.close(() => r())));
    a.documents.set('rules', { body: JSON.stringify(serviceTier), version: 3 });
    a.documents.set('overrides', { body: JSON.stringify({ schemaVersion: 1, accountOverrides: [] }), version: 1 });
    a.documents.set('flags', { body: JSON.stringify(flags), version: 5 });
    const p = providerFor(a.url);
    await p.start();
    expect(p.status()).toMatchObject({ source: 'agent', version: 'rules:3 overrides:1 flags:5', refused: 0 });
    expect(a.requests).toContain('/applications/prio/environments/prod/configurations/rules');

    a.documents.set('rules', { body: JSON.stringify(allTo('tiered-7.1', 'P5')), version: 4 });
    await vi.waitFor(() => expect(p.status().version).toBe('rules:4 overrides:1 flags:5'), { timeout: 5_000 });
    expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P5');
  });

  it('survives 5xx answers keeping the last good, then picks up what changed meanwhile', async () => {
    const a = await agent();
    cleanup.push(() => new Promise((r) => a.server.close(() => r())));
    a.documents.set('rules', { body: JSON.stringify(serviceTier), version: 1 });
    a.documents.set('overrides', { body: JSON.stringify({ schemaVersion: 1, accountOverrides: [] }), version: 1 });
    a.documents.set('flags', { body: JSON.stringify(flags), version: 1 });
    const p = providerFor(a.url);
    await p.start();
    const good = p.current();
    a.failWith = 503;
    await vi.waitFor(() => expect(p.status().lastError).toMatch(/^agent: .*\/configurations\/(rules|overrides|flags): HTTP 503 agent unavailable$/), { timeout: 5_000 });
    expect(p.current()).toBe(good);
    a.documents.set('flags', { body: JSON.stringify({ ...flags, rulesVersion: 'tiered-7.1' }), version: 2 });
    a.failWith = null;
    await vi.waitFor(() => expect(p.current()?.flags.rulesVersion).toBe('tiered-7.1'), { timeout: 5_000 });
    expect(p.status()).toMatchObject({ source: 'agent', refused: 0 });
  });

  it('starts on the baked rules when the agent is not up, and switches when it answers', async () => {
    const a = await agent();
    a.documents.set('rules', { body: JSON.stringify(serviceTier), version: 1 });
    a.documents.set('overrides', { body: JSON.stringify({ schemaVersion: 1, accountOverrides: [] }), version: 1 });
    a.documents.set('flags', { body: JSON.stringify(flags), version: 1 });
    const { port } = a.server.address() as AddressInfo;
    await new Promise<void>((r) => a.server.close(() => r()));
    const p = providerFor(a.url, 200);
    await p.start();
    expect(p.status()).toMatchObject({ source: 'baked' });
    expect(p.status().lastError).toMatch(/^agent: .*fetch failed: .*ECONNREFUSED/);
    await new Promise<void>((resolve) => a.server.listen(port, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((r) => a.server.close(() => r())));
    await vi.waitFor(() => expect(p.status().source).toBe('agent'), { timeout: 5_000 });
  });
});
