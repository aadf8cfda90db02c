/**
 * Judging in worker threads must not change a single byte: for any worker count, report.json
 * and quarantine.ndjson are what one thread writes, quarantine lines in source order with their
 * positions; an interrupted source leaves exactly the records before its checkpoint; and no
 * worker thread outlives the replay, whichever way it ends.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RULES_DIR, developmentTokenKeyring, PACKAGE_ROOT } from '../../src/config/index.js';
import {
  createProgress,
  defaultWorkerCount,
  fileSource,
  judgeParts,
  readCheckpoint,
  readJudgeSpec,
  runReplay,
  SourceInterruptedError,
  type ParallelOptions,
  type RecordSource,
  type ReplayRunOptions,
  type SourceRecord,
} from '../../src/shadow/index.js';
import { runCli } from '../support/cli.js';
import { generatedLines } from '../fixtures/shadow/harness.js';

const root = mkdtempSync(join(tmpdir(), 'prio-shadow-workers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = readJudgeSpec({
  baselineFile: join(DEFAULT_RULES_DIR, 'legacy.json'),
  candidateFile: join(DEFAULT_RULES_DIR, 'service_tier.json'),
  keyring: developmentTokenKeyring(),
});
const parts = judgeParts(spec);
const quiet = createProgress({ stream: process.stderr, quiet: true, label: 'test' });

function options(source: RecordSource, outDir: string, parallel?: ParallelOptions): ReplayRunOptions {
  return {
    source,
    ...parts,
    outDir,
    sampleSize: 25,
    sampleSeed: 9,
    progress: quiet,
    // A fixed clock and run id: the whole report.json, `run` included, must then be the same bytes.
    now: () => 1_700_000_000_000,
    runId: 'fixed-run',
    ...(parallel === undefined ? {} : { parallel }),
  };
}

/** Every job to a worker: the main thread judges nothing, so the test cannot pass without them. */
const workersOnly = (workers: number): ParallelOptions => ({ workers, spec, startAfterRecords: 0, mainThreadJudges: false });

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

