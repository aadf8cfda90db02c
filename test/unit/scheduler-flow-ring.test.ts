import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowRing, type FlowMember } from '../../src/scheduler/core/flow-ring.js';

class Req implements FlowMember<Req> {
  prev: Req | null = null;
  next: Req | null = null;
  constructor(
    readonly account: string,
    readonly seq: number,
  ) {}
}

describe('FlowRing', () => {
  it('serves accounts in turn, FIFO inside each account, and reports when it empties', () => {
    const ring = new FlowRing<Req>();
    expect(ring.empty).toBe(true);
    const reqs = [new Req('a', 0), new Req('a', 1), new Req('a', 2), new Req('b', 3), new Req('c', 4), new Req('b', 5)];
    expect(reqs.map((r) => ring.join(r))).toEqual([true, false, false, false, false, false]);
    expect(ring.order()).toEqual(['a', 'b', 'c']);
    expect(ring.count()).toBe(6);
    const taken: number[] = [];
    while (!ring.empty) taken.push(ring.take().seq);
    // a, b, c, then a and b again (c's flow emptied and left), then a alone.
    expect(taken).toEqual([0, 3, 4, 1, 5, 2]);
    expect(ring.flowCount).toBe(0);
    expect(ring.count()).toBe(0);
  });

  it('a newly active account joins at the end of the current round', () => {
    const ring = new FlowRing<Req>();
    ring.join(new Req('a', 0));
    ring.join(new Req('a', 1));
    ring.join(new Req('b', 2));
    expect(ring.take().seq).toBe(0); // a served; b is next
    ring.join(new Req('c', 3));
    expect(ring.order()).toEqual(['b', 'a', 'c']);
    expect([ring.take().seq, ring.take().seq, ring.take().seq]).toEqual([2, 1, 3]);
    expect(ring.empty).toBe(true);
  });

  it('remove unlinks a request anywhere; an emptied flow leaves the ring', () => {
    const ring = new FlowRing<Req>();
    const a0 = new Req('a', 0);
    const b1 = new Req('b', 1);
    const a2 = new Req('a', 2);
    const c3 = new Req('c', 3);
    for (const r of [a0, b1, a2, c3]) ring.join(r);
    ring.remove(a2);
    expect(a2.prev).toBeNull();
    expect(a2.next).toBeNull();
    ring.remove(b1);
    expect(ring.order()).toEqual(['a', 'c']);
    expect(ring.flowCount).toBe(2);
    ring.remove(a0); // the cursor's flow: the turn passes to the next one
    expect(ring.order()).toEqual(['c']);
    ring.remove(c3);
    expect(ring.empty).toBe(true);
  });

  it('newest is the latest arrival over all flows', () => {
    const ring = new FlowRing<Req>();
    expect(ring.newest()).toBeUndefined();
    const reqs = [new Req('a', 0), new Req('b', 1), new Req('a', 5), new Req('c', 3)];
    for (const r of reqs) ring.join(r);
    expect(ring.newest()).toBe(reqs[2]);
    ring.remove(reqs[2] as Req);
    expect(ring.newest()).toBe(reqs[3]);
  });

  /**
   * A reference model: flows as arrays, the ring as a list of accounts with the turn at index 0.
   * Taking rotates the served account to the back unless its flow emptied; joining a new account
   * appends it; removing drops the request and, if its flow emptied, the account.
   */
  it('property: any sequence of joins, takes and removes matches a plain list model', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('join' as const), account: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ kind: fc.constant('take' as const) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (script) => {
        const ring = new FlowRing<Req>();
        const order: string[] = [];
        const flows = new Map<string, Req[]>();
        const queued: Req[] = [];
        let seq = 0;
        const dropIfEmpty = (account: string) => {
          if ((flows.get(account) as Req[]).length > 0) return;
          flows.delete(account);
          order.splice(order.indexOf(account), 1);
        };
        for (const o of script) {
          if (o.kind === 'join') {
            const r = new Req(o.account, seq++);
            expect(ring.join(r)).toBe(queued.length === 0);
            queued.push(r);
            if (!flows.has(o.account)) {
              flows.set(o.account, []);
              order.push(o.account);
            }
            (flows.get(o.account) as Req[]).push(r);
          } else if (o.kind === 'take') {
            if (queued.length === 0) continue;
            const account = order.shift() as string;
            order.push(account);
            const r = (flows.get(account) as Req[]).shift() as Req;
            expect(ring.take()).toBe(r);
            queued.splice(queued.indexOf(r), 1);
            dropIfEmpty(account);
          } else {
            if (queued.length === 0) continue;
            const r = queued[o.pick % queued.length] as Req;
            ring.remove(r);
            queued.splice(queued.indexOf(r), 1);
            const flow = flows.get(r.account) as Req[];
            flow.splice(flow.indexOf(r), 1);
            dropIfEmpty(r.account);
          }
          expect(ring.order()).toEqual(order);
          expect(ring.count()).toBe(queued.length);
          expect(ring.empty).toBe(queued.length === 0);
          expect(ring.newest()).toBe(queued.reduce<Req | undefined>((m, r) => (m === undefined || r.seq > m.seq ? r : m), undefined));
        }
      }),
      { numRuns: 300 },
    );
  });
});
