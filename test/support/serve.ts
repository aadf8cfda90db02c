/**
 * Fixtures for the `prio serve` tests: configuration snapshots built from the baked rules for
 * the rollout's flag sets, a provider the test swaps by hand, and services started on 127.0.0.1.
 */
import { pino } from 'pino';
import type { ConfigProvider, ConfigSnapshot, ProviderStatus } from '../../src/appconfig/snapshot.js';
import { DEFAULT_RULES_DIR, loadDomain, loadRuleSet } from '../../src/config/index.js';
import type { Flags } from '../../src/migration/index.js';
import type { CompiledRuleSet } from '../../src/rules/index.js';
import type { Capacity } from '../../src/scheduler/index.js';
import { startService, type RequestLog, type Service } from '../../src/service/index.js';
import { Keyring } from '../../src/tokens/index.js';

export const domain = loadDomain();
export const legacyRules: CompiledRuleSet = loadRuleSet(`${DEFAULT_RULES_DIR}/legacy.json`, domain);
export const tieredRules: CompiledRuleSet = loadRuleSet(`${DEFAULT_RULES_DIR}/service_tier.json`, domain);
export const keyring = new Keyring([{ kid: 'test-serve', secret: new Uint8Array(32).fill(0x5e) }]);

/** The flags of migrations/001: before the migration, after phase 1 (dual read), after phase 2 (new writers). */
export const LEGACY_FLAGS: Flags = { priorityScheme: 'legacy', tokenReadMode: 'v1', tokenWriteMode: 'v1', serviceTierMode: 'ignored', rulesVersion: 'legacy-4' };
export const PHASE1_FLAGS: Flags = { priorityScheme: 'dual', tokenReadMode: 'dual', tokenWriteMode: 'v1', serviceTierMode: 'observed', rulesVersion: 'tiered-7.1' };
export const PHASE2_FLAGS: Flags = { ...PHASE1_FLAGS, tokenWriteMode: 'v2', serviceTierMode: 'enforced' };

let versions = 0;
export function snapshot(flags: Flags, over: Partial<ConfigSnapshot> = {}): ConfigSnapshot {
  return { version: `test:${++versions}`, source: 'baked', loadedAt: Date.now(), flags, legacy: legacyRules, tiered: tieredRules, ...over };
}

/** A provider whose snapshot the test sets; `start` resolves at once. */
export class TestProvider implements ConfigProvider {
  private snap: ConfigSnapshot | undefined;
  private readonly listeners = new Set<(s: ConfigSnapshot) => void>();
  constructor(initial?: ConfigSnapshot) {
    this.snap = initial;
  }
  current(): ConfigSnapshot | undefined {
    return this.snap;
  }
  set(next: ConfigSnapshot): void {
    this.snap = next;
    for (const l of this.listeners) l(next);
  }
  status(): ProviderStatus {
    const s = this.snap;
    return { version: s?.version ?? null, source: s?.source ?? null, ageMs: s === undefined ? null : Date.now() - s.loadedAt, lastError: null, refused: 0 };
  }
  subscribe(listener: (s: ConfigSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

export const silent = pino({ level: 'silent' });

export interface TestServiceOptions {
  flags?: Flags;
  provider?: TestProvider;
  capacity?: Capacity;
  upstream?: string;
  queueTimeoutMs?: number;
  requestLog?: RequestLog;
  maxBodyBytes?: number;
}

export async function startTestService(o: TestServiceOptions = {}): Promise<{ service: Service; provider: TestProvider }> {
  const provider = o.provider ?? new TestProvider(snapshot(o.flags ?? LEGACY_FLAGS));
  const service = await startService({
    provider,
    domain,
    capacity: o.capacity ?? { variants: {}, defaultVariant: { concurrency: 8, queueBound: 64 } },
    keyring,
    logger: silent,
    processMetrics: false,
    ...(o.upstream === undefined ? {} : { upstream: o.upstream }),
    ...(o.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: o.queueTimeoutMs }),
    ...(o.requestLog === undefined ? {} : { requestLog: o.requestLog }),
    ...(o.maxBodyBytes === undefined ? {} : { maxBodyBytes: o.maxBodyBytes }),
  });
  return { service, provider };
}

/** POSTs JSON with fetch; returns status, headers and the parsed body (text when not JSON). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.status, headers: res.headers, body: (typeof parsed === 'object' && parsed !== null ? parsed : { text: parsed }) as Record<string, unknown> };
}
