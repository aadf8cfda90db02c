/**
 * What a configuration source hands the provider: raw documents per profile, as text, with the
 * label the source knows them by. Parsing, validation and compilation happen in the provider,
 * the same way for every source.
 */
import { createHash } from 'node:crypto';
import type { ConfigSource } from '../snapshot.js';

/** The three configuration profiles a snapshot is built from. */
export type ProfileName = 'rules' | 'overrides' | 'flags';
export const PROFILES: readonly ProfileName[] = ['rules', 'overrides', 'flags'];

export interface RawDocument {
  readonly profile: ProfileName;
  /** The document's text; null only for `overrides` and means "no overrides document". */
  readonly text: string | null;
  /** What errors name the document by: a path, or `appconfig:<app>/<env>/<profile>`. */
  readonly file: string;
  /** The version the source knows it by (an AppConfig version number or label, a content hash). */
  readonly label: string;
}

export interface SourceSink {
  /** One or more documents that changed together (a source never hands over half of a change it saw whole). */
  documents(batch: readonly RawDocument[]): void;
  /** The source failed to reach its origin (it keeps trying by itself). */
  failure(error: Error): void;
}

/** A running source. It delivers every profile at least once, then each change, until closed. */
export interface DocumentSource {
  readonly kind: Exclude<ConfigSource, 'baked'>;
  start(sink: SourceSink): void;
  close(): Promise<void>;
}

export interface Backoff {
  /** First delay after a failure, in ms. */
  readonly initialMs: number;
  /** Ceiling of the doubling delay, in ms. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 60_000 };

/** The delay before retry number `attempt` (0-based): doubling, capped, with full jitter so a fleet does not retry in step. */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(backoff.initialMs / 2, Math.round(ceiling * random()));
}

/** The first 12 hex digits of the SHA-256 of a document's text: its label when its origin gives it no version. */
export function contentLabel(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * A source its owner drives by hand: whatever is handed to `push` is built, refused or swapped
 * in synchronously. For embedders that receive documents by other means, and for measuring a
 * swap from the text handed over to the snapshot in force.
 */
export class PushSource implements DocumentSource {
  readonly kind = 'appconfig' as const;
  private sink: SourceSink | undefined;
  start(sink: SourceSink): void {
    this.sink = sink;
  }
  /** Hands documents to the provider; a programmer error before the provider started this source. */
  push(batch: readonly RawDocument[]): void {
    if (this.sink === undefined) throw new Error('PushSource.push before the provider started it');
    this.sink.documents(batch);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
