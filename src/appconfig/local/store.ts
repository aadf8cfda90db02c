/**
 * Where the local endpoint keeps its state: in memory, or one JSON document under --state-dir,
 * rewritten whole after each change through a temporary file and a rename, so a crash leaves
 * either the old or the new document and a restarted endpoint picks up where it stopped.
 * Control-plane changes are rare (a handful per deployment); polling never writes.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { emptyState, type LocalState } from './model.js';

export interface StateStore {
  /** Where the state lives, for messages (`memory` or the file's path). */
  readonly location: string;
  load(): LocalState;
  save(state: LocalState): void;
}

/** Thrown when the state file cannot be read, parsed or written; the message names the path. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export function memoryStore(): StateStore {
  let saved: string | undefined;
  return {
    location: 'memory',
    load: () => (saved === undefined ? emptyState() : (JSON.parse(saved) as LocalState)),
    save: (state) => {
      saved = JSON.stringify(state);
    },
  };
}

export const STATE_FILE = 'appconfig-local.json';

export function fileStore(dir: string): StateStore {
  const file = join(dir, STATE_FILE);
  return {
    location: file,
    load() {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
        throw new StateFileError(file, err);
      }
      try {
        const parsed = JSON.parse(text) as Partial<LocalState>;
        if (parsed.format !== 1) throw new Error(`unknown state format ${JSON.stringify(parsed.format)} (expected 1)`);
        return { ...emptyState(), ...parsed } as LocalState;
      } catch (err) {
        throw new StateFileError(file, err);
      }
    },
    save(state) {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        mkdirSync(dir, { recursive: true });
        const fd = openSync(tmp, 'w');
        try {
          writeSync(fd, JSON.stringify(state));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, file);
      } catch (err) {
        throw new StateFileError(file, err);
      }
    },
  };
}
