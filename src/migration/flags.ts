import type { Flags } from './model.js';

/** Readers that accept both token formats and both priority schemes can take traffic from either build. */
export function readersAcceptBoth(flags: Flags): boolean {
  return flags.tokenReadMode === 'dual' && flags.priorityScheme === 'dual';
}

/** The same flags with readers widened to accept both formats (what a rollback lands on). */
export function withDualReaders(flags: Flags): Flags {
  return readersAcceptBoth(flags) ? flags : { ...flags, tokenReadMode: 'dual', priorityScheme: 'dual' };
}

/** Flags a stage runs with after the given steps of the plan went live, applied in order. */
export function applyFlags(initial: Flags, changes: readonly Partial<Flags>[]): Flags {
  return changes.reduce<Flags>((f, c) => ({ ...f, ...c }), initial);
}
