/**
 * The contract between the runtime configuration provider (this part) and what reads it
 * (`prio serve`, the rollout runner). Types only: the provider builds snapshots, readers take
 * one snapshot per request and use nothing else, so a swap never mixes two versions inside one
 * evaluation.
 */
import type { Flags } from '../migration/index.js';
import type { CompiledRuleSet } from '../rules/index.js';

/** Where the configuration in force came from, best first. */
export type ConfigSource = 'appconfig' | 'agent' | 'file' | 'baked';

/** One complete, validated, compiled configuration. Immutable once published. */
export interface ConfigSnapshot {
  /** Identifies the documents in force, e.g. `rules:3 overrides:2 flags:5` or `baked`. */
  readonly version: string;
  readonly source: ConfigSource;
  /** Epoch ms at which this snapshot was swapped in. */
  readonly loadedAt: number;
  /** The five rollout flags in force. */
  readonly flags: Flags;
  /** The legacy mapping (0-3 levels), always present: dual readers and rollbacks need it. */
  readonly legacy: CompiledRuleSet;
  /** The tiered mapping named by `flags.rulesVersion`, composed with the account overrides. */
  readonly tiered: CompiledRuleSet;
}

/** What the provider says about itself (for /metrics, /readyz and `status`). */
export interface ProviderStatus {
  readonly version: string | null;
  readonly source: ConfigSource | null;
  /** Milliseconds since the snapshot in force was swapped in; null before the first. */
  readonly ageMs: number | null;
  readonly lastError: string | null;
  /** Documents received and refused (invalid, failed to compile) since start. */
  readonly refused: number;
}

export interface ConfigProvider {
  /** The snapshot in force; undefined only before `start` resolved. */
  current(): ConfigSnapshot | undefined;
  status(): ProviderStatus;
  /** Called after every swap with the new snapshot; returns the unsubscribe function. */
  subscribe(listener: (snapshot: ConfigSnapshot) => void): () => void;
  /** Resolves once a snapshot is in force (falling back to the baked rules if nothing answers). */
  start(): Promise<void>;
  close(): Promise<void>;
}
