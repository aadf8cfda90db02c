/**
 * Where token signing keys come from: a key file (`--key-file`) or the `PRIO_TOKEN_KEYS`
 * environment variable, both in the text format `parseKeySpec` documents
 * (`kid:base64secret[,kid:base64secret...]`, first entry current). Keys are never compiled
 * into the program; the one exception is the DEVELOPMENT key below, which a caller must ask
 * for explicitly and which is public by design, so tokens signed with it carry a kid that no
 * real keyring holds.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Keyring, parseKeySpec } from '../tokens/index.js';
import { ConfigError } from '../validation/index.js';
import { FileReadError } from './index.js';

export const TOKEN_KEYS_ENV = 'PRIO_TOKEN_KEYS';
export const DEVELOPMENT_TOKEN_KID = 'dev-insecure';

/**
 * A keyring whose only key is derived from a public phrase: for demos and local runs only.
 * Anyone can forge tokens under it, which is why its kid says so.
 */
export function developmentTokenKeyring(): Keyring {
  const secret = createHash('sha256').update('prio development token key: PUBLIC, never use it to sign real sessions').digest();
  return new Keyring([{ kid: DEVELOPMENT_TOKEN_KID, secret }]);
}

export type TokenKeySource = 'key-file' | 'env' | 'development';

export interface LoadedKeyring {
  readonly keyring: Keyring;
  readonly source: TokenKeySource;
  /** Human description of where the keys came from, for stderr. */
  readonly origin: string;
}

export interface TokenKeyOptions {
  /** A key file; wins over the environment. */
  readonly keyFile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Fall back to {@link developmentTokenKeyring} when no keys are configured (demos only). */
  readonly allowDevelopmentKey?: boolean;
}

/**
 * Loads the keyring from the key file, else `PRIO_TOKEN_KEYS`, else (only when allowed) the
 * development key. Unreadable file → {@link FileReadError}; bad content or no keys at all →
 * {@link ConfigError} naming the file (or the variable) and the entry.
 */
export function loadTokenKeyring(options: TokenKeyOptions = {}): LoadedKeyring {
  const env = options.env ?? process.env;
  if (options.keyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.keyFile, 'utf8');
    } catch (err) {
      throw new FileReadError(options.keyFile, err);
    }
    return { keyring: parseKeySpec(text, options.keyFile), source: 'key-file', origin: `key file ${options.keyFile}` };
  }
  const spec = env[TOKEN_KEYS_ENV];
  if (spec !== undefined && spec.trim() !== '') {
    return { keyring: parseKeySpec(spec, TOKEN_KEYS_ENV), source: 'env', origin: `$${TOKEN_KEYS_ENV}` };
  }
  if (options.allowDevelopmentKey === true) {
    return { keyring: developmentTokenKeyring(), source: 'development', origin: `the built-in DEVELOPMENT key (kid ${DEVELOPMENT_TOKEN_KID})` };
  }
  throw new ConfigError([
    { file: TOKEN_KEYS_ENV, pointer: '', message: `no token keys: set ${TOKEN_KEYS_ENV}=kid:base64secret[,...] or pass a key file` },
  ]);
}
