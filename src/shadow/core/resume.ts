/**
 * Whether an interrupted replay's checkpoint may be continued by the run about to start.
 * Resuming onto another source or another comparison would mix two runs into one report.
 */

/** What a checkpoint records about the run that wrote it (and what the resuming run is). */
export interface ResumeIdentity {
  /** The source's label (file path, or Kafka topic and window). */
  readonly source: string;
  readonly rulesets: { readonly baseline: string; readonly candidate: string };
}

/** Why `next` may not resume from `checkpoint`, in one sentence; undefined when it may. */
export function resumeMismatch(checkpoint: ResumeIdentity, next: ResumeIdentity): string | undefined {
  if (checkpoint.source !== next.source) return `checkpoint of ${checkpoint.source}, not ${next.source}`;
  if (checkpoint.rulesets.baseline !== next.rulesets.baseline || checkpoint.rulesets.candidate !== next.rulesets.candidate) {
    return `checkpoint compares ${checkpoint.rulesets.baseline} -> ${checkpoint.rulesets.candidate}, not ${next.rulesets.baseline} -> ${next.rulesets.candidate}`;
  }
  return undefined;
}
