/**
 * Storage faults for the game day: a small disk of the scenario's own (a tmpfs mounted in its
 * directory, unmounted when it ends) that can be filled to the last byte for a real ENOSPC, and
 * damage done to an event-store stream file (a torn last line, a flipped byte in the middle).
 */
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountSmallDisk, smallDiskUnsupported, type SmallDisk } from '../../support/full-disk.js';
import type { ScenarioContext } from '../scenario.js';

export type { SmallDisk } from '../../support/full-disk.js';

/** A tmpfs of `sizeBytes` at `<scenario dir>/<name>`, unmounted at the scenario's end. */
export function smallDisk(ctx: ScenarioContext, name: string, sizeBytes: number): SmallDisk {
  const why = smallDiskUnsupported();
  if (why !== undefined) throw new Error(`this scenario needs a disk it can fill: ${why}`);
  const disk = mountSmallDisk(join(ctx.dir, name), sizeBytes);
  ctx.defer(() => disk.unmount());
  ctx.log(`tmpfs of ${sizeBytes} bytes mounted on ${disk.dir} (${disk.available()} bytes free)`);
  return disk;
}

/** Byte offsets where each line of `file` starts. */
export function lineStarts(file: string): number[] {
  const bytes = readFileSync(file);
  const starts = [0];
  for (let i = 0; i < bytes.length - 1; i += 1) if (bytes[i] === 0x0a) starts.push(i + 1);
  return starts;
}

/**
 * A torn last write, as a crash mid-append leaves it: the file cut `keep` bytes into its last
 * line (no newline). Returns the byte offset where that line starts.
 */
export function tearLastLine(file: string, keep: number): number {
  const starts = lineStarts(file);
  const last = starts[starts.length - 1] ?? 0;
  truncateSync(file, last + keep);
  return last;
}

/**
 * Damage that is not a torn write: one byte inside line `line` (1-based) flipped, as bit rot or
 * a bad sector gives it; the line keeps its length and newline. Returns that line's byte offset.
 */
export function flipByteInLine(file: string, line: number, at: number): number {
  const bytes = readFileSync(file);
  const start = lineStarts(file)[line - 1];
  if (start === undefined) throw new Error(`${file} has no line ${line}`);
  const i = start + at;
  bytes[i] = (bytes[i] ?? 0) ^ 0x04;
  writeFileSync(file, bytes);
  return start;
}
