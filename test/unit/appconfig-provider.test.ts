import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bakedSnapshot, createConfigProvider, staticProvider, type ConfigProvider, type ConfigSnapshot, type ProviderLogger } from '../../src/appconfig/index.js';

const serviceTier = JSON.parse(readFileSync('rules/service_tier.json', 'utf8')) as Record<string, unknown>;
const flags = JSON.parse(readFileSync('rules/flags.json', 'utf8')) as Record<string, unknown>;
const overrides = JSON.parse(readFileSync('rules/overrides.example.json', 'utf8')) as { accountOverrides: { id: string; accountId: string }[] };
const request = { serviceTier: 'DEFAULT', classification: 'ON_DEMAND', requestType: 'ON_DEMAND' };

interface Logged {
  level: 'info' | 'warn' | 'error';
  message: string;
}
function recordingLogger(): { logger: ProviderLogger; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: Logged['level']) => (_fields: object, message: string) => void lines.push({ level, message });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** Writes a file the way a careful tool does: whole, then renamed into place. */
function put(dir: string, name: string, content: unknown): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  renameSync(tmp, join(dir, name));
}

/** A rule set whose every request lands on `tier`, labelled `version`. */
const allTo = (version: string, tier: string) => ({ ...serviceTier, version, rules: [{ id: `all-${tier}`, precedence: 1, when: {}, then: { tier, preemptable: false } }] });

let dir: string;
const open: ConfigProvider[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'prio-provider-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
});
function provider(options: Parameters<typeof createConfigProvider>[0]): ConfigProvider {
  const p = createConfigProvider(options);
  open.push(p);
  return p;
}
const fast = { pollIntervalMs: 50, debounceMs: 20 };

describe('baked configuration', () => {
  it('bakedSnapshot is the packaged rules and the reference migration\'s initial flags', () => {
    const s = bakedSnapshot({ now: () => 7 });
    expect(s).toMatchObject({ version: 'baked', source: 'baked', loadedAt: 7, flags: { priorityScheme: 'legacy', rulesVersion: 'legacy-4' } });
    expect(s.legacy.model.name).toBe('legacy');
    expect(s.tiered.model.name).toBe('service_tier');
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('with no source configured, start runs on the baked rules and says so', async () => {
    const { logger, lines } = recordingLogger();
    const p = provider({ logger });
    expect(p.current()).toBeUndefined();
    expect(p.status()).toEqual({ version: null, source: null, ageMs: null, lastError: null, refused: 0 });
    await p.start();
    expect(p.status()).toMatchObject({ version: 'baked', source: 'baked', refused: 0 });
    expect(lines).toContainEqual({ level: 'warn', message: 'no configuration source configured: running on the rules baked into the package' });
  });

  it('falls back to the baked rules when the file is missing at start, then switches once it appears', async () => {
    const { logger, lines } = recordingLogger();
    const watched = join(dir, 'config');
    const p = provider({ file: { path: watched, ...fast }, startTimeoutMs: 200, logger });
    await p.start();
    expect(p.status()).toMatchObject({ source: 'baked', version: 'baked' });
    expect(p.status().lastError).toMatch(/^file: .*config.*cannot read/);
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('running on the rules baked into the package until one answers'))).toBe(true);

    mkdirSync(watched);
    put(watched, 'flags.json', { ...flags, rulesVersion: 'tiered-9' });
    put(watched, 'rules.json', allTo('tiered-9', 'P25'));
    await vi.waitFor(() => expect(p.current()?.source).toBe('file'), { timeout: 5_000 });
    expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P25');
    expect(lines).toContainEqual({ level: 'info', message: 'configuration source switched from baked to file' });
  });
});

