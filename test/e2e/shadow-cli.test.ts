import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSampleLog } from '../../src/cli/demo.js';
import { runCli } from '../support/cli.js';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import type { ShadowReport } from '../../src/shadow/index.js';
import { baseline, domain } from '../fixtures/shadow/harness.js';

const root = mkdtempSync(join(tmpdir(), 'prio-shadow-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const exec = promisify(execFile);

const readReport = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ShadowReport & { run?: unknown };
const withoutRun = (dir: string) => {
  const { run: _run, ...rest } = readReport(dir);
  return JSON.stringify(rest);
};

describe('npm start (prio demo) on a fresh checkout', () => {
  it('replays the bundled sample against both rule sets, writes the three reports and prints where report.html is', async () => {
    const out = join(root, 'demo');
    const { stdout } = await exec(process.execPath, [join(PACKAGE_ROOT, 'bin', 'prio.js'), 'demo', '--out', out, '--quiet'], { cwd: PACKAGE_ROOT });
    expect(stdout).toContain('3. Shadow replay of shadow/samples/requests.ndjson');
    expect(stdout).toContain('baseline fidelity: reproduced');
    expect(stdout).toContain('gate: PASSED');
    expect(stdout).toContain(`Open ${join(out, 'report.html')}`);
    for (const f of ['report.json', 'report.md', 'report.html']) expect(existsSync(join(out, f))).toBe(true);
    const report = readReport(out);
    expect(report.totals.read).toBe(report.totals.compared + report.totals.quarantined);
    expect(report.totals.read).toBeGreaterThan(100);
  }, 60_000);

  it('generates a sample log when there is none', async () => {
    const out = join(root, 'demo-gen');
    const result = await ensureSampleLog(join(root, 'missing.ndjson'), domain, baseline, out);
    expect(result.generated).toBe(true);
    expect(readFileSync(result.log, 'utf8').trim().split('\n')).toHaveLength(2000);
    expect(await ensureSampleLog(result.log, domain, baseline, out)).toEqual({ log: result.log, generated: false });
  });
});

describe('prio shadow generate', () => {
  it('is deterministic per seed, covers every classification and service tier, and writes .gz', async () => {
    const a = join(root, 'g1.ndjson');
    const b = join(root, 'g2.ndjson.gz');
    const c = join(root, 'g3.ndjson');
    expect((await runCli('shadow', 'generate', '--count', '3000', '--seed', '5', '--out', a)).code).toBe(0);
    await runCli('shadow', 'generate', '--count', '3000', '--seed', '5', '--out', b);
    await runCli('shadow', 'generate', '--count', '3000', '--seed', '6', '--out', c);
    const text = readFileSync(a, 'utf8');
    expect(gunzipSync(readFileSync(b)).toString('utf8')).toBe(text);
    expect(readFileSync(c, 'utf8')).not.toBe(text);
    const records = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(new Set(records.map((r) => r.classification))).toEqual(new Set(domain.catalog.classifications));
    expect(new Set(records.map((r) => r.serviceTier).filter((t) => t !== undefined))).toEqual(new Set(domain.catalog.serviceTiers));
    expect(records.some((r) => r.serviceTier === undefined)).toBe(true);
    // Skewed popularity: the busiest account carries far more than an even share.
    const perAccount = new Map<unknown, number>();
    for (const r of records) perAccount.set(r.accountId, (perAccount.get(r.accountId) ?? 0) + 1);
    expect(Math.max(...perAccount.values())).toBeGreaterThan((10 * records.length) / perAccount.size);
    const times = records.map((r) => Date.parse(String(r.timestamp)));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] ?? 0))).toBe(true);
    expect(records.filter((r) => typeof r.sessionToken === 'string').length).toBeGreaterThan(records.length * 0.8);
  });
});

