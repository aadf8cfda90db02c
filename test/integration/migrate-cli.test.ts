import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonFile } from '../../src/config/index.js';
import { runCli as prio } from '../support/cli.js';
import { DEFINITION_FILE } from '../support/migration/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'prio-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shipped definition with bake times of zero, so a test can walk it without waiting. */
function fastDefinition(id: string): string {
  const doc = readJsonFile(DEFINITION_FILE) as { id: string; steps: { bakeMinutes: number }[] };
  const file = join(dir, `${id}.json`);
  writeFileSync(file, JSON.stringify({ ...doc, $schema: undefined, id, steps: doc.steps.map((s) => ({ ...s, bakeMinutes: 0 })) }));
  return file;
}

const report = join(dir, 'report.json');
writeFileSync(
  report,
  JSON.stringify({
    totals: { read: 100, quarantined: 0, compared: 100 },
    outcomes: { same: 97, changed: 3, baselineError: 0, candidateError: 0, bothError: 0 },
    verdict: { passed: true, failures: [] },
  }),
);

const alarmsFor = (stage: string) => ['--alarm', `${stage}-dispatch-errors=OK`, '--alarm', `${stage}-token-rejects=OK`, '--alarm', `${stage}-p99-latency=OK`];

function walk(store: string[]) {
  return async () => {
    const id = `cli-${randomUUID().slice(0, 8)}`;
    const m = (...args: string[]) => prio('migrate', ...args, ...store);

    expect((await m('plan', fastDefinition(id))).code).toBe(0);
    expect((await m('plan', fastDefinition(id))).err).toContain('refused (plan-once)');
    const started = await m('advance', id);
    expect(started.out).toContain('started beta-dual-read in beta');

    const early = await m('advance', id);
    expect(early.code).toBe(1);
    expect(early.err).toContain('refused (passing-gate): a step may not complete without a passing gate attached');

    expect((await m('evidence', id, '--report', report, ...alarmsFor('beta'))).code).toBe(0);
    expect((await m('advance', id)).out).toContain('completed beta-dual-read');
    expect((await m('advance', id)).out).toContain('started preprod-dual-read');

    const phase2 = await m('start', id, 'beta-new-writers', '--json');
    expect(phase2.code).toBe(1);
    const refusal = JSON.parse(phase2.out) as { invariant: string; message: string };
    expect(refusal.invariant).toBe('phase-order');
    expect(refusal.message).toContain('phase 2 may not start in any stage until phase 1 has completed in every stage');

    // Retrying a command with the same id appends nothing new.
    const once = await m('evidence', id, '--report', report, ...alarmsFor('preprod'), '--command-id', 'ev-1', '--json');
    const twice = await m('evidence', id, '--report', report, ...alarmsFor('preprod'), '--command-id', 'ev-1', '--json');
    expect(JSON.parse(once.out)).toMatchObject({ replayed: false, version: 6 });
    expect(JSON.parse(twice.out)).toMatchObject({ replayed: true, version: 6 });
    expect((await m('advance', id)).code).toBe(0);

    const status = JSON.parse((await m('status', id, '--json')).out) as { stages: { stage: string; phases: { status: string }[] }[]; next: { step: string } };
    expect(status.stages.map((s) => s.phases[0]?.status)).toEqual(['completed', 'completed', 'pending']);
    expect(status.next.step).toBe('prod-dual-read');
    const human = await m('status', id);
    expect(human.out).toMatch(/preprod\s+completed\s+pending\s+dual\s+dual\s+v1/);

    const rolled = await m('rollback', id, '--to', 'beta-dual-read', '--reason', 'token rejects in preprod');
    expect(rolled.out).toContain('rolled back to beta-dual-read, undoing preprod-dual-read');
    const after = JSON.parse((await m('status', id, '--json')).out) as { stages: { liveFlags: { tokenReadMode: string } }[] };
    expect(after.stages.map((s) => s.liveFlags.tokenReadMode)).toEqual(['dual', 'dual', 'v1']);

    const history = JSON.parse((await m('history', id, '--json')).out) as { history: { type: string; reason?: string; actor: string }[] };
    expect(history.history.map((h) => h.type)).toEqual([
      'MigrationPlanned',
      'StepStarted',
      'EvidenceAttached',
      'StepCompleted',
      'StepStarted',
      'EvidenceAttached',
      'StepCompleted',
      'RolledBack',
    ]);
    expect(history.history.at(-1)?.reason).toBe('token rejects in preprod');
    const future = await m('history', id, '--at', '2999-01-01T00:00:00Z');
    expect(future.out).toContain('as of 2999-01-01T00:00:00.000Z');
    const past = JSON.parse((await m('history', id, '--at', '2000-01-01T00:00:00Z', '--json')).out) as { history: unknown[]; state: unknown };
    expect(past).toMatchObject({ history: [], state: null });

    expect((await m('abort', id, '--reason', 'replanning')).code).toBe(0);
    expect((await m('resume', id)).err).toContain('refused (finished-is-final): nothing happens to an aborted migration');
    expect((await m('status')).out).toContain(id);
  };
}

