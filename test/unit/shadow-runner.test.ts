import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import {
  createProgress,
  fileSource,
  mergeReports,
  readCheckpoint,
  readJudgeSpec,
  runReplay,
  SourceInterruptedError,
  type RecordSource,
  type ReplayRunOptions,
  type SourceRecord,
} from '../../src/shadow/index.js';
import { baseline, candidate, domain, dualReader, generatedLines, keyring, legacyReader } from '../fixtures/shadow/harness.js';
import { DEFAULT_RULES_DIR } from '../../src/config/index.js';

const root = mkdtempSync(join(tmpdir(), 'prio-shadow-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = createProgress({ stream: process.stderr, quiet: true, label: 'test' });
const fixedClock = () => 1_700_000_000_000;
const judgeSpec = readJudgeSpec({ baselineFile: join(DEFAULT_RULES_DIR, 'legacy.json'), candidateFile: join(DEFAULT_RULES_DIR, 'service_tier.json'), keyring });

function options(source: RecordSource, outDir: string, extra: Partial<ReplayRunOptions> = {}): ReplayRunOptions {
  return {
    source,
    domain,
    baseline,
    candidate,
    tokens: { legacy: legacyReader, dual: dualReader },
    outDir,
    sampleSize: 10,
    sampleSeed: 3,
    progress: quiet,
    now: fixedClock,
    ...extra,
  };
}

const withoutRun = (file: string) => {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete doc.run;
  return JSON.stringify(doc, null, 2);
};

/** The file source, cut off after `batches` batches the way a lost broker cuts a replay off. */
function interruptedAfter(path: string, batches: number): RecordSource {
  const inner = fileSource(path, { batchSize: 25 });
  return {
    label: inner.label,
    async *batches() {
      let handed = 0;
      let last: SourceRecord | undefined;
      for await (const batch of inner.batches()) {
        if (handed === batches) {
          const nextLine = last?.position.kind === 'line' ? last.position.line + 1 : 1;
          throw new SourceInterruptedError('input went away', { kind: 'line', file: path, nextLine });
        }
        handed++;
        last = batch.at(-1);
        yield batch;
      }
    },
  };
}

const lines = generatedLines(200, 17);
const logFile = join(root, 'log.ndjson');
writeFileSync(logFile, `${lines.slice(0, 120).join('\n')}\n{"broken\n${lines.slice(120).join('\n')}\n`);

describe('a replay run from file to reports', () => {
  it('writes report.json/.md/.html and the quarantine; report.json is the same on every run', async () => {
    const a = await runReplay(options(fileSource(logFile), join(root, 'a')));
    await runReplay(options(fileSource(logFile), join(root, 'b')));
    expect(a.kind).toBe('complete');
    for (const f of ['report.json', 'report.md', 'report.html', 'quarantine.ndjson']) expect(existsSync(join(root, 'a', f))).toBe(true);
    expect(readFileSync(join(root, 'a', 'report.json'), 'utf8')).toBe(readFileSync(join(root, 'b', 'report.json'), 'utf8'));
    const quarantine = readFileSync(join(root, 'a', 'quarantine.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(quarantine).toEqual([
      expect.objectContaining({ position: { kind: 'line', file: logFile, line: 121 }, reason: 'malformed-json', excerpt: '{"broken' }),
    ]);
    const html = readFileSync(join(root, 'a', 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('an interrupted source leaves a checkpoint and a partial report, never report.json; resuming gives the uninterrupted report', async () => {
    const whole = join(root, 'whole');
    const cut = join(root, 'cut');
    await runReplay(options(fileSource(logFile), whole));
    // An earlier complete report stays until a complete new one replaces it (issue 11.3).
    mkdirSync(cut, { recursive: true });
    writeFileSync(join(cut, 'report.json'), '{"earlier": true}\n');
    const first = await runReplay(options(interruptedAfter(logFile, 3), cut));
    expect(first.kind).toBe('interrupted');
    expect(readFileSync(join(cut, 'report.json'), 'utf8')).toBe('{"earlier": true}\n');
    expect(JSON.parse(readFileSync(join(cut, 'report.partial.json'), 'utf8'))).toMatchObject({ totals: { read: 75 }, run: { partial: true } });
    const saved = readCheckpoint(join(cut, 'checkpoint.json'));
    expect(saved.checkpoint).toEqual({ kind: 'line', file: logFile, nextLine: 76 });
    expect(saved.partial.read).toBe(75);

    const resumed = await runReplay(options(fileSource(logFile, { resumeFrom: saved.checkpoint }), cut, { resumeFrom: saved.partial }));
    expect(resumed.kind).toBe('complete');
    expect(existsSync(join(cut, 'checkpoint.json'))).toBe(false);
    expect(withoutRun(join(cut, 'report.json'))).toBe(withoutRun(join(whole, 'report.json')));
    expect(readFileSync(join(cut, 'quarantine.ndjson'), 'utf8')).toBe(readFileSync(join(whole, 'quarantine.ndjson'), 'utf8'));
  });

  it('a signal stops any source that keeps a checkpoint after the batch in hand, with and without workers (issue 11.3)', async () => {
    for (const workers of [0, 2]) {
      const controller = new AbortController();
      const inner = fileSource(logFile, { batchSize: 25 });
      // A source that does not watch the signal itself (as the Kafka source does not): the runner stops it.
      let handed = 0;
      const source: RecordSource = {
        label: inner.label,
        checkpoint: () => inner.checkpoint(),
        async *batches() {
          for await (const batch of inner.batches()) {
            handed += 1;
            if (handed === 2) controller.abort('SIGTERM');
            yield batch;
          }
        },
      };
      const out = join(root, `signalled-${workers}`);
      const result = await runReplay(options(source, out, { signal: controller.signal, ...(workers > 0 ? { parallel: { workers, spec: judgeSpec } } : {}) }));
      if (result.kind !== 'interrupted') throw new Error('expected an interrupted replay');
      expect(result.error.message).toBe('interrupted by SIGTERM');
      expect(result.partial.read).toBe(50);
      expect(readCheckpoint(result.checkpointFile).checkpoint).toEqual({ kind: 'line', file: logFile, nextLine: 51 });
      expect(existsSync(join(out, 'report.json'))).toBe(false);
    }
  });

  it('prio shadow replay --resume continues a checkpoint, and refuses one from another source', async () => {
    const cut = join(root, 'cli-cut');
    await runReplay(options(fileSource(logFile), join(root, 'cli-whole')));
    expect((await runReplay(options(interruptedAfter(logFile, 2), cut))).kind).toBe('interrupted');
    const checkpoint = join(cut, 'checkpoint.json');
    const other = join(root, 'other.ndjson');
    writeFileSync(other, readFileSync(logFile));
    const wrong = await runCli('shadow', 'replay', '--file', other, '--out', cut, '--resume', checkpoint, '--quiet');
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/checkpoint of file:/);
    const resumed = await runCli('shadow', 'replay', '--file', logFile, '--out', cut, '--resume', checkpoint, '--quiet', '--sample-size', '10', '--sample-seed', '3');
    expect(resumed.code).toBe(0);
    expect(withoutRun(join(cut, 'report.json'))).toBe(withoutRun(join(root, 'cli-whole', 'report.json')));
  });

  it('a log of nothing but garbage is quarantined line by line, waiting for the quarantine file to drain', async () => {
    const garbage = join(root, 'garbage.ndjson');
    writeFileSync(garbage, Array.from({ length: 30_000 }, (_, i) => `not json ${i} ${'#'.repeat(i % 300)}`).join('\n'));
    const result = await runReplay(options(fileSource(garbage), join(root, 'garbage-out')));
    if (result.kind !== 'complete') throw new Error('expected a complete replay');
    expect(result.report.totals).toEqual({ read: 30_000, quarantined: 30_000, compared: 0 });
    expect(readFileSync(join(root, 'garbage-out', 'quarantine.ndjson'), 'utf8').trim().split('\n')).toHaveLength(30_000);
  });

  it('partial reports of a split log merge into exactly the single-run report', async () => {
    const part1 = join(root, 'p1.ndjson');
    const part2 = join(root, 'p2.ndjson');
    const all = join(root, 'all.ndjson');
    writeFileSync(part1, `${lines.slice(0, 70).join('\n')}\n`);
    writeFileSync(part2, `${lines.slice(70).join('\n')}\n{"requestId":1}\n`);
    writeFileSync(all, `${lines.join('\n')}\n{"requestId":1}\n`);
    await runReplay(options(fileSource(part2), join(root, 'm2')));
    await runReplay(options(fileSource(part1), join(root, 'm1')));
    await runReplay(options(fileSource(all), join(root, 'single')));
    const merged = await mergeReports([join(root, 'm2'), join(root, 'm1')], join(root, 'merged'));
    expect(merged.report.totals).toEqual({ read: 201, quarantined: 1, compared: 200 });
    expect(withoutRun(join(root, 'merged', 'report.json'))).toBe(withoutRun(join(root, 'single', 'report.json')));
    expect(readFileSync(join(root, 'merged', 'quarantine.ndjson'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('merge refuses reports of different comparisons', async () => {
    const swapped = join(root, 'swapped');
    await runReplay(options(fileSource(logFile), swapped, { baseline: candidate, candidate: baseline }));
    await runReplay(options(fileSource(logFile), join(root, 'normal')));
    await expect(mergeReports([join(root, 'normal'), swapped], join(root, 'bad-merge'))).rejects.toThrow(/other rule sets/);
  });
});
