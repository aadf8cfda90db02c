import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const LOG = 'test/fixtures/scheduler/requests.ndjson';
const CAPACITY = 'test/fixtures/scheduler/capacity.json';

interface JsonRun {
  rules: string;
  ruleSet: string;
  report: { requests: number; scheduled: number; failClosed: { total: number }; unknownVariant: { total: number }; tiers: { tier: string; arrived: number; waitMs: { p50: number } | null }[] };
}

describe('prio sched simulate', () => {
  it('prints per-tier latency for both rule sets, counting fail-closed and quarantined records', async () => {
    const r = await runCli('sched', 'simulate', '--log', LOG, '--rules', 'rules/legacy.json', '--rules', 'rules/service_tier.json', '--capacity', CAPACITY, '--seed', '7');
    expect(r.code).toBe(0);
    expect(r.out).toContain('rules rules/legacy.json (legacy)');
    expect(r.out).toContain('rules rules/service_tier.json (service_tier)');
    expect(r.out).toMatch(/tier\s+weight\s+arrived\s+completed\s+shed\s+throttled\s+expired\s+preempted\s+wait p50 ms/);
    expect(r.out).toMatch(/^P100 +40 /m);
    expect(r.out).toContain('fail-closed: 1 (UNKNOWN_VALUE 1); unknown variant: 1 (model-nowhere 1)');
    expect(r.out).toContain('804 lines, 2 quarantined');
    expect(r.err).toContain(`${LOG}:101: quarantined: not valid JSON`);
  });

  it('emits JSON that is identical for the same seed', async () => {
    const args = ['sched', 'simulate', '--json', '--log', LOG, '--rules', 'rules/service_tier.json', '--capacity', CAPACITY, '--seed', '3'];
    const a = await runCli(...args);
    const b = await runCli(...args);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    const parsed = JSON.parse(a.out) as { seed: number; quarantined: { total: number }; runs: JsonRun[] };
    expect(parsed.seed).toBe(3);
    expect(parsed.quarantined.total).toBe(2);
    const [only] = parsed.runs;
    expect(only?.ruleSet).toBe('service_tier');
    expect(only?.report.tiers.map((t) => t.tier)).toEqual(['P100', 'P90', 'P75', 'P50', 'P25', 'P10', 'P5']);
    expect(only!.report.scheduled + only!.report.failClosed.total + only!.report.unknownVariant.total).toBe(only!.report.requests);
  });

  it('simulates the shadow sample log under both shipped rule sets', async () => {
    const r = await runCli('sched', 'simulate', '--json', '--log', 'shadow/samples/requests.ndjson', '--rules', 'rules/legacy.json', '--rules', 'rules/service_tier.json', '--capacity', 'test/fixtures/scheduler/capacity-sample.json', '--service-mean-ms', '400');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out) as { runs: JsonRun[] };
    expect(parsed.runs.map((x) => x.ruleSet)).toEqual(['legacy', 'service_tier']);
    for (const { report } of parsed.runs) {
      expect(report.requests).toBeGreaterThan(0);
      expect(report.scheduled + report.failClosed.total + report.unknownVariant.total).toBe(report.requests);
      expect(report.tiers.some((t) => t.waitMs !== null)).toBe(true);
    }
  });

  it('reports an invalid capacity file with its pointer and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prio-sched-'));
    const bad = join(dir, 'capacity.json');
    writeFileSync(bad, JSON.stringify({ variants: { m: { concurrency: 'four', queueBound: 1 } } }));
    const r = await runCli('sched', 'simulate', '--log', LOG, '--rules', 'rules/legacy.json', '--capacity', bad);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}#/variants/m/concurrency: must be integer`);
  });

  it('exits 2 on a missing log or a bad option, and teaches with --help', async () => {
    const missing = await runCli('sched', 'simulate', '--log', 'nowhere.ndjson', '--rules', 'rules/legacy.json', '--capacity', CAPACITY);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nowhere.ndjson: cannot read');
    expect((await runCli('sched', 'simulate', '--log', LOG, '--rules', 'rules/legacy.json', '--capacity', CAPACITY, '--seed', '-1')).code).toBe(2);
    const help = await runCli('sched', 'simulate', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Example:');
    expect(help.out).toContain('--service-mean-ms');
  });

  describe('reads logs as every command does, and says when there is nothing to do (issue 11.5)', () => {
    it('a .gz log gives the same figures as the plain log', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'prio-sched-gz-'));
      const gz = join(dir, 'requests.ndjson.gz');
      writeFileSync(gz, gzipSync(readFileSync(LOG)));
      const args = (log: string) => ['sched', 'simulate', '--json', '--log', log, '--rules', 'rules/service_tier.json', '--capacity', CAPACITY, '--seed', '3'];
      const plain = await runCli(...args(LOG));
      const zipped = await runCli(...args(gz));
      expect(zipped.code).toBe(0);
      const strip = (out: string) => ({ ...(JSON.parse(out) as Record<string, unknown>), log: null });
      expect(strip(zipped.out)).toEqual(strip(plain.out));
    });

    it('without --rules, or with an empty log, it says there is nothing to do and exits 2', async () => {
      const none = await runCli('sched', 'simulate', '--log', LOG, '--capacity', CAPACITY);
      expect(none.code).toBe(2);
      expect(none.err).toMatch(/^error: nothing to simulate: give --rules/m);
      const dir = mkdtempSync(join(tmpdir(), 'prio-sched-empty-'));
      const empty = join(dir, 'empty.ndjson');
      writeFileSync(empty, '\n\n');
      const r = await runCli('sched', 'simulate', '--log', empty, '--rules', 'rules/legacy.json', '--capacity', CAPACITY);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`error: ${empty}: no request records: nothing to simulate`);
    });

    it('uses the capacity file shipped with the package when none is given', async () => {
      const r = await runCli('sched', 'simulate', '--json', '--log', 'shadow/samples/requests.ndjson', '--rules', 'rules/legacy.json');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.out) as { capacity: string }).capacity).toMatch(/rules\/simulate-capacity\.json$/);
    });
  });
});
