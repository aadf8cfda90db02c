/**
 * Session token throughput: verify+decode and encode+sign per second, against a bare
 * node:crypto HMAC-SHA256 over the very same signing inputs (the ceiling: a token reader can
 * not verify faster than it can compute the MAC).
 *
 * Every figure comes from this one process: the three loops run interleaved in 25 ms slices on
 * the same pool of tokens, for several rounds, and the median round is reported, which damps
 * noise from other work on the machine. `--seconds S` sets the time per loop per round
 * (default 1), `--rounds R` the number of rounds (default 5).
 */
import { createHmac } from 'node:crypto';
import { loadDomain } from '../src/config/index.js';
import { createTokenReader, createTokenWriter, Keyring, type SessionToIssue } from '../src/tokens/index.js';
import type { BenchSuite } from './harness.js';

const POOL = 1024;
const BATCH = 200;

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
}

interface Loop {
  readonly op: (i: number) => unknown;
  ops: number;
  ms: number;
}

/**
 * Runs the loops in alternating slices of ~`sliceMs` until `seconds` have passed, so a burst of
 * other work on the machine hits every loop alike and their ratio stays meaningful. Returns
 * each loop's operations per second over its own accumulated time.
 */
function measureInterleaved(seconds: number, sliceMs: number, ops: readonly ((i: number) => unknown)[]): number[] {
  const loops: Loop[] = ops.map((op) => ({ op, ops: 0, ms: 0 }));
  let sink = 0;
  const end = performance.now() + seconds * 1000 * loops.length;
  while (performance.now() < end) {
    for (const loop of loops) {
      const start = performance.now();
      let now = start;
      while (now - start < sliceMs) {
        for (let i = 0; i < BATCH; i++) if (loop.op(loop.ops + i) !== undefined) sink++;
        loop.ops += BATCH;
        now = performance.now();
      }
      loop.ms += now - start;
    }
  }
  if (sink < 0) throw new Error('unreachable: keeps the results alive');
  return loops.map((l) => l.ops / (l.ms / 1000));
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export const suite: BenchSuite = async ({ args, log }) => {
  const seconds = option(args, '--seconds', 1);
  const rounds = option(args, '--rounds', 5);
  const domain = loadDomain();
  // A fixed, non-secret benchmark key: only throughput is measured here.
  const secret = Buffer.alloc(32, 0x5a);
  const keyring = new Keyring([{ kid: 'bench1', secret }]);
  const key = keyring.signingKey();
  const writer = createTokenWriter({ domain, keyring, mode: 'v2' });
  const reader = createTokenReader({ domain, keyring, mode: 'dual' });

  const issuedAt = Date.UTC(2026, 0, 1);
  const sessions: SessionToIssue[] = Array.from({ length: POOL }, (_, i) => ({
    sessionId: `sess-${i.toString(36).padStart(8, '0')}-${(i * 7919).toString(16)}`,
    accountId: String(100_000_000_000 + i * 37),
    classification: domain.catalog.classifications[i % domain.catalog.classifications.length] as string,
    tier: domain.scale.tiers[i % domain.scale.tiers.length] as SessionToIssue['tier'],
    issuedAt,
    ttlMs: 3_600_000,
  }));
  const tokens = sessions.map((s) => writer.issue(s));
  const signingInputs = tokens.map((t) => t.slice(0, t.lastIndexOf('.')));
  const now = issuedAt + 1;

  // Agreement on the whole pool before timing: the reader accepts every token, and the bare
  // HMAC over the same bytes reproduces every signature, so both loops do the same work.
  tokens.forEach((t, i) => {
    const r = reader.read(t, now);
    if (!r.ok || r.tier !== sessions[i]?.tier) throw new Error(`reader disagrees on token ${i}: ${r.ok ? r.tier.name : r.reason}`);
    const bare = createHmac('sha256', key).update(signingInputs[i] as string, 'utf8').digest('base64url');
    if (t.slice(t.lastIndexOf('.') + 1) !== bare) throw new Error(`bare HMAC disagrees on token ${i}`);
  });
  const avgChars = Math.round(tokens.reduce((n, t) => n + t.length, 0) / POOL);
  log(`tokens: ${POOL} distinct v2 tokens, ${avgChars} characters on average; ${rounds} rounds x ${seconds}s per loop`);

  const verify: number[] = [];
  const encode: number[] = [];
  const hmac: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const [h, v, e] = measureInterleaved(seconds, 25, [
      (i) => createHmac('sha256', key).update(signingInputs[i & (POOL - 1)] as string, 'utf8').digest(),
      (i) => (reader.read(tokens[i & (POOL - 1)] as string, now).ok ? 1 : undefined),
      (i) => writer.issue(sessions[i & (POOL - 1)] as SessionToIssue),
    ]) as [number, number, number];
    hmac.push(h);
    verify.push(v);
    encode.push(e);
    log(`round ${r + 1}: hmac ${Math.round(h)}/s, verify+decode ${Math.round(v)}/s, encode+sign ${Math.round(e)}/s`);
  }
  const verifyRate = median(verify);
  const encodeRate = median(encode);
  const hmacRate = median(hmac);
  // The ratio is taken per round (both loops saw the same machine) and then the median.
  const share = median(verify.map((v, r) => v / (hmac[r] as number)));
  return {
    suite: 'tokens',
    tokenChars: avgChars,
    results: [
      { name: 'prio', operation: 'verify+decode', opsPerSec: verifyRate, rounds: verify },
      { name: 'prio:encode+sign', operation: 'encode+sign', opsPerSec: encodeRate, rounds: encode },
      { name: 'ceiling:node:crypto createHmac', operation: 'HMAC-SHA256 over the same signing input', opsPerSec: hmacRate, rounds: hmac },
    ],
    targets: [
      { target: 'verify+decode >= 500,000/s on one core', measured: `${Math.round(verifyRate).toLocaleString('en-US')}/s`, met: verifyRate >= 500_000 },
      { target: 'verify+decode >= 50% of the bare HMAC rate', measured: `${(share * 100).toFixed(1)}%`, met: share >= 0.5 },
    ],
  };
};
