import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { FileWriteError } from '../../src/config/index.js';
import { ndjsonLines, rawNdjsonLines, readNdjsonLines, resumeMismatch, writeNdjson } from '../../src/shadow/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'prio-ndjson-'));
  dirs.push(d);
  return d;
}

const records = Array.from({ length: 5000 }, (_, i) => ({ requestId: `r${i}`, text: 'é ✓'.repeat(i % 7) }));
const expectedText = records.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('the NDJSON writer and reader', () => {
  it('writes one JSON line per record, plain or gzip by the file name, and reads them back numbered', async () => {
    const dir = tempDir();
    for (const name of ['log.ndjson', 'log.ndjson.gz']) {
      const file = join(dir, name);
      await writeNdjson(records, file);
      const bytes = readFileSync(file);
      expect((name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')).toBe(expectedText);
      const read = await readNdjsonLines(file);
      expect(read.damage).toBeUndefined();
      expect(read.lines).toHaveLength(records.length);
      expect(read.lines[4999]).toEqual({ line: 5000, text: JSON.stringify(records[4999]) });
    }
  });

  it('streams lines from stdin (gzip by its magic bytes) for every reader alike: blank lines skipped, numbers kept, an oversized line counted by its size', async () => {
    const big = 'x'.repeat(5000);
    const body = `{"a":1}\r\n\n  \n${big}\n{"b":2}`;
    const stdinOf = () => {
      const stdin = new PassThrough();
      stdin.end(gzipSync(body));
      return stdin;
    };
    const raw = [];
    for await (const l of rawNdjsonLines('-', { stdin: stdinOf(), maxRecordBytes: 4096 })) raw.push(l);
    expect(raw.map((l) => [l.line, l.oversizedBytes ?? Buffer.from(l.bytes).toString()])).toEqual([
      [1, '{"a":1}'],
      [4, 5000],
      [5, '{"b":2}'],
    ]);
    expect(raw[1]?.problem).toMatch(/oversized record: 5000 bytes exceeds the 4096-byte limit/);
    const text = [];
    for await (const l of ndjsonLines('-', { stdin: stdinOf(), maxRecordBytes: 4096 })) text.push(l);
    expect(text.map((l) => l.problem === undefined ? l.text : `line ${l.line}: problem`)).toEqual(['{"a":1}', 'line 4: problem', '{"b":2}']);
    const whole = await readNdjsonLines('-', { stdin: stdinOf() });
    expect(whole.lines.map((l) => l.line)).toEqual([1, 4, 5]);
    expect(whole.damage).toBeUndefined();
  });

  it('refuses an unwritable path as a FileWriteError naming it', async () => {
    const file = join(tempDir(), 'missing', 'log.ndjson');
    const err = await writeNdjson(records, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileWriteError);
    expect((err as Error).message).toContain(file);
  });
});

describe('resuming a replay', () => {
  const checkpoint = { source: 'file:a.ndjson', rulesets: { baseline: 'legacy', candidate: 'service_tier' } };
  it('allows the same source and comparison', () => {
    expect(resumeMismatch(checkpoint, { ...checkpoint })).toBeUndefined();
  });
  it('refuses another source or comparison, saying which', () => {
    expect(resumeMismatch(checkpoint, { ...checkpoint, source: 'file:b.ndjson' })).toBe('checkpoint of file:a.ndjson, not file:b.ndjson');
    expect(resumeMismatch(checkpoint, { ...checkpoint, rulesets: { baseline: 'legacy', candidate: 'other' } })).toBe('checkpoint compares legacy -> service_tier, not legacy -> other');
  });
});
