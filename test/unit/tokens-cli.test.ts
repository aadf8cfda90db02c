import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/** A token is passed on as printed, so the final newline goes. */
async function prio(...args: string[]) {
  const { code, out, err } = await runCli(...args);
  return { code, out: out.replace(/\n$/, ''), err: err.replace(/\n$/, '') };
}

const session = JSON.stringify({ sessionId: 's-1', accountId: '123456789012', classification: 'ON_DEMAND', tier: 'P75', issuedAt: '2026-01-01T00:00:00Z' });
const during = '2026-01-01T00:30:00Z';
const keys = `cli1:${Buffer.alloc(32, 7).toString('base64')}`;

afterEach(() => {
  delete process.env.PRIO_TOKEN_KEYS;
});

describe('prio token', () => {
  it('encode then decode round-trips, in both versions, to the same tier', async () => {
    process.env.PRIO_TOKEN_KEYS = keys;
    for (const mode of ['legacy', 'v2']) {
      const enc = await prio('token', 'encode', '--mode', mode, session);
      expect(enc.code).toBe(0);
      expect(enc.err).toBe('');
      expect(enc.out).toMatch(new RegExp(`^v${mode === 'legacy' ? 1 : 2}\\.cli1\\.`));
      const dec = await prio('token', 'decode', '--json', '--now', during, enc.out);
      expect(dec.code).toBe(0);
      expect(JSON.parse(dec.out)).toMatchObject({ verdict: 'valid', tier: 'P75', legacyLevel: 1, claims: { sessionId: 's-1', issuedAt: Date.parse('2026-01-01T00:00:00Z') } });
    }
  });

  it('decode exits 1 with the reason for a rejected token, and shows no claims', async () => {
    process.env.PRIO_TOKEN_KEYS = keys;
    const { out: token } = await prio('token', 'encode', session);
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BA' : 'AA');
    const bad = await prio('token', 'decode', '--json', '--now', during, tampered);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toEqual({ verdict: 'rejected', reason: 'BAD_SIGNATURE', message: expect.any(String) });
    const legacy = await prio('token', 'decode', '--mode', 'legacy', '--now', during, token);
    expect(legacy.code).toBe(1);
    expect(legacy.out).toMatch(/^verdict: REJECTED UNSUPPORTED_VERSION/);
    const expired = await prio('token', 'decode', '--now', '2026-01-01T01:00:00Z', token);
    expect(expired.out).toMatch(/REJECTED EXPIRED/);
  });

  it('uses the development key only when no keys are configured, and says so on stderr', async () => {
    const dev = await prio('token', 'encode', session);
    expect(dev.code).toBe(0);
    expect(dev.out).toMatch(/^v2\.dev-insecure\./);
    expect(dev.err).toMatch(/DEVELOPMENT key/);
    process.env.PRIO_TOKEN_KEYS = keys;
    const strict = await prio('token', 'decode', '--now', during, dev.out);
    expect(strict.code).toBe(1);
    expect(strict.out).toMatch(/UNKNOWN_KID/);
  });

  it('reads keys from --key-file, and reports a bad key file as a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prio-cli-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `# current first\n${keys}\n`);
    const enc = await prio('token', 'encode', '--key-file', file, session);
    expect(enc.out).toMatch(/^v2\.cli1\./);
    writeFileSync(file, 'cli1:tooshort');
    const bad = await prio('token', 'encode', '--key-file', file, session);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${file}#/0: secret for kid "cli1" is 6 bytes`);
  });

  it('encode refuses sessions it cannot encode with exit 1, and bad JSON with exit 2', async () => {
    process.env.PRIO_TOKEN_KEYS = keys;
    const unknown = await prio('token', 'encode', JSON.stringify({ ...JSON.parse(session), classification: 'GOLD' }));
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/UNKNOWN_CLASSIFICATION/);
    const raw = await prio('token', 'encode', '--json', JSON.stringify({ ...JSON.parse(session), tier: undefined, rawPriority: 130 }));
    expect(JSON.parse(raw.out)).toMatchObject({ version: 2, kid: 'cli1', tier: 'P100' });
    expect((await prio('token', 'encode', '{nope')).code).toBe(2);
  });

  it('normalize prints one value, rejects values outside 0-150, and prints the whole table', async () => {
    expect(JSON.parse((await prio('token', 'normalize', '--json', '83')).out)).toEqual({ raw: 83, scheme: 'p-scale', tier: 'P90', tierValue: 90, legacyLevel: 0 });
    for (const v of ['151', '-1', '2.5', 'abc', '']) {
      const r = await prio('token', 'normalize', v);
      expect(r.code, v).toBe(1);
      expect(r.err).toMatch(/BAD_PRIORITY/);
    }
    const table = await prio('token', 'normalize', '--table', '--json');
    const doc = JSON.parse(table.out) as { forward: { raw: number; tier: string }[]; reverse: { tier: string }[] };
    expect(doc.forward).toHaveLength(151);
    expect(doc.reverse.map((r) => r.tier)).toEqual(['P100', 'P90', 'P75', 'P50', 'P25', 'P10', 'P5']);
    const human = await prio('token', 'normalize', '--table');
    expect(human.out.split('\n').filter((l) => /^\s*\d+\s+(legacy|p-scale)/.test(l))).toHaveLength(151);
  });

  it('keygen prints a key the keyring accepts', async () => {
    const { out } = await prio('token', 'keygen', 'k2027');
    process.env.PRIO_TOKEN_KEYS = out;
    expect((await prio('token', 'encode', session)).out).toMatch(/^v2\.k2027\./);
    expect((await prio('token', 'keygen', 'bad kid')).code).toBe(2);
  });

  it('teaches with --help', async () => {
    const help = await prio('token', 'decode', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Example:/);
  });
});
