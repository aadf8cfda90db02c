import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineHeap, type DeadlineEntry } from '../../src/scheduler/core/deadline-heap.js';

const entry = (due: number, seq: number): DeadlineEntry => ({ due, seq });

/** Pops everything, in heap order. */
function drain<T extends DeadlineEntry>(heap: DeadlineHeap<T>): T[] {
  const out: T[] = [];
  for (let t = heap.pop(); t !== undefined; t = heap.pop()) out.push(t);
  return out;
}

/** The order the heap must produce: deadline first, arrival on ties. */
const byDeadline = (a: DeadlineEntry, b: DeadlineEntry) => (a.due as number) - (b.due as number) || a.seq - b.seq;

describe('DeadlineHeap', () => {
  it('is empty when new: size 0, nothing to peek or pop', () => {
    const heap = new DeadlineHeap<DeadlineEntry>();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
  });

  it('pops the earliest deadline first and breaks ties by arrival', () => {
    const heap = new DeadlineHeap<DeadlineEntry>();
    const a = entry(50, 0);
    const b = entry(10, 1);
    const c = entry(50, 2);
    const d = entry(10, 3);
    for (const t of [c, a, d, b]) heap.push(t);
    expect(heap.size).toBe(4);
    expect(heap.peek()).toBe(b);
    expect(drain(heap)).toEqual([b, d, a, c]);
    expect(heap.size).toBe(0);
  });

  it('retain keeps only the accepted entries, still in heap order', () => {
    const heap = new DeadlineHeap<DeadlineEntry & { live: boolean }>();
    for (let i = 0; i < 10; i++) heap.push({ due: 100 - i, seq: i, live: i % 3 !== 0 });
    heap.retain((t) => t.live);
    expect(heap.size).toBe(6);
    expect(drain(heap).map((t) => t.seq)).toEqual([8, 7, 5, 4, 2, 1]);
  });

  it('property: any interleaving of pushes and pops always pops the minimum (deadline, then arrival)', () => {
    // Few distinct deadlines, so ties are common; a pop is an op of -1.
    const ops = fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 300 });
    fc.assert(
      fc.property(ops, (script) => {
        const heap = new DeadlineHeap<DeadlineEntry>();
        const model: DeadlineEntry[] = [];
        let seq = 0;
        for (const op of script) {
          if (op >= 0) {
            const t = entry(op, seq++);
            heap.push(t);
            model.push(t);
          } else {
            model.sort(byDeadline);
            expect(heap.pop()).toBe(model.shift());
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peek()).toBe([...model].sort(byDeadline)[0]);
        }
        expect(drain(heap)).toEqual(model.sort(byDeadline));
      }),
      { numRuns: 300 },
    );
  });
});
