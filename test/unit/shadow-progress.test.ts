import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, renderHtml, renderMarkdown } from '../../src/shadow/index.js';
import { aggregateOf, generatedLines, record, reportOf } from '../fixtures/shadow/harness.js';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream, text: () => text };
}

describe('progress', () => {
  it('prints nothing when quiet', () => {
    const { stream, text } = fakeStream(false);
    const p = createProgress({ stream, quiet: true, label: 'replay' });
    p.update(1000, { done: 10, total: 100, unit: 'bytes' });
    p.stop();
    expect(text()).toBe('');
  });

  it('prints a plain line at most once per interval when not a terminal, with rate and ETA', () => {
    const { stream, text } = fakeStream(false);
    let now = 0;
    const p = createProgress({ stream, quiet: false, label: 'replay', intervalMs: 5000, now: () => now });
    now = 1000;
    p.update(100, { done: 1, total: 10, unit: 'bytes' });
    expect(text()).toBe('');
    now = 5000;
    p.update(50_000, { done: 2 * 1024 * 1024, total: 8 * 1024 * 1024, unit: 'bytes' });
    now = 6000;
    p.update(60_000, { done: 3, total: 10, unit: 'bytes' });
    expect(text()).toBe('replay: 50,000 records (10,000/s), 25.0% of 8.0 MiB, ETA 15s\n');
  });

  it('draws a bar with rate and ETA on a terminal', () => {
    const { stream, text } = fakeStream(true);
    const p = createProgress({ stream, quiet: false, label: 'replay' });
    p.update(5000, { done: 50, total: 100, unit: 'bytes' });
    p.stop();
    expect(text()).toMatch(/replay \[.*\] 50% \| 5,000 records \| [\d,]+ rec\/s \| ETA/);
  });
});

describe('rendered reports', () => {
  it('markdown puts a broken baseline first, before any figure', () => {
    const report = reportOf(aggregateOf(generatedLines(200, 12, 0.2)).agg);
    const md = renderMarkdown(report);
    const firstParagraph = md.split('\n\n')[1] ?? '';
    expect(firstParagraph).toMatch(/^\*\*Baseline fidelity ❌/);
    expect(firstParagraph).toContain('does NOT reproduce production');
  });

  it('html is self-contained and escapes record content', () => {
    const report = reportOf(aggregateOf([JSON.stringify(record({ requestId: '<script>alert(1)</script>', classification: 'FLEX', serviceTier: 'FLEX' }))]).agg);
    const html = renderHtml(report);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<link|src=|href=/);
  });
});