describe('prio migrate', () => {
  it('walks, refuses, rolls back and audits a migration on the file store', walk(['--store-dir', join(dir, 'store')]), 60_000);

  it('does the same on DynamoDB Local', async () => {
    const endpoint = process.env.DYNAMODB_ENDPOINT ?? '';
    const table = `cli-${randomUUID().slice(0, 8)}`;
    const missing = await prio('migrate', 'status', '--store', 'dynamodb', '--table', table, '--endpoint', endpoint);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`prio store init --dynamodb ${table}`);
    expect((await prio('store', 'init', '--dynamodb', table, '--endpoint', endpoint)).out).toContain(`created table ${table}`);
    await walk(['--store', 'dynamodb', '--table', table, '--endpoint', endpoint])();
  }, 60_000);

  it('reports a torn stream with its position, refuses to use it, and repairs it only when asked', async () => {
    const storeDir = join(dir, 'torn-store');
    const id = `torn-${randomUUID().slice(0, 8)}`;
    expect((await prio('migrate', 'plan', fastDefinition(id), '--store-dir', storeDir)).code).toBe(0);
    appendFileSync(join(storeDir, 'streams', `migration-${id}.ndjson`), '{"event":{"version":2,');
    const verify = await prio('store', 'verify', '--store-dir', storeDir);
    expect(verify.code).toBe(1);
    expect(verify.out).toMatch(new RegExp(`migration-${id}\\s+DAMAGED\\s+line 2, byte \\d+: torn write`));
    const status = await prio('migrate', 'status', id, '--store-dir', storeDir);
    expect(status.code).toBe(1);
    expect(status.err).toContain('line 2');
    expect(status.err).toContain('nothing was changed');
    const repaired = await prio('store', 'repair', `migration-${id}`, '--store-dir', storeDir);
    expect(repaired.out).toContain('torn last line moved to');
    expect((await prio('store', 'verify', '--store-dir', storeDir)).code).toBe(0);
    expect((await prio('migrate', 'advance', id, '--store-dir', storeDir)).code).toBe(0);
  });

  it('reports a bad definition with file and pointer, and bad options as usage errors', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ id: 'x', title: 't', stages: [{ name: 'beta' }], phases: [], initialFlags: {}, steps: [] }));
    const r = await prio('migrate', 'plan', bad, '--store-dir', join(dir, 'store'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}#/phases: must NOT have fewer than 1 items`);
    expect((await prio('migrate', 'history', 'x', '--at', 'yesterday', '--store-dir', join(dir, 'store'))).code).toBe(2);
    const drive = await prio('migrate', 'drive', 'x', '--tick', '3000', '--lease-ttl', '3000', '--store-dir', join(dir, 'store'));
    expect(drive.code).toBe(2);
    expect(drive.err).toContain('--tick below --lease-ttl');
  });

  it('withdraws the live step before its flags are deployed, with its reason, and pauses when asked', async () => {
    const id = `wd-${randomUUID().slice(0, 8)}`;
    const m = (...args: string[]) => prio('migrate', ...args, '--store-dir', join(dir, 'store'));
    expect((await m('plan', fastDefinition(id))).code).toBe(0);
    const nothingLive = await m('withdraw', id, '--reason', 'no step yet');
    expect(nothingLive.code).toBe(1);
    expect(nothingLive.err).toContain('refused (withdraw-live-step): only the live step can be withdrawn, and no step is live now');
    expect((await m('advance', id)).code).toBe(0);
    expect((await m('withdraw', id)).code).toBe(2);
    const other = await m('withdraw', id, '--step', 'preprod-dual-read', '--reason', 'wrong step');
    expect(other.err).toContain('preprod-dual-read is not live (beta-dual-read is)');

    const withdrawn = await m('withdraw', id, '--reason', 'gate replay used the wrong log', '--pause');
    expect(withdrawn.code).toBe(0);
    expect(withdrawn.out).toContain('withdrew beta-dual-read before deploying it; beta stays on read v1/legacy, write v1');
    const status = JSON.parse((await m('status', id, '--json')).out) as { status: string; stages: { stage: string; phases: { status: string }[] }[] };
    expect(status.status).toBe('paused');
    expect(status.stages.map((s) => s.phases[0]?.status)).toEqual(['pending', 'pending', 'pending']);
    const history = JSON.parse((await m('history', id, '--json')).out) as { history: { type: string; reason?: string }[] };
    expect(history.history.slice(-2)).toMatchObject([
      { type: 'StepWithdrawn', reason: 'gate replay used the wrong log' },
      { type: 'MigrationPaused', reason: 'gate replay used the wrong log' },
    ]);
    expect((await m('advance', id)).err).toContain('refused (paused-holds)');
    expect((await m('resume', id)).code).toBe(0);
    expect((await m('advance', id)).out).toContain('started beta-dual-read in beta');
  });
});
