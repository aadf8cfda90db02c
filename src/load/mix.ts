/** Parses the `--classifications ON_DEMAND:6,FLEX:2` style mixes of `prio load`. Pure. */
import type { Weighted } from './generator.js';

/** The word that stands for "send no value" in a mix (no service tier header, say). */
export const NONE = 'none';

/**
 * `A:3,B:1,C` → weighted values (a missing weight is 1). With `allowNone`, `none` is the null
 * value. @throws RangeError naming the bad entry.
 */
export function parseMix(spec: string, allowNone: true): Weighted<string | null>[];
export function parseMix(spec: string, allowNone?: false): Weighted<string>[];
export function parseMix(spec: string, allowNone = false): Weighted<string | null>[] {
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new RangeError('empty mix');
  return entries.map((entry) => {
    const [name, weightText, ...rest] = entry.split(':');
    const weight = weightText === undefined ? 1 : Number(weightText);
    if (name === undefined || name === '' || rest.length > 0 || !Number.isFinite(weight) || weight <= 0) {
      throw new RangeError(`bad mix entry ${JSON.stringify(entry)} (expected NAME or NAME:WEIGHT with WEIGHT > 0)`);
    }
    return { value: allowNone && name === NONE ? null : name, weight };
  });
}
