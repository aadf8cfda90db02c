/**
 * The I/O edge for configuration: reads JSON files, reports parse errors with file and
 * position, and locates the configuration shipped inside the package (the embedded defaults).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCatalog, parsePriorities, type Domain } from '../catalog/index.js';
import { ConfigError } from '../validation/index.js';

/**
 * Root of the installed package (where rules/, shadow/ and migrations/ live): the nearest
 * directory above this module holding a package.json. Searched rather than counted, because
 * this module runs both from src/config (tests) and from dist/src/config (the built CLI).
 */
export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..');
  }
}
export const DEFAULT_RULES_DIR = join(PACKAGE_ROOT, 'rules');

/** Thrown when a file cannot be read at all (missing, unreadable): a usage / I/O error, exit 2. */
export class FileReadError extends Error {
  override readonly name = 'FileReadError';
  constructor(readonly file: string, cause: unknown) {
    super(`${file}: cannot read: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Thrown when a file or directory cannot be written or created: an I/O error, exit 2. */
export class FileWriteError extends Error {
  override readonly name = 'FileWriteError';
  constructor(readonly file: string, what: string, cause: unknown) {
    super(`${file}: ${what}: ${describeIoCause(cause)}`, { cause });
  }
}

/** The cause of a Node I/O error in words, without the code prefix and the repeated path. */
export function describeIoCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const m = /^[A-Z]+: ([^,]+)/.exec(cause.message);
  return m?.[1] ?? cause.message;
}

/**
 * Creates `dir` and its missing parents, one level at a time: Node's recursive mkdir spins
 * forever on some paths (under /proc), and says "file already exists" where a file is in the
 * way. Throws {@link FileWriteError} naming the path and the cause.
 */
export function ensureDirectory(dir: string): void {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let isDirectory: boolean | undefined;
    try {
      isDirectory = statSync(at).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new FileWriteError(dir, 'cannot create directory', err);
    }
    if (isDirectory === true) break;
    if (isDirectory === false) {
      throw new FileWriteError(dir, 'cannot create directory', new Error(at === resolve(dir) ? 'not a directory (a file is in the way)' : `not a directory: ${at} is a file`));
    }
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new FileWriteError(dir, 'cannot create directory', err);
    }
  }
}

/**
 * Where a file the user named is: the path itself when it exists (relative to the current
 * directory), else the same relative path inside the package when the package ships it
 * (`rules/legacy.json`, `shadow/gates/default.json`, `migrations/001-….json`). So the README's
 * commands work from any directory, the way `prio demo` finds its packaged defaults. A file in
 * the current directory always wins over the packaged one.
 */
export function resolvePackaged(file: string): string {
  if (isAbsolute(file) || existsSync(file)) return file;
  const packaged = join(PACKAGE_ROOT, file);
  return existsSync(packaged) ? packaged : file;
}

/** Reads and parses a JSON file. Unreadable → {@link FileReadError}; malformed JSON → {@link ConfigError} at pointer ''. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolvePackaged(file), 'utf8');
  } catch (err) {
    throw new FileReadError(file, err);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError([{ file, pointer: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
}

/** Loads catalog.json and priorities.json from a rules directory (the packaged one by default). */
export function loadDomain(rulesDir: string = DEFAULT_RULES_DIR): Domain {
  const catalogFile = join(rulesDir, 'catalog.json');
  const prioritiesFile = join(rulesDir, 'priorities.json');
  const catalog = parseCatalog(readJsonFile(catalogFile), catalogFile);
  const scale = parsePriorities(readJsonFile(prioritiesFile), prioritiesFile, catalog);
  return { catalog, scale };
}
export { developmentTokenKeyring, loadTokenKeyring, DEVELOPMENT_TOKEN_KID, TOKEN_KEYS_ENV, type LoadedKeyring, type TokenKeyOptions, type TokenKeySource } from './token-keys.js';
export { lintRuleSetFile, loadRuleSet, type FileFindings } from './rule-set.js';
