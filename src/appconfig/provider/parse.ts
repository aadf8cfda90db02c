import { ConfigError } from '../../validation/index.js';

/** JSON text → value; malformed text is a ConfigError at the document's root, like any other refusal. */
export function parseDocument(text: string | null, file: string): unknown {
  if (text === null) throw new ConfigError([{ file, pointer: '', message: 'no document' }]);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError([{ file, pointer: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
}
