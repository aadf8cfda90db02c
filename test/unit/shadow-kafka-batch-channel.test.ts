/**
 * The group reader's hand-off from kafkajs's eachBatch callback to the replay (kafka-group.ts):
 * the shared HandOff plus the two things the group path adds. No broker needed: these are the
 * orderings a broker cannot be made to produce on demand (a crash racing the last batch).
 */
import { describe, expect, it } from 'vitest';
import type { SourceRecord } from '../../src/shadow/source.js';
import { BatchChannel, Unreadable } from '../../src/shadow/sources/kafka-group.js';

const batch = (offset: number): readonly SourceRecord[] => [{ value: new Uint8Array([offset]), position: { kind: 'kafka', partition: 0, offset: String(offset) } } as SourceRecord];

describe('BatchChannel', () => {
  it('a push resolves only once the replay takes the batch (kafkajs fetches no further ahead)', async () => {
    const channel = new BatchChannel();
    let taken = false;
    const pushed = channel.pushAndWait(batch(1)).then(() => (taken = true));
    await Promise.resolve();
    expect(taken).toBe(false);
    expect((await channel.next()).value).toEqual(batch(1));
    await pushed;
    expect(taken).toBe(true);
  });

  it('a lost broker is reported after the batches accepted before it', async () => {
    const channel = new BatchChannel();
    void channel.pushAndWait(batch(1));
    void channel.pushAndWait(batch(2));
    const lost = new Error('connection refused');
    channel.fail(lost);
    expect((await channel.next()).value).toEqual(batch(1));
    expect((await channel.next()).value).toEqual(batch(2));
    await expect(channel.next()).rejects.toBe(lost);
  });

  it('records that cannot be read are told apart from a lost broker, and the first failure wins', async () => {
    const channel = new BatchChannel();
    const cause = new Error('unknown codec');
    channel.unreadable(cause);
    channel.fail(new Error('later'));
    const error: unknown = await channel.next().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Unreadable);
    expect((error as Unreadable).cause).toBe(cause);
  });

  it('a failure after the end (every partition complete) is ignored: the read ends cleanly', async () => {
    const channel = new BatchChannel();
    void channel.pushAndWait(batch(1));
    channel.end();
    channel.fail(new Error('broker went away after the last batch'));
    channel.unreadable(new Error('too late'));
    expect((await channel.next()).value).toEqual(batch(1));
    expect(await channel.next()).toEqual({ done: true, value: undefined });
  });

  it('dispose releases a waiting push so kafkajs can stop', async () => {
    const channel = new BatchChannel();
    const pushed = channel.pushAndWait(batch(1));
    channel.dispose();
    await expect(pushed).resolves.toBeUndefined();
    await expect(channel.pushAndWait(batch(2))).resolves.toBeUndefined();
  });
});