describe('prio shadow replay', () => {
  const lines = readFileSync(join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson'), 'utf8').trim().split('\n');

  it('accounts for every bad-input class in a salted log, quarantining each with its line and reason', async () => {
    const salted = join(root, 'salted.ndjson');
    writeFileSync(
      salted,
      Buffer.concat([
        Buffer.from(`${lines.slice(0, 100).join('\n')}\n`),
        Buffer.from('{"requestId": "cut-off\n'),
        Buffer.from('{"requestId":"r","timestamp":"2026-03-02T10:00:00Z","accountId":"a","modelId":"m","region":"x"}\n'),
        Buffer.from('{"requestId":"r","timestamp":"noon","accountId":"a","modelId":"m","region":"x","classification":"FLEX"}\n'),
        Buffer.concat([Buffer.from('{"requestId":"'), Buffer.from([0xff, 0xc0]), Buffer.from('"}\n')]),
        Buffer.from(`{"pad":"${'x'.repeat(1024 * 1024 + 5)}"}\n`),
        Buffer.from(`${lines.slice(100).join('\n')}\n`),
      ]),
    );
    const out = join(root, 'salted-out');
    const r = await runCli('shadow', 'replay', '--file', salted, '--out', out, '--quiet', '--json');
    expect(r.code).toBe(0);
    const report = readReport(out);
    expect(report.totals).toEqual({ read: lines.length + 5, quarantined: 5, compared: lines.length });
    expect(report.quarantine.byReason).toEqual({ 'invalid-utf8': 1, 'malformed-json': 1, oversized: 1, schema: 2 });
    const quarantine = readFileSync(join(out, 'quarantine.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { position: { line: number }; reason: string; detail: string });
    expect(quarantine.map((q) => [q.position.line, q.reason])).toEqual([
      [101, 'malformed-json'],
      [102, 'schema'],
      [103, 'schema'],
      [104, 'invalid-utf8'],
      [105, 'oversized'],
    ]);
    expect(quarantine[1]?.detail).toBe('missing required field "classification"');
  });

  it('a truncated .gz is replayed as far as it goes and the loss is counted', async () => {
    const gz = gzipSync(`${lines.join('\n')}\n`);
    const file = join(root, 'cut.ndjson.gz');
    writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
    const out = join(root, 'cut-out');
    expect((await runCli('shadow', 'replay', '--file', file, '--out', out, '--quiet')).code).toBe(0);
    const report = readReport(out);
    expect(report.quarantine.byReason).toEqual({ 'truncated-gzip': 1 });
    expect(report.totals.compared).toBeGreaterThan(0);
    expect(report.totals.compared).toBeLessThan(lines.length);
  });

  it('a damaged source never passes the default gate: the damage is in report.json, .md, .html and the summary (issue 11.1)', async () => {
    // The sample passes the default gate whole; cut, it fails on the damage whatever else it fails on.
    const gz = gzipSync(`${lines.join('\n')}\n`);
    const file = join(root, 'cut-gated.ndjson.gz');
    writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
    const out = join(root, 'cut-gated');
    const r = await runCli('shadow', 'replay', '--file', file, '--out', out, '--quiet', '--gate', join(PACKAGE_ROOT, 'shadow', 'gates', 'default.json'));
    expect(r.code).toBe(3);
    const report = readReport(out);
    expect(report.damage.events).toHaveLength(1);
    expect(report.damage.events[0]).toMatchObject({ kind: 'truncated-gzip', where: file, recordsLost: null });
    expect(report.damage.unknownLoss).toBe(1);
    const gate = JSON.parse(readFileSync(join(out, 'gate.json'), 'utf8')) as { failed: { threshold: string }[] };
    expect(gate.failed.map((c) => c.threshold)).toContain('maxSourceDamage');
    expect(r.out).toContain('SOURCE DAMAGED');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('Source damaged');
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('Source damaged');
    // The whole log is undamaged: the same gate passes and the report says so.
    const whole = join(root, 'whole.ndjson.gz');
    writeFileSync(whole, gz);
    const wholeOut = join(root, 'whole-gated');
    expect((await runCli('shadow', 'replay', '--file', whole, '--out', wholeOut, '--quiet', '--gate', join(PACKAGE_ROOT, 'shadow', 'gates', 'default.json'))).code).toBe(0);
    expect(readReport(wholeOut).damage).toEqual({ events: [], recordsLost: 0, bytesLost: 0, unknownLoss: 0 });
  });

  it('exits 3 when the gate fails, listing each failed threshold with its measured value', async () => {
    const gate = join(root, 'strict.json');
    writeFileSync(gate, JSON.stringify({ maxChangedShare: 0.1, maxDowngrades: { '*': 0 }, maxCandidateErrors: 0 }));
    const out = join(root, 'gated');
    const r = await runCli('shadow', 'replay', '--file', join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson'), '--out', out, '--gate', gate, '--quiet');
    expect(r.code).toBe(3);
    const report = readReport(out);
    expect(r.out).toContain(`maxChangedShare: changed share of compared records: ${(report.shares.changed * 100).toFixed(2)}% (limit 10.00%)`);
    expect(r.out).toContain(`maxDowngrades.P50: downgrades from P50: ${report.downgradesByTier.P50} (limit 0)`);
    expect(r.out).not.toContain('maxCandidateErrors:');
    expect(JSON.parse(readFileSync(join(out, 'gate.json'), 'utf8'))).toMatchObject({ passed: false });
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('**Gate: FAILED**');

    const again = await runCli('shadow', 'gate', out, '--gate', gate);
    expect(again.code).toBe(3);
    expect((await runCli('shadow', 'gate', out)).code).toBe(0);
  });

  it('two partial replays merge into the single-process report', async () => {
    const a = join(root, 'half-a.ndjson');
    const b = join(root, 'half-b.ndjson');
    writeFileSync(a, `${lines.slice(0, 150).join('\n')}\n`);
    writeFileSync(b, `${lines.slice(150).join('\n')}\n`);
    await runCli('shadow', 'replay', '--file', a, '--out', join(root, 'pa'), '--quiet');
    await runCli('shadow', 'replay', '--file', b, '--out', join(root, 'pb'), '--quiet');
    await runCli('shadow', 'replay', '--file', join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson'), '--out', join(root, 'whole'), '--quiet');
    const merged = await runCli('shadow', 'merge', join(root, 'pa'), join(root, 'pb'), '--out', join(root, 'merged'));
    expect(merged.code).toBe(0);
    expect(withoutRun(join(root, 'merged'))).toBe(withoutRun(join(root, 'whole')));
    expect((await runCli('shadow', 'merge', join(root, 'pa'), '--out', join(root, 'pa'))).code).toBe(2);
  });

  it('a damaged report.json is refused by merge and gate with the file, the JSON pointer and the problem', async () => {
    const good = readReport(join(root, 'pa'));
    const damaged = (name: string, edit: (r: Record<string, unknown>) => void): string => {
      const dir = join(root, name);
      const doc = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      edit(doc);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      writeFileSync(join(dir, 'report.json'), JSON.stringify(doc));
      return dir;
    };
    const cases: [string, (r: Record<string, unknown>) => void, string][] = [
      ['bad-count', (r) => ((r.outcomes as Record<string, unknown>).same = -1), 'report.json#/outcomes/same: must be >= 0'],
      ['bad-token', (r) => delete (r.tokens as Record<string, unknown>).valid, 'report.json#/tokens: missing required property "valid"'],
      ['bad-matrix', (r) => (r.confusion as { matrix: unknown[] }).matrix.pop(), 'report.json#/confusion/matrix: must have one row per label'],
      ['bad-sum', (r) => ((r.totals as { read: number }).read += 1), 'report.json#/totals: do not add up'],
      ['bad-format', (r) => (r.format = 'other/1'), 'report.json#/format: must be equal to constant'],
    ];
    for (const [name, edit, message] of cases) {
      const dir = damaged(name, edit);
      const merged = await runCli('shadow', 'merge', join(root, 'pb'), dir, '--out', join(root, `merged-${name}`));
      expect(merged.code, name).toBe(2);
      expect(merged.err, name).toContain(`${join(dir, message)}`);
      const gated = await runCli('shadow', 'gate', dir);
      expect(gated.code, name).toBe(2);
      expect(gated.err, name).toContain(message);
    }
  });

  it('usage and input errors exit 2 with a message', async () => {
    const noSource = await runCli('shadow', 'replay', '--out', join(root, 'x'));
    expect(noSource.code).toBe(2);
    expect(noSource.err).toMatch(/name a source/);
    const missing = await runCli('shadow', 'replay', '--file', join(root, 'nope.ndjson'), '--out', join(root, 'x'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.ndjson: cannot read/);
    const badGate = join(root, 'bad-gate.json');
    writeFileSync(badGate, '{"maxChangedShare": "lots"}');
    const gateErr = await runCli('shadow', 'replay', '--file', join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson'), '--out', join(root, 'x'), '--gate', badGate);
    expect(gateErr.code).toBe(2);
    expect(gateErr.err).toContain('bad-gate.json#/maxChangedShare');
  });

  it('every command teaches through --help with an example', async () => {
    for (const cmd of ['replay', 'merge', 'gate', 'generate']) {
      const r = await runCli('shadow', cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Example/);
    }
  });
});
