import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FileReadError } from '../../src/config/index.js';
import { fileSource, SourceInterruptedError, type SourceRecord } from '../../src/shadow/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prio-shadow-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string | Buffer, suffix = '.ndjson'): string {
  const path = join(dir, `f${n++}${suffix}`);
  writeFileSync(path, content);
  return path;
}

async function readAll(path: string, options: Parameters<typeof fileSource>[1] = {}): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const batch of fileSource(path, options).batches()) out.push(...batch);
  return out;
}

const text = (r: SourceRecord) => (r.value === null ? null : Buffer.from(r.value).toString('utf8'));
const lines = (rs: SourceRecord[]) => rs.map((r) => (r.position.kind === 'line' ? r.position.line : -1));

describe('file source', () => {
  it('hands out lines raw with 1-based line numbers; CRLF trimmed, blank lines skipped, no final newline needed', async () => {
    const rs = await readAll(file('{"a":1}\r\n\n   \n{"b":2}\n{"c":3}'));
    expect(rs.map(text)).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(lines(rs)).toEqual([1, 4, 5]);
    expect(rs.every((r) => r.sourceError === undefined)).toBe(true);
  });

  it('reads .gz files', async () => {
    const rs = await readAll(file(gzipSync('{"a":1}\n{"b":2}\n'), '.ndjson.gz'));
    expect(rs.map(text)).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('a truncated .gz keeps what decoded and quarantines the damaged tail at the line where it stopped', async () => {
    const body = Array.from({ length: 2000 }, (_, i) => `{"requestId":"r${i}","pad":"${'x'.repeat(i % 50)}"}`).join('\n');
    const gz = gzipSync(body);
    const rs = await readAll(file(gz.subarray(0, Math.floor(gz.length * 0.6)), '.gz'));
    const last = rs.at(-1);
    expect(last?.sourceError).toMatch(/truncated or corrupt gzip/);
    const good = rs.slice(0, -1);
    expect(good.length).toBeGreaterThan(100);
    expect(good.length).toBeLessThan(2000);
    expect(good.every((r) => r.sourceError === undefined)).toBe(true);
    expect(lines(rs)).toEqual(Array.from({ length: rs.length }, (_, i) => i + 1));
  });

  it('a cut or corrupt .gz is reported as damage, with where decoding stopped; a whole one is not (issue 11.1)', async () => {
    const body = Array.from({ length: 3000 }, (_, i) => `{"requestId":"r${i}","pad":"${String(i * 31).repeat(1 + (i % 7))}"}`).join('\n');
    const gz = gzipSync(body);
    const whole = fileSource(file(gz, '.gz'));
    for await (const _ of whole.batches());
    expect(whole.damage()).toEqual([]);
    const cutPath = file(gz.subarray(0, Math.floor(gz.length / 2)), '.gz');
    const cut = fileSource(cutPath);
    for await (const _ of cut.batches());
    expect(cut.damage()).toEqual([expect.objectContaining({ kind: 'truncated-gzip', where: cutPath, recordsLost: null, bytesLost: null })]);
    expect(cut.damage()[0]?.detail).toMatch(/^decoding stopped at line \d+ after \d+ of \d+ compressed bytes .*the end of the stream is missing$/);
    // Corrupt in the middle: what follows the damage is known not to have been decoded.
    const corrupt = Buffer.from(gz);
    corrupt.fill(0xff, Math.floor(gz.length / 3), Math.floor(gz.length / 3) + 64);
    const corruptSource = fileSource(file(corrupt, '.gz'));
    for await (const _ of corruptSource.batches());
    const [event] = corruptSource.damage();
    expect(event?.bytesLost).toBeGreaterThan(0);
    expect(event?.bytesLost).toBeLessThan(gz.length);
  });

  it('a truncated .gz hands out the same records however slowly they are taken', async () => {
    const body = Array.from({ length: 20_000 }, (_, i) => `{"requestId":"r${i}","pad":"${String(i * 7919).repeat(1 + (i % 9))}"}`).join('\n');
    const gz = gzipSync(body);
    const path = file(gz.subarray(0, Math.floor(gz.length * 0.7)), '.gz');
    const fast = await readAll(path);
    // A slow consumer (a replay waiting for its workers) leaves decoded output queued when the error arrives.
    const slow: SourceRecord[] = [];
    for await (const batch of fileSource(path, { batchSize: 500 }).batches()) {
      slow.push(...batch);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(slow.length).toBe(fast.length);
    expect(slow.at(-1)?.position).toEqual(fast.at(-1)?.position);
    expect(slow.at(-1)?.sourceError).toMatch(/truncated or corrupt gzip/);
  });

  it('a truncated .gz that stops exactly between lines is still reported', async () => {
    const gz = gzipSync('{"a":1}\n');
    const rs = await readAll(file(gz.subarray(0, gz.length - 4), '.gz'));
    expect(rs.at(-1)?.sourceError).toMatch(/gzip/);
  });

  it('passes invalid UTF-8 through untouched (the replay quarantines it)', async () => {
    const rs = await readAll(file(Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n{"b":1}\n')])));
    expect(rs).toHaveLength(2);
    expect(Buffer.from(rs[0]?.value ?? []).includes(0xff)).toBe(true);
  });

  it('an oversized line becomes one sourceError record with an excerpt, and reading goes on', async () => {
    const big = 'y'.repeat(300_000);
    const rs = await readAll(file(`{"a":1}\n${big}\n{"b":2}\n`), { maxRecordBytes: 100_000 });
    expect(rs.map((r) => r.sourceError ?? text(r))).toEqual(['{"a":1}', 'oversized record: 300000 bytes exceeds the 100000-byte limit', '{"b":2}']);
    expect(rs[1]?.value?.length).toBeLessThanOrEqual(256);
    expect(lines(rs)).toEqual([1, 2, 3]);
  });

  it('the default limit is 1 MiB, and a line spanning many read chunks is counted whole', async () => {
    const big = `{"pad":"${'z'.repeat(3 * 1024 * 1024)}"}`;
    const rs = await readAll(file(`${big}\n{"b":2}\n`));
    expect(rs[0]?.sourceError).toBe(`oversized record: ${big.length} bytes exceeds the 1048576-byte limit`);
    expect(text(rs[1] as SourceRecord)).toBe('{"b":2}');
  });

  it('an oversized final line without a newline is still reported', async () => {
    const rs = await readAll(file(`{"a":1}\n${'q'.repeat(5000)}`), { maxRecordBytes: 1000 });
    expect(rs[1]?.sourceError).toMatch(/oversized record: 5000 bytes/);
  });

  it('resumes after a line checkpoint', async () => {
    const path = file('{"a":1}\n{"b":2}\n{"c":3}\n');
    const rs = await readAll(path, { resumeFrom: { kind: 'line', file: path, nextLine: 3 } });
    expect(rs.map(text)).toEqual(['{"c":3}']);
    expect(lines(rs)).toEqual([3]);
  });

  it('batches records and reports byte progress', async () => {
    const path = file(Array.from({ length: 100 }, (_, i) => `{"i":${i}}`).join('\n'));
    const source = fileSource(path, { batchSize: 10 });
    const sizes: number[] = [];
    for await (const batch of source.batches()) sizes.push(batch.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
    const p = source.progress();
    expect(p.done).toBe(p.total);
  });

  it('ends a batch at batchBytes of values too, so large records never pile up by the thousand', async () => {
    const path = file(Array.from({ length: 10 }, (_, i) => `{"i":${i},"pad":"${'x'.repeat(90)}"}`).join('\n'));
    const sizes: number[] = [];
    for await (const batch of fileSource(path, { batchSize: 1000, batchBytes: 250 }).batches()) sizes.push(batch.length);
    // Each line is about 100 bytes: a batch ends with the record that reaches 250.
    expect(sizes).toEqual([3, 3, 3, 1]);
  });

  it('a missing file is a FileReadError at once', () => {
    expect(() => fileSource(join(dir, 'nope.ndjson'))).toThrow(FileReadError);
  });

  describe('stdin, pipes and sniffed gzip (issue 11.5)', () => {
    it('reads `-` from stdin, plain or gzip (recognised by its magic bytes)', async () => {
      const plain = fileSource('-', { stdin: Readable.from([Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}\n')]) });
      const got: SourceRecord[] = [];
      for await (const b of plain.batches()) got.push(...b);
      expect(got.map(text)).toEqual(['{"a":1}', '{"b":2}']);
      expect(got[0]?.position).toEqual({ kind: 'line', file: '-', line: 1 });
      const zipped = fileSource('-', { stdin: Readable.from([gzipSync('{"c":3}\n')]) });
      const z: SourceRecord[] = [];
      for await (const b of zipped.batches()) z.push(...b);
      expect(z.map(text)).toEqual(['{"c":3}']);
    });

    it('reads a named pipe, and a gzip file whatever its name', async () => {
      const fifo = join(dir, 'pipe');
      execFileSync('mkfifo', [fifo]);
      const writer = createWriteStream(fifo);
      writer.end('{"p":1}\n{"p":2}\n');
      expect((await readAll(fifo)).map(text)).toEqual(['{"p":1}', '{"p":2}']);
      expect((await readAll(file(gzipSync('{"g":1}\n'), '.ndjson'))).map(text)).toEqual(['{"g":1}']);
    });

    it('an abort stops a read that waits on a pipe: the checkpoint is the line after the last batch handed out (issue 11.3)', async () => {
      const stdin = new PassThrough();
      const controller = new AbortController();
      const source = fileSource('-', { stdin, signal: controller.signal, batchSize: 2 });
      stdin.write('{"n":1}\n\n{"n":2}\n{"n":3}\n');
      const got: SourceRecord[] = [];
      const read = (async () => {
        for await (const b of source.batches()) {
          got.push(...b);
          // Everything written is handed out; the read now waits for more that never comes.
          if (got.length === 2) setTimeout(() => controller.abort('SIGINT'), 50);
        }
      })();
      await expect(read).rejects.toBeInstanceOf(SourceInterruptedError);
      await expect(read).rejects.toThrow('interrupted by SIGINT');
      expect(got.map(text)).toEqual(['{"n":1}', '{"n":2}']);
      // Line 4 was read but its batch never handed out: a resumed run starts there.
      expect(source.checkpoint()).toEqual({ kind: 'line', file: '-', nextLine: 4 });
    });

    it('refuses a directory at once, naming it', () => {
      expect(() => fileSource(dir)).toThrow(FileReadError);
      expect(() => fileSource(dir)).toThrow(/is a directory/);
    });
  });
});
