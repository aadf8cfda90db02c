/**
 * A watched local directory (development, rehearsals): `rules.json` (a tier rule set with a
 * version label), `flags.json` and optionally `overrides.json`. A path to a single file is read
 * as the rules document alone, with the packaged flags and no overrides.
 *
 * fs.watch reports changes quickly but not reliably everywhere (network file systems, editors
 * that replace files), so a poll re-reads the files too. Both only schedule a read after a quiet
 * period (`debounceMs`), so a file written in several chunks is read once it is whole; what is
 * handed over is only what differs from what was handed over before.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileReadError } from '../../config/index.js';
import { contentLabel, type DocumentSource, type ProfileName, type RawDocument, type SourceSink } from './source.js';

export interface FileSourceOptions {
  /** A directory with rules.json, flags.json and optionally overrides.json; or one rules file. */
  readonly path: string;
  /** How often the files are re-read whatever fs.watch says, in ms (default 1000). */
  readonly pollIntervalMs?: number;
  /** Quiet period after a change before reading, in ms (default 100). */
  readonly debounceMs?: number;
}

export const FILE_PROFILE_NAMES: Readonly<Record<ProfileName, string>> = { rules: 'rules.json', overrides: 'overrides.json', flags: 'flags.json' };

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class FileSource implements DocumentSource {
  readonly kind = 'file' as const;
  private sink: SourceSink | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly delivered = new Map<ProfileName, string | null>();
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private closed = false;

  /** `packagedFlags`: the flags used when the path is a single rules file or the directory has no flags.json. */
  constructor(
    private readonly options: FileSourceOptions,
    private readonly packagedFlags: RawDocument,
  ) {}

  start(sink: SourceSink): void {
    this.sink = sink;
    this.schedule(0);
    this.poll = setInterval(() => this.schedule(), this.options.pollIntervalMs ?? 1_000);
    this.poll.unref();
    void this.watchPath();
  }

  private async watchPath(): Promise<void> {
    // Watch the directory (for a single file, its parent): replacing a file by rename stays visible.
    let dir = this.options.path;
    try {
      if (!(await stat(dir)).isDirectory()) dir = dirname(dir);
    } catch {
      dir = dirname(dir);
    }
    if (this.closed) return;
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.schedule());
      // The poll carries on alone if the watcher dies.
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No fs.watch here (or no directory yet): the poll carries on alone.
    }
  }

  private schedule(delay = this.options.debounceMs ?? 100): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.read(), delay);
    this.debounce.unref();
  }

  private async read(): Promise<void> {
    if (this.reading !== undefined) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readOnce();
    try {
      await this.reading;
    } finally {
      this.reading = undefined;
    }
    if (this.readAgain && !this.closed) {
      this.readAgain = false;
      this.schedule();
    }
  }

  private async readOnce(): Promise<void> {
    const sink = this.sink as SourceSink;
    let docs: RawDocument[];
    try {
      docs = await this.readDocuments();
    } catch (err) {
      if (!this.closed) sink.failure(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const changed = docs.filter((d) => !this.delivered.has(d.profile) || this.delivered.get(d.profile) !== d.text);
    if (changed.length === 0 || this.closed) return;
    for (const d of changed) this.delivered.set(d.profile, d.text);
    sink.documents(changed);
  }

  private async readDocuments(): Promise<RawDocument[]> {
    const { path } = this.options;
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (err) {
      throw new FileReadError(path, err);
    }
    const rulesFile = isDir ? join(path, FILE_PROFILE_NAMES.rules) : path;
    const text = async (file: string, optional: boolean): Promise<string | null> => {
      try {
        return await readFile(file, 'utf8');
      } catch (err) {
        if (optional && isMissing(err)) return null;
        throw new FileReadError(file, err);
      }
    };
    const doc = (profile: ProfileName, file: string, t: string | null): RawDocument => ({ profile, file, text: t, label: t === null ? 'none' : contentLabel(t) });
    const rules = doc('rules', rulesFile, await text(rulesFile, false));
    if (!isDir) return [rules, doc('overrides', join(dirname(path), `(no overrides for ${basename(path)})`), null), this.packagedFlags];
    const overridesFile = join(path, FILE_PROFILE_NAMES.overrides);
    const flagsFile = join(path, FILE_PROFILE_NAMES.flags);
    const flagsText = await text(flagsFile, true);
    return [rules, doc('overrides', overridesFile, await text(overridesFile, true)), flagsText === null ? this.packagedFlags : doc('flags', flagsFile, flagsText)];
  }

  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    this.watcher?.close();
    return this.reading ?? Promise.resolve();
  }
}
