import { describe, expect, it } from 'vitest';
import { HandOff } from '../../src/shadow/hand-off.js';

async function drain<T>(handOff: HandOff<T>): Promise<T[]> {
  const taken: T[] = [];
  for (let next = await handOff.next(); next.done !== true; next = await handOff.next()) taken.push(next.value);
  return taken;
}

describe('the hand-off queue', () => {
  it('hands items over in order, to a consumer that waits for them, and ends when told', async () => {
    const h = new HandOff<number>();
    const consumed = drain(h);
    h.push(1);
    await Promise.resolve();
    h.push(2);
    h.push(3);
    expect(h.size).toBe(2);
    setImmediate(() => h.end());
    expect(await consumed).toEqual([1, 2, 3]);
    expect(await h.next()).toEqual({ done: true, value: undefined });
  });

  it('reports a failure only after every item handed over before it', async () => {
    const h = new HandOff<string>();
    h.push('a');
    h.push('b');
    h.fail(new Error('first'));
    h.fail(new Error('second'));
    expect(h.failed).toBe(true);
    expect(await h.next()).toEqual({ done: false, value: 'a' });
    expect(await h.next()).toEqual({ done: false, value: 'b' });
    await expect(h.next()).rejects.toThrow('first');
  });

  it('reports an abort at once, items still queued or not, and wakes a waiting consumer', async () => {
    const h = new HandOff<string>();
    const waiting = h.next();
    h.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    const queued = new HandOff<string>();
    queued.push('a');
    queued.abort(new Error('stop'));
    await expect(queued.next()).rejects.toThrow('stop');
    expect(queued.failed).toBe(false); // an abort is the consumer's, not a producer failure
  });

  it('paces a producer with pushAndWait: it settles once its item is taken, or when disposed', async () => {
    const h = new HandOff<number>();
    const settled: number[] = [];
    const first = h.pushAndWait(1).then(() => settled.push(1));
    const second = h.pushAndWait(2).then(() => settled.push(2));
    await new Promise((r) => setImmediate(r));
    expect(settled).toEqual([]);
    expect(await h.next()).toEqual({ done: false, value: 1 });
    await first;
    expect(settled).toEqual([1]);
    h.dispose();
    await second;
    expect(settled).toEqual([1, 2]);
    expect(await h.next()).toEqual({ done: true, value: undefined });
    await h.pushAndWait(3); // after the end: settles at once, nothing queued
    expect(h.size).toBe(0);
  });
});