describe('file source', () => {
  it('serves the directory\'s documents, refuses a bad one keeping the last good, and swaps in a good one', async () => {
    put(dir, 'rules.json', serviceTier);
    put(dir, 'overrides.json', overrides);
    put(dir, 'flags.json', { ...flags, rulesVersion: 'tiered-7.1', priorityScheme: 'dual' });
    const p = provider({ file: { path: dir, ...fast }, logger: recordingLogger().logger });
    const seen: ConfigSnapshot[] = [];
    p.subscribe((s) => seen.push(s));
    await p.start();
    const first = p.current() as ConfigSnapshot;
    expect(first.source).toBe('file');
    expect(first.version).toMatch(/^rules:[0-9a-f]{12} overrides:[0-9a-f]{12} flags:[0-9a-f]{12}$/);
    expect(first.flags.priorityScheme).toBe('dual');
    const pinned = overrides.accountOverrides[0] as { id: string; accountId: string };
    expect(first.tiered.evaluate({ ...request, accountId: pinned.accountId }).ruleId).toBe(pinned.id);

    // An unknown rulesVersion: refused, nothing changes but the counters.
    put(dir, 'flags.json', { ...flags, rulesVersion: 'tiered-9' });
    await vi.waitFor(() => expect(p.status().refused).toBe(1), { timeout: 5_000 });
    expect(p.current()).toBe(first);
    expect(p.status().lastError).toBe(`${join(dir, 'flags.json')}#/rulesVersion: rulesVersion "tiered-9" names no rule set in force (known: "legacy-4", "tiered-7.1")`);

    // Not JSON at all: refused too.
    put(dir, 'rules.json', '{"name": "half a file');
    await vi.waitFor(() => expect(p.status().refused).toBe(2), { timeout: 5_000 });
    expect(p.status().lastError).toMatch(/rules\.json: not valid JSON/);
    expect(p.current()).toBe(first);

    // Both documents good again, with the new rule set: swapped in, listeners told.
    put(dir, 'rules.json', allTo('tiered-9', 'P10'));
    await vi.waitFor(() => expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P10'), { timeout: 5_000 });
    expect(seen.at(-1)).toBe(p.current());
    expect(p.status()).toMatchObject({ source: 'file', refused: 2 });
    // A reader still holding the old snapshot finishes with the old rules.
    expect(first.tiered.evaluate(request).tier.name).not.toBe('P10');
  });

  it('a flags-only change reuses the compiled tier rule set; a rules change compiles a new one', async () => {
    put(dir, 'rules.json', serviceTier);
    put(dir, 'overrides.json', overrides);
    put(dir, 'flags.json', flags);
    const p = provider({ file: { path: dir, ...fast }, logger: recordingLogger().logger });
    await p.start();
    const first = p.current() as ConfigSnapshot;
    put(dir, 'flags.json', { ...flags, priorityScheme: 'dual', tokenReadMode: 'dual' });
    await vi.waitFor(() => expect(p.current()?.flags.priorityScheme).toBe('dual'), { timeout: 5_000 });
    expect(p.current()).not.toBe(first);
    expect(p.current()?.tiered).toBe(first.tiered);
    expect(p.current()?.legacy).toBe(first.legacy);
    put(dir, 'rules.json', allTo('tiered-7.1', 'P25'));
    await vi.waitFor(() => expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P25'), { timeout: 5_000 });
    expect(p.current()?.tiered).not.toBe(first.tiered);
  });

  it('without flags.json the packaged flags apply; without overrides.json there are none', async () => {
    put(dir, 'rules.json', serviceTier);
    const p = provider({ file: { path: dir, ...fast }, logger: recordingLogger().logger });
    await p.start();
    expect(p.current()).toMatchObject({ source: 'file', flags: { rulesVersion: 'legacy-4' } });
    expect(p.current()?.version).toMatch(/^rules:[0-9a-f]{12} overrides:none flags:baked$/);
  });

  it('a single rules file is watched as the rules document', async () => {
    const file = join(dir, 'my-rules.json');
    put(dir, 'my-rules.json', allTo('tiered-7.1', 'P50'));
    const p = provider({ file: { path: file, ...fast }, logger: recordingLogger().logger });
    await p.start();
    expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P50');
    writeFileSync(file, JSON.stringify(allTo('tiered-7.1', 'P75')));
    await vi.waitFor(() => expect(p.current()?.tiered.evaluate(request).tier.name).toBe('P75'), { timeout: 5_000 });
  });

  it('a bad document at start is refused and the baked rules serve until a good one comes', async () => {
    put(dir, 'rules.json', { ...serviceTier, rules: 'none' });
    const p = provider({ file: { path: dir, ...fast }, startTimeoutMs: 300, logger: recordingLogger().logger });
    await p.start();
    expect(p.status()).toMatchObject({ source: 'baked', refused: 1 });
    expect(p.status().lastError).toContain('rules.json#/rules: must be array');
    put(dir, 'rules.json', serviceTier);
    await vi.waitFor(() => expect(p.current()?.source).toBe('file'), { timeout: 5_000 });
  });
});

describe('staticProvider', () => {
  it('serves the one snapshot it was given', async () => {
    const s = bakedSnapshot();
    const p = staticProvider(s);
    await p.start();
    expect(p.current()).toBe(s);
    expect(p.status()).toMatchObject({ version: 'baked', source: 'baked', refused: 0, lastError: null });
  });
});
