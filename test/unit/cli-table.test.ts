import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/output.js';

describe('table', () => {
  it('right-aligns columns of figures, formatted ones and "-" placeholders included', () => {
    const out = table(
      ['tier', 'count', 'p50 ms', 'share'],
      [
        ['P100', 7, '-', '5.00%'],
        ['P5', 1234, '12,400', '95.00%'],
      ],
    ).split('\n');
    expect(out).toEqual([
      'tier  count  p50 ms   share',
      '----  -----  ------  ------',
      'P100      7       -   5.00%',
      'P5     1234  12,400  95.00%',
    ]);
  });

  it('left-aligns text, and a column holding only placeholders', () => {
    const out = table(
      ['name', 'wait'],
      [
        ['a-1', '-'],
        ['b', '-'],
      ],
    ).split('\n');
    expect(out).toEqual(['name  wait', '----  ----', 'a-1   -', 'b     -']);
  });
});
