/**
 * What partial reports covered, and whether two of them overlap: the check that keeps
 * `prio shadow merge` from counting a record twice (the same report given twice, two replays
 * of the same file, two group members that read the same offsets). Pure.
 */
import type { Coverage } from '../source.js';

type Range = readonly [number, number];

/** Sorted ranges with overlapping or adjacent ones joined. */
function joinRanges(ranges: readonly Range[]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** One coverage per file and per topic: what all of `list` covered together. */
export function unionCoverage(list: readonly Coverage[]): Coverage[] {
  const files = new Map<string, Range[]>();
  const topics = new Map<string, Map<string, Range[]>>();
  for (const c of list) {
    if (c.kind === 'lines') files.set(c.file, [...(files.get(c.file) ?? []), [c.from, c.to]]);
    else {
      const parts = topics.get(c.topic) ?? new Map<string, Range[]>();
      for (const [p, ranges] of Object.entries(c.partitions)) parts.set(p, [...(parts.get(p) ?? []), ...ranges]);
      topics.set(c.topic, parts);
    }
  }
  const out: Coverage[] = [];
  for (const [file, ranges] of [...files].sort()) for (const [from, to] of joinRanges(ranges)) out.push({ kind: 'lines', file, from, to });
  for (const [topic, parts] of [...topics].sort()) {
    const partitions: Record<string, [number, number][]> = {};
    for (const p of [...parts.keys()].sort((a, b) => Number(a) - Number(b))) partitions[p] = joinRanges(parts.get(p) ?? []);
    out.push({ kind: 'offsets', topic, partitions });
  }
  return out;
}

function intersect(a: readonly Range[], b: readonly Range[]): Range | undefined {
  for (const [af, at] of a) {
    for (const [bf, bt] of b) {
      const from = Math.max(af, bf);
      const to = Math.min(at, bt);
      if (from < to) return [from, to];
    }
  }
  return undefined;
}

/** The first input both coverages include, in words ("lines 1-400 of /x.ndjson"), or undefined when they are disjoint. */
export function overlapOf(a: readonly Coverage[], b: readonly Coverage[]): string | undefined {
  for (const x of a) {
    for (const y of b) {
      if (x.kind === 'lines' && y.kind === 'lines' && x.file === y.file) {
        const both = intersect([[x.from, x.to]], [[y.from, y.to]]);
        if (both !== undefined) return `lines ${both[0]}-${both[1] - 1} of ${x.file}`;
      }
      if (x.kind === 'offsets' && y.kind === 'offsets' && x.topic === y.topic) {
        for (const [p, ranges] of Object.entries(x.partitions)) {
          const both = intersect(ranges, y.partitions[p] ?? []);
          if (both !== undefined) return `offsets ${both[0]}-${both[1] - 1} of ${x.topic}/${p}`;
        }
      }
    }
  }
  return undefined;
}

/** Reads a coverage list back from a report's `run` (written by this module's callers); undefined when absent or malformed. */
export function coverageFromJson(value: unknown): Coverage[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Coverage[] = [];
  const isRange = (r: unknown): r is [number, number] => Array.isArray(r) && r.length === 2 && r.every((n) => Number.isSafeInteger(n));
  for (const c of value as unknown[]) {
    const o = c as Record<string, unknown> | null;
    if (o?.kind === 'lines' && typeof o.file === 'string' && Number.isSafeInteger(o.from) && Number.isSafeInteger(o.to)) {
      out.push({ kind: 'lines', file: o.file, from: o.from as number, to: o.to as number });
    } else if (o?.kind === 'offsets' && typeof o.topic === 'string' && typeof o.partitions === 'object' && o.partitions !== null) {
      const partitions: Record<string, [number, number][]> = {};
      for (const [p, ranges] of Object.entries(o.partitions as Record<string, unknown>)) {
        if (!Array.isArray(ranges) || !ranges.every(isRange)) return undefined;
        partitions[p] = ranges;
      }
      out.push({ kind: 'offsets', topic: o.topic, partitions });
    } else return undefined;
  }
  return out;
}
