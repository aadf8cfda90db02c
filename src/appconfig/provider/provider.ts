/**
 * The runtime configuration provider: runs the configured sources, validates and compiles every
 * complete set of documents a source hands over, and swaps the result in with one reference
 * assignment. A refused set changes nothing but the counters; the last good snapshot stays.
 *
 * Sources are ranked appconfig > agent > file > baked. The snapshot in force comes from the best
 * source that has produced a good one: a better source's good set replaces a worse source's
 * (a baked start switches as soon as AppConfig answers); a worse source is never swapped in
 * over a better one, even while the better one is unreachable (its last good stays in force).
 */
import { ConfigError } from '../../validation/index.js';
import { createCompileCache } from '../documents/index.js';
import type { ConfigProvider, ConfigSnapshot, ConfigSource, ProviderStatus } from '../snapshot.js';
import { BAKED_VERSION, snapshotOf, type BakedConfig } from './baked.js';
import { PROFILES, type DocumentSource, type ProfileName, type RawDocument, type SourceSink } from './source.js';

const RANK: Readonly<Record<ConfigSource, number>> = { appconfig: 0, agent: 1, file: 2, baked: 3 };

/** What the provider logs through (a pino logger fits). */
export interface ProviderLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ProviderCoreOptions {
  readonly sources: readonly DocumentSource[];
  readonly baked: BakedConfig;
  /** How long `start` waits for a source before running on the baked rules. */
  readonly startTimeoutMs: number;
  readonly logger: ProviderLogger;
  readonly now: () => number;
}

/** One line for status and logs: the first problem, and how many more there were. */
function oneLine(err: unknown): string {
  if (err instanceof ConfigError) {
    const [first] = err.message.split('\n');
    return err.issues.length > 1 ? `${first} (and ${err.issues.length - 1} more)` : (first ?? 'refused');
  }
  return err instanceof Error ? err.message : String(err);
}

export class RuntimeConfigProvider implements ConfigProvider {
  private snapshot: ConfigSnapshot | undefined;
  private refused = 0;
  private lastError: string | null = null;
  private readonly listeners = new Set<(snapshot: ConfigSnapshot) => void>();
  private readonly received = new Map<DocumentSource, Map<ProfileName, RawDocument>>();
  private started: Promise<void> | undefined;
  private firstSwap: (() => void) | undefined;
  private closed = false;
  /** A flags-only change reuses the tier rule set compiled for the same rules and overrides. */
  private readonly compiled = createCompileCache();

  constructor(private readonly options: ProviderCoreOptions) {}

  current(): ConfigSnapshot | undefined {
    return this.snapshot;
  }

  status(): ProviderStatus {
    const s = this.snapshot;
    return {
      version: s?.version ?? null,
      source: s?.source ?? null,
      ageMs: s === undefined ? null : Math.max(0, this.options.now() - s.loadedAt),
      lastError: this.lastError,
      refused: this.refused,
    };
  }

  subscribe(listener: (snapshot: ConfigSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  private async run(): Promise<void> {
    const { sources, startTimeoutMs, logger } = this.options;
    const swapped = new Promise<void>((resolve) => (this.firstSwap = resolve));
    for (const source of sources) {
      this.received.set(source, new Map());
      source.start(this.sinkFor(source));
    }
    if (sources.length > 0 && this.snapshot === undefined) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, startTimeoutMs)));
      await Promise.race([swapped, timeout]);
      clearTimeout(timer);
    }
    if (this.snapshot === undefined && !this.closed) {
      const { baked } = this.options;
      this.swap(snapshotOf(baked, baked.documents, { version: BAKED_VERSION, source: 'baked', loadedAt: this.options.now() }));
      const tried = sources.map((s) => s.kind).join(', ');
      logger.warn(
        { source: 'baked', lastError: this.lastError },
        sources.length === 0 ? 'no configuration source configured: running on the rules baked into the package' : `no configuration from ${tried} within ${startTimeoutMs} ms: running on the rules baked into the package until one answers`,
      );
    }
  }

  private sinkFor(source: DocumentSource): SourceSink {
    return {
      documents: (batch) => this.receive(source, batch),
      failure: (error) => {
        if (this.closed) return;
        this.lastError = `${source.kind}: ${oneLine(error)}`;
        this.options.logger.warn({ source: source.kind, err: this.lastError }, 'configuration source failed; keeping the configuration in force and retrying');
      },
    };
  }

  private receive(source: DocumentSource, batch: readonly RawDocument[]): void {
    if (this.closed) return;
    const docs = this.received.get(source) as Map<ProfileName, RawDocument>;
    let changed = false;
    for (const d of batch) {
      const before = docs.get(d.profile);
      if (before !== undefined && before.text === d.text && before.label === d.label) continue;
      docs.set(d.profile, d);
      changed = true;
    }
    if (!changed || PROFILES.some((p) => !docs.has(p))) return;
    // A worse source never replaces a better one's configuration.
    if (this.snapshot !== undefined && RANK[source.kind] > RANK[this.snapshot.source]) return;
    const set = PROFILES.map((p) => docs.get(p) as RawDocument);
    const version = set.map((d) => `${d.profile}:${d.label}`).join(' ');
    let next: ConfigSnapshot;
    try {
      next = snapshotOf(this.options.baked, set, { version, source: source.kind, loadedAt: this.options.now() }, this.compiled);
    } catch (err) {
      // Anything that stops a build refuses the set; a source callback must never throw.
      this.refused++;
      this.lastError = oneLine(err);
      const issues = err instanceof ConfigError ? err.issues : [];
      this.options.logger.error({ source: source.kind, version, issues }, `configuration refused, keeping ${this.snapshot?.version ?? 'none'}: ${this.lastError}`);
      return;
    }
    this.swap(next);
  }

  private swap(next: ConfigSnapshot): void {
    const before = this.snapshot;
    // The swap itself: readers holding `before` finish with it; the next current() sees `next`.
    this.snapshot = next;
    if (before !== undefined && before.source !== next.source) {
      this.options.logger.info({ from: before.source, to: next.source, version: next.version }, `configuration source switched from ${before.source} to ${next.source}`);
    } else {
      this.options.logger.info({ source: next.source, version: next.version }, 'configuration in force');
    }
    this.firstSwap?.();
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.options.logger.error({ err: oneLine(err) }, 'configuration listener threw');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.firstSwap?.();
    this.listeners.clear();
    await Promise.all(this.options.sources.map((s) => s.close()));
  }
}

/** A provider that serves one snapshot and never changes (tests, tools). */
export function staticProvider(snapshot: ConfigSnapshot): ConfigProvider {
  return {
    current: () => snapshot,
    status: () => ({ version: snapshot.version, source: snapshot.source, ageMs: Math.max(0, Date.now() - snapshot.loadedAt), lastError: null, refused: 0 }),
    subscribe: () => () => undefined,
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
