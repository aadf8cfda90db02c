import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_TOKEN_KID, FileReadError, loadTokenKeyring, TOKEN_KEYS_ENV } from '../../src/config/index.js';
import { parseKeySpec } from '../../src/tokens/index.js';
import { configIssues } from '../support/config-issues.js';

const secretA = Buffer.alloc(32, 1).toString('base64');
const secretB = Buffer.alloc(32, 2).toString('base64url');


describe('key specification', () => {
  it('reads kid:secret entries, first one current, base64 or base64url', () => {
    const ring = parseKeySpec(`new:${secretB}, old:${secretA}`, 'env');
    expect(ring.currentKid).toBe('new');
    expect(ring.kids).toEqual(['new', 'old']);
  });

  it('accepts one entry per line with comments', () => {
    const ring = parseKeySpec(`# rotated 2026-11\nk2:${secretB}   # signing\n\nk1:${secretA}\n`, 'keys.txt');
    expect(ring.kids).toEqual(['k2', 'k1']);
  });

  it('reports each bad entry with its source and position', () => {
    expect(configIssues(() => parseKeySpec(`good:${secretA},nocolon,bad:***`, 'PRIO_TOKEN_KEYS'))).toEqual([
      { file: 'PRIO_TOKEN_KEYS', pointer: '/1', message: 'expected kid:secret (secret in base64)' },
      { file: 'PRIO_TOKEN_KEYS', pointer: '/2', message: 'secret for kid "bad" is not base64' },
    ]);
    expect(configIssues(() => parseKeySpec(`a:${secretA},short:${Buffer.alloc(8).toString('base64')}`, 'f'))).toEqual([
      { file: 'f', pointer: '/1', message: 'secret for kid "short" is 8 bytes; at least 32 are required' },
    ]);
    expect(configIssues(() => parseKeySpec(' # nothing\n', 'f'))[0]?.message).toMatch(/no keys/);
  });
});

describe('loadTokenKeyring', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prio-keys-'));

  it('prefers the key file, then the environment', () => {
    const file = join(dir, 'keys');
    writeFileSync(file, `fromfile:${secretA}\n`);
    const env = { [TOKEN_KEYS_ENV]: `fromenv:${secretB}` };
    expect(loadTokenKeyring({ keyFile: file, env })).toMatchObject({ source: 'key-file' });
    expect(loadTokenKeyring({ keyFile: file, env }).keyring.currentKid).toBe('fromfile');
    expect(loadTokenKeyring({ env }).keyring.currentKid).toBe('fromenv');
  });

  it('falls back to the development key only when asked', () => {
    expect(loadTokenKeyring({ env: {}, allowDevelopmentKey: true })).toMatchObject({ source: 'development' });
    expect(loadTokenKeyring({ env: {}, allowDevelopmentKey: true }).keyring.currentKid).toBe(DEVELOPMENT_TOKEN_KID);
    expect(configIssues(() => loadTokenKeyring({ env: { [TOKEN_KEYS_ENV]: ' ' } }))[0]).toMatchObject({ file: TOKEN_KEYS_ENV });
  });

  it('an unreadable key file is a FileReadError; bad content names the file', () => {
    expect(() => loadTokenKeyring({ keyFile: join(dir, 'missing') })).toThrow(FileReadError);
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'k:not base64!');
    expect(configIssues(() => loadTokenKeyring({ keyFile: bad }))[0]).toMatchObject({ file: bad, pointer: '/0' });
  });
});
