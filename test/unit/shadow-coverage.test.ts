import { describe, expect, it } from 'vitest';
import { coverageFromJson, overlapOf, unionCoverage, type Coverage } from '../../src/shadow/index.js';


const offsets = (partitions: Record<string, [number, number][]>): Coverage => ({ kind: 'offsets', topic: 't', partitions });

describe('partial report coverage (issue 11.2)', () => {
  it('group members that took turns on a partition do not overlap; two that read the same offsets do', () => {
    const a = [offsets({ '0': [[0, 100], [200, 300]] })];
    const b = [offsets({ '0': [[100, 200]], '1': [[0, 50]] })];
    expect(overlapOf(a, b)).toBeUndefined();
    expect(overlapOf(a, [offsets({ '0': [[250, 260]] })])).toBe('offsets 250-259 of t/0');
  });

  it('files overlap by line range and only within the same file', () => {
    const x: Coverage[] = [{ kind: 'lines', file: '/a', from: 1, to: 11 }];
    expect(overlapOf(x, [{ kind: 'lines', file: '/b', from: 1, to: 11 }])).toBeUndefined();
    expect(overlapOf(x, [{ kind: 'lines', file: '/a', from: 10, to: 20 }])).toBe('lines 10-10 of /a');
    expect(overlapOf(x, [{ kind: 'lines', file: '/a', from: 11, to: 20 }])).toBeUndefined();
  });

  it('the union joins adjacent ranges, so merged members cover what one process would', () => {
    const union = unionCoverage([offsets({ '0': [[0, 100], [200, 300]] }), offsets({ '0': [[100, 200]], '1': [[0, 50]] })]);
    expect(union).toEqual([offsets({ '0': [[0, 300]], '1': [[0, 50]] })]);
    expect(coverageFromJson(JSON.parse(JSON.stringify(union)))).toEqual(union);
    expect(coverageFromJson([{ kind: 'lines', file: 3 }])).toBeUndefined();
  });
});
