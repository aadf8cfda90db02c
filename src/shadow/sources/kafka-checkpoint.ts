/**
 * What a Kafka replay has handed out, shared by the direct reader (kafka-direct.ts) and the
 * group reader (kafka-group.ts): the next offset per partition (the checkpoint), the offset
 * ranges covered (so `prio shadow merge` refuses overlapping partial reports), the damage met
 * (offset gaps, corrupt batches) and the progress. Both readers move it the same way, so a
 * checkpoint, a coverage or a damage entry means the same whichever path wrote it.
 */
import type { Checkpoint, Coverage, SourceDamage, SourceRecord } from '../source.js';
import type { SourceProgress } from './file.js';
import type { CorruptBatch } from './kafka-fetch.js';
import type { PartitionWindow } from './kafka-plan.js';

export interface CheckpointTracker {
  /** The window per partition, set once the replay has planned it. */
  plan: Map<number, PartitionWindow>;
  /** Next offset to hand out per partition: what the checkpoint says. */
  readonly delivered: Map<number, number>;
  /** Partitions this process has held at some point (a group member reports only those). */
  readonly held: Set<number>;
  /** Records a gap: from `from` (the next offset this replay wanted) to `to` (where the partition now starts). */
  gap(partition: number, from: number, to: number, when: string): void;
  /** Records batches that failed their CRC-32C check (their quarantine records are handed out with them). */
  corrupt(batches: readonly CorruptBatch[]): void;
  /** Moves the checkpoint past a batch about to be handed out (its last record ends each partition's run). */
  markDelivered(records: readonly SourceRecord[]): void;
  checkpoint(): Checkpoint;
  coverage(): Coverage;
  progress(): SourceProgress;
  damage(): readonly SourceDamage[];
}

export function createCheckpointTracker(topic: string, group: string | undefined): CheckpointTracker {
  const delivered = new Map<number, number>();
  const held = new Set<number>();
  let deliveredRecords = 0;
  /** Offset gaps and corrupt batches met so far. */
  const damage: SourceDamage[] = [];
  /** Offset ranges handed out per partition, adjacent ones joined (see {@link Coverage}). */
  const covered = new Map<number, [number, number][]>();
  const tracker: CheckpointTracker = {
    plan: new Map(),
    delivered,
    held,
    gap(partition, from, to, when) {
      damage.push({
        kind: 'offset-gap',
        where: `${topic}/${partition}`,
        detail: `offsets ${from} to ${to - 1} were deleted (retention ran ahead of the replay) ${when}`,
        recordsLost: to - from,
        bytesLost: null,
      });
    },
    corrupt(batches) {
      for (const c of batches) damage.push({ kind: 'corrupt-batch', where: `${topic}/${c.partition}`, detail: c.detail, recordsLost: c.records, bytesLost: c.bytes });
    },
    markDelivered(records) {
      const first = records[0];
      const last = records[records.length - 1];
      if (first !== undefined && last !== undefined && first.position.kind === 'kafka' && last.position.kind === 'kafka') {
        const partition = last.position.partition;
        const to = Number(last.position.offset) + 1;
        // Alone, a partition is read from its start without anyone else: one range. In a group
        // another member may read between two batches: a batch joins the range before it only
        // when it starts where that range ends.
        const from = group === undefined ? (delivered.get(partition) ?? tracker.plan.get(partition)?.start ?? Number(first.position.offset)) : Number(first.position.offset);
        const ranges = covered.get(partition) ?? [];
        const previous = ranges[ranges.length - 1];
        if (previous !== undefined && previous[1] === from) previous[1] = to;
        else ranges.push([from, to]);
        covered.set(partition, ranges);
        delivered.set(partition, to);
      }
      deliveredRecords += records.length;
    },
    checkpoint() {
      const nextOffsets: Record<string, string> = {};
      for (const w of [...tracker.plan.values()].sort((a, b) => a.partition - b.partition)) {
        if (group !== undefined && !held.has(w.partition)) continue;
        nextOffsets[String(w.partition)] = String(delivered.get(w.partition) ?? w.start);
      }
      return { kind: 'kafka', topic, nextOffsets };
    },
    coverage() {
      const partitions: Record<string, [number, number][]> = {};
      for (const [p, ranges] of [...covered].sort((a, b) => a[0] - b[0])) partitions[String(p)] = ranges.map(([a, b]) => [a, b]);
      return { kind: 'offsets', topic, partitions };
    },
    progress() {
      let total: number | undefined = 0;
      for (const w of tracker.plan.values()) total = w.end === undefined || total === undefined ? undefined : total + Math.max(0, w.end - w.start);
      // A group member reads an unknown share of the topic; a followed topic has no end.
      return { done: deliveredRecords, total: group === undefined ? total : undefined, unit: 'records' };
    },
    damage: () => damage,
  };
  return tracker;
}