/** The generated log with every bad-input class a file can hold, spread through it. */
const salted = join(root, 'salted.ndjson');
const good = generatedLines(1500, 23, 0.01);
const oversized = JSON.stringify({ requestId: 'big', pad: 'x'.repeat(1024 * 1024 + 10) });
writeFileSync(
  salted,
  Buffer.concat([
    Buffer.from(`${good.slice(0, 300).join('\n')}\n{"requestId": "cut-off", "timestamp": \n`),
    Buffer.from(`${good.slice(300, 700).join('\n')}\n`),
    Buffer.concat([Buffer.from('{"requestId": "'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}\n')]),
    Buffer.from(`${good.slice(700, 1100).join('\n')}\n\n${oversized}\n[1,2,3]\n`),
    Buffer.from(`${good.slice(1100).join('\n')}\n{"requestId": "no-account", "timestamp": "2026-03-01T00:00:00Z"}\n`),
  ]),
);
const SALTED_READ = 1500 + 5;

describe('judging in worker threads', () => {
  it('the default is one worker per core but one, up to 4, and none on a single core', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultWorkerCount(cores))).toEqual([0, 1, 2, 3, 4, 4]);
  });

  it.each([
    ['the bundled sample', join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson')],
    ['a log salted with every bad-input class', salted],
  ])('gives byte-identical report.json and quarantine.ndjson for 0, 1, 2 and 3 workers: %s', async (_name, log) => {
    const results: { report: string; quarantine: string }[] = [];
    // One after another: four runs at once would only compete for the same cores.
    for (const workers of [0, 1, 2, 3]) {
      const out = join(root, `${log === salted ? 'salted' : 'sample'}-w${workers}`);
      // Small batches: many jobs, spread over every worker and finishing out of order.
      const result = await runReplay(options(fileSource(log, { batchSize: 37 }), out, workers === 0 ? undefined : workersOnly(workers)));
      expect(result.kind).toBe('complete');
      results.push({ report: read(out, 'report.json'), quarantine: read(out, 'quarantine.ndjson') });
    }
    const [single, ...parallel] = results;
    for (const p of parallel) {
      expect(p.report).toBe(single?.report);
      expect(p.quarantine).toBe(single?.quarantine);
    }
    if (log === salted) {
      const report = JSON.parse(single?.report ?? '{}') as { totals: unknown };
      expect(report.totals).toEqual({ read: SALTED_READ, quarantined: 5, compared: 1500 });
      const lines = (single?.quarantine ?? '').trim().split('\n').map((l) => JSON.parse(l) as { position: { line: number }; reason: string });
      expect(lines.map((l) => [l.position.line, l.reason])).toEqual([
        [301, 'malformed-json'],
        [702, 'invalid-utf8'],
        [1104, 'oversized'],
        [1105, 'schema'],
        [1506, 'schema'],
      ]);
    }
  });

  it('values a file cannot hold cross to the workers too: null values and source faults, with their positions', async () => {
    const at = (offset: number) => ({ kind: 'kafka', topic: 't', partition: offset % 3, offset: String(offset) }) as const;
    const records: SourceRecord[] = good.slice(0, 200).map((line, i) => ({ position: at(i), value: Buffer.from(line) }));
    records.splice(10, 0, { position: at(1000), value: null });
    records.splice(50, 0, { position: at(1001), value: Buffer.from([0x00, 0x9f, 0xff]) });
    records.splice(90, 0, { position: at(1002), value: Buffer.from('{"partial'), sourceError: 'broker sent a damaged record' });
    records.splice(130, 0, { position: at(1003), value: null, sourceError: 'oversized record: 9000000 bytes exceeds the 1048576-byte limit' });
    const memory: RecordSource = {
      label: 'memory',
      async *batches() {
        for (let i = 0; i < records.length; i += 16) yield records.slice(i, i + 16);
      },
    };
    await runReplay(options(memory, join(root, 'values-0')));
    await runReplay(options(memory, join(root, 'values-3'), workersOnly(3)));
    expect(read(join(root, 'values-3'), 'report.json')).toBe(read(join(root, 'values-0'), 'report.json'));
    const quarantine = read(join(root, 'values-3'), 'quarantine.ndjson');
    expect(quarantine).toBe(read(join(root, 'values-0'), 'quarantine.ndjson'));
    const lines = quarantine.trim().split('\n').map((l) => JSON.parse(l) as { position: { offset: string }; reason: string; excerpt: string | null });
    expect(lines.map((l) => [l.position.offset, l.reason])).toEqual([
      ['1000', 'null-value'],
      ['1001', 'invalid-utf8'],
      ['1002', 'source-error'],
      ['1003', 'oversized'],
    ]);
    expect(lines[2]?.excerpt).toBe('{"partial');
  });

  it('mixes main-thread and worker judging into the same report', async () => {
    const single = join(root, 'mixed-single');
    const mixed = join(root, 'mixed-parallel');
    await runReplay(options(fileSource(salted, { batchSize: 50 }), single));
    await runReplay(options(fileSource(salted, { batchSize: 50 }), mixed, { workers: 2, spec, startAfterRecords: 200 }));
    expect(read(mixed, 'report.json')).toBe(read(single, 'report.json'));
    expect(read(mixed, 'quarantine.ndjson')).toBe(read(single, 'quarantine.ndjson'));
  });

  it('a truncated .gz is quarantined at the same line with or without workers', async () => {
    const gz = join(root, 'cut.ndjson.gz');
    const whole = gzipSync(Buffer.from(`${good.slice(0, 400).join('\n')}\n`));
    writeFileSync(gz, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await runReplay(options(fileSource(gz, { batchSize: 40 }), join(root, 'gz-0')));
    await runReplay(options(fileSource(gz, { batchSize: 40 }), join(root, 'gz-2'), workersOnly(2)));
    expect(read(join(root, 'gz-2'), 'report.json')).toBe(read(join(root, 'gz-0'), 'report.json'));
    expect(read(join(root, 'gz-2'), 'quarantine.ndjson')).toBe(read(join(root, 'gz-0'), 'quarantine.ndjson'));
    expect(read(join(root, 'gz-2'), 'quarantine.ndjson')).toContain('"reason":"truncated-gzip"');
  });

  it('an interrupted source: every job handed out is judged before the checkpoint; resuming gives the whole report', async () => {
    const handedOut: SourceRecord[] = [];
    const inner = fileSource(salted, { batchSize: 60 });
    const interrupted: RecordSource = {
      label: inner.label,
      async *batches() {
        for await (const batch of inner.batches()) {
          if (handedOut.length >= 900) {
            const last = handedOut.at(-1);
            throw new SourceInterruptedError('input went away', { kind: 'line', file: salted, nextLine: last?.position.kind === 'line' ? last.position.line + 1 : 1 });
          }
          handedOut.push(...batch);
          yield batch;
        }
      },
    };
    const cut = join(root, 'cut');
    const first = await runReplay(options(interrupted, cut, workersOnly(2)));
    if (first.kind !== 'interrupted') throw new Error(`expected an interrupted replay, got ${first.kind}`);
    expect(first.partial.read).toBe(handedOut.length);
    const saved = readCheckpoint(first.checkpointFile);
    expect(saved.partial.read).toBe(handedOut.length);

    const resumed = await runReplay({ ...options(fileSource(salted, { resumeFrom: saved.checkpoint, batchSize: 60 }), cut, workersOnly(2)), resumeFrom: saved.partial });
    expect(resumed.kind).toBe('complete');
    const whole = join(root, 'uncut');
    await runReplay(options(fileSource(salted), whole));
    // `run` says this run resumed and counted fewer records itself; everything else is the same.
    const withoutRun = (dir: string) => {
      const doc = JSON.parse(read(dir, 'report.json')) as Record<string, unknown>;
      delete doc.run;
      return JSON.stringify(doc, null, 2);
    };
    expect(withoutRun(cut)).toBe(withoutRun(whole));
    expect(read(cut, 'quarantine.ndjson')).toBe(read(whole, 'quarantine.ndjson'));
  });

  // Counted as the process's OS threads (Linux /proc): a worker is one, and Node lists no handle for it.
  it.skipIf(!existsSync('/proc/self/status'))('leaves no worker thread behind, after a source that fails as after a complete run', async () => {
    const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
    // A replay without workers first, so threads the process starts once (file I/O) are already counted.
    await runReplay(options(fileSource(salted), join(root, 'warm-up')));
    const before = threads();
    const failing: RecordSource = {
      label: 'failing',
      async *batches() {
        let n = 0;
        for await (const batch of fileSource(salted, { batchSize: 50 }).batches()) {
          if (++n === 5) throw new Error('disk on fire');
          yield batch;
        }
      },
    };
    let live = 0;
    const watching: RecordSource = {
      label: 'watching',
      async *batches() {
        for await (const batch of fileSource(salted, { batchSize: 50 }).batches()) {
          live = Math.max(live, threads());
          yield batch;
        }
      },
    };
    // A worker costs at least two OS threads (the worker and its module loader). The process itself may
    // start one thread of its own at any moment (V8's platform, libuv), and a terminated worker's thread
    // can take a moment to be joined, so a leak shows as two or more threads that stay: poll, then allow one.
    const noWorkerLeft = () => vi.waitFor(() => expect(threads()).toBeLessThan(before + 2), { timeout: 5_000, interval: 50 });
    await expect(runReplay(options(failing, join(root, 'failing'), workersOnly(2)))).rejects.toThrow('disk on fire');
    await noWorkerLeft();
    expect((await runReplay(options(watching, join(root, 'complete'), workersOnly(2)))).kind).toBe('complete');
    // The workers were really there (two threads each at least: the worker and its module loader)...
    expect(live).toBeGreaterThanOrEqual(before + 2);
    // ...and are gone once the replay returns.
    await noWorkerLeft();
  });

  it('prio shadow replay --workers: any count gives the same report; a bad count is a usage error', async () => {
    const sample = join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson');
    const zero = await runCli('shadow', 'replay', '--file', sample, '--out', join(root, 'cli-0'), '--workers', '0', '--quiet', '--json');
    const two = await runCli('shadow', 'replay', '--file', sample, '--out', join(root, 'cli-2'), '--workers', '2', '--quiet', '--json');
    expect([zero.code, two.code]).toEqual([0, 0]);
    const withoutRun = (dir: string) => {
      const doc = JSON.parse(read(dir, 'report.json')) as { run?: { workers?: number } };
      const workers = doc.run?.workers;
      delete doc.run;
      return { doc: JSON.stringify(doc), workers };
    };
    expect(withoutRun(join(root, 'cli-2')).doc).toBe(withoutRun(join(root, 'cli-0')).doc);
    expect(withoutRun(join(root, 'cli-2')).workers).toBe(2);
    const bad = await runCli('shadow', 'replay', '--file', sample, '--out', join(root, 'cli-bad'), '--workers', 'many');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--workers must be an integer >= 0/);
  });
});
