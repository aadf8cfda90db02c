/**
 * The I/O edge for configuration: reads JSON files, reports parse errors with file and
 * position, and locates the configuration shipped inside the package (the embedded defaults).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCatalog, parsePriorities, type Domain } from '../catalog/index.js';
import { ConfigError } from '../validation/index.js';

/** Root of the installed package (where rules/, shadow/ and migrations/ live). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_RULES_DIR = join(PACKAGE_ROOT, 'rules');

/** Thrown when a file cannot be read at all (missing, unreadable): a usage / I/O error, exit 2. */
export class FileReadError extends Error {
  override readonly name = 'FileReadError';
  constructor(readonly file: string, cause: unknown) {
    super(`${file}: cannot read: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Reads and parses a JSON file. Unreadable → {@link FileReadError}; malformed JSON → {@link ConfigError} at pointer ''. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
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
