/**
 * `npm run bench -- events [--json] [--appends N]`
 *
 * 1. Appends per second to DynamoDB Local through the store, against raw conditional PutItem
 *    calls of the very same items on the same client (target: at least 90% of raw).
 * 2. Appends per second to the file store (lock, head check, checksum, fsync), against a raw
 *    fsynced append of the same bytes with no lock or check.
 * 3. Rebuilding a 10,000-event migration stream from the file store: read, verify every
 *    checksum, parse, fold (target: under 100 ms), against bare JSON.parse of the lines.
 *
 * prio and the reference take turns operation by operation, so drift on a busy machine hits both alike.
 * DynamoDB Local is started here unless DYNAMODB_ENDPOINT names one.
 */
import { closeSync, constants, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbEventStore, FileEventStore, createEventTable, dynamoDbClient, toItem, type EventStore, type NewEvent } from '../src/eventstore/index.js';
import { decide, fold, rebuildMigration, streamOf, type MigrationCommand, type MigrationEvent, type MigrationState } from '../src/migration/index.js';
import { PACKAGE_ROOT, readJsonFile } from '../src/config/index.js';
import { parseMigrationDefinition } from '../src/migration/index.js';
import { startDynamoDbLocal } from '../test/support/dynamodb/local.js';
import type { BenchReport, BenchResult, BenchSuite } from './harness.js';

function argValue(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i === -1 ? undefined : Number(args[i + 1]);
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}

/** A small realistic event: evidence attached to a step (the most frequent event in a long migration). */
function sampleEvent(i: number): NewEvent {
  return {
    type: 'EvidenceAttached',
    data: {
      type: 'EvidenceAttached',
      actor: 'bench',
      at: new Date(1_767_600_000_000 + i * 1000).toISOString(),
      stepId: 'beta-dual-read',
      passed: true,
      failures: [],
      evidence: { source: `reports/${i}.json`, totals: { read: 1000, quarantined: 0, compared: 1000 }, outcomes: { same: 990, changed: 10, baselineError: 0, candidateError: 0, bothError: 0 }, verdict: { passed: true, failures: [] }, alarms: { 'beta-dispatch-errors': 'OK' } },
    },
    meta: { commandId: `bench-${i}`, recordedAt: new Date(1_767_600_000_000 + i * 1000).toISOString() },
  };
}

/**
 * Runs `prio` and `reference` one operation each in turn (the order flipping every pair), so
 * load from other processes and the store's growth hit both alike. Returns throughput from the
 * total time of each, and from the median latency (less sensitive to stalls on a busy machine).
 */
async function interleave(count: number, prio: (i: number) => Promise<void>, reference: (i: number) => Promise<void>) {
  const prioMs: number[] = [];
  const refMs: number[] = [];
  for (let i = 0; i < count; i += 1) {
    for (const which of i % 2 === 0 ? ['prio', 'ref'] : ['ref', 'prio']) {
      const t = performance.now();
      await (which === 'prio' ? prio : reference)(i);
      (which === 'prio' ? prioMs : refMs).push(performance.now() - t);
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    prio: (count / sum(prioMs)) * 1000,
    reference: (count / sum(refMs)) * 1000,
    prioMedianMs: median(prioMs),
    referenceMedianMs: median(refMs),
  };
}

type Interleaved = Awaited<ReturnType<typeof interleave>>;

/** Records both sides of an interleaved append case and its target: prio keeps 90% of the reference's rate. */
function recordAppendCase(
  results: BenchResult[],
  targets: { target: string; measured: string; met: boolean }[],
  measured: Interleaved,
  names: { readonly case: string; readonly reference: string; readonly target: string },
): void {
  results.push({ name: 'prio', case: names.case, opsPerSec: measured.prio, medianMs: measured.prioMedianMs });
  results.push({ name: names.reference, case: names.case, opsPerSec: measured.reference, medianMs: measured.referenceMedianMs });
  const ratio = measured.prio / measured.reference;
  targets.push({
    target: names.target,
    measured: `${(ratio * 100).toFixed(1)}% (${Math.round(measured.prio)} vs ${Math.round(measured.reference)} appends/s; median latency ${measured.prioMedianMs.toFixed(2)} vs ${measured.referenceMedianMs.toFixed(2)} ms)`,
    met: ratio >= 0.9,
  });
}

function median(xs: readonly number[]): number {
  return [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
}

/** Builds a valid 10,000-event migration by driving the decider (steps, evidence, pauses, rollbacks). */
export function migrationEvents(count: number): MigrationEvent[] {
  const file = join(PACKAGE_ROOT, 'migrations', '001-legacy-4-to-7-tier.json');
  const defined = parseMigrationDefinition(readJsonFile(file), file);
  const plan = { ...defined, id: 'bench-rebuild', steps: defined.steps.map((s) => ({ ...s, bakeMinutes: 0 })) };
  let state: MigrationState = fold([]);
  const events: MigrationEvent[] = [];
  let t = 1_767_600_000_000;
  const apply = (c: MigrationCommand) => {
    const d = decide(c, state);
    if (!d.ok) return;
    for (const e of d.events) if (events.length < count) events.push(e);
    state = fold(d.events, state);
  };
  apply({ type: 'plan', plan, actor: 'bench', at: new Date(t).toISOString() });
  while (events.length < count) {
    const at = new Date((t += 60_000)).toISOString();
    const live = plan.steps.find((s) => s.id === state.current);
    if (live !== undefined && (state.steps[live.id]?.evidence.length ?? 0) < 3) {
      apply({ type: 'attachEvidence', actor: 'ci', at, evidence: { source: 'r.json', totals: { read: 10, quarantined: 0, compared: 10 }, outcomes: { same: 10, changed: 0, baselineError: 0, candidateError: 0, bothError: 0 }, verdict: { passed: true, failures: [] }, alarms: Object.fromEntries(live.gate.alarms.map((a) => [a, 'OK'])) } });
    } else if (state.current === undefined && plan.steps.every((s) => state.steps[s.id]?.status === 'completed')) {
      apply({ type: 'rollback', toStep: 'beta-dual-read', reason: 'rehearsal', actor: 'bench', at });
    } else {
      apply({ type: 'advance', actor: 'bench', at });
    }
  }
  return events;
}

export const suite: BenchSuite = async ({ args, log }) => {
  const appends = argValue(args, '--appends', 2000);
  const results: BenchResult[] = [];
  const targets: { target: string; measured: string; met: boolean }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'prio-bench-events-'));

  let local: Awaited<ReturnType<typeof startDynamoDbLocal>> | undefined;
  let endpoint = process.env.DYNAMODB_ENDPOINT;
  if (endpoint === undefined) {
    log('starting DynamoDB Local...');
    local = await startDynamoDbLocal();
    endpoint = local.endpoint;
  }
  const client = dynamoDbClient({ endpoint });
  try {
    // --- DynamoDB: store append vs raw conditional PutItem of the same items ---------------
    const table = `bench-${Date.now()}`;
    await createEventTable(client, table);
    const store = new DynamoDbEventStore({ table, client });
    log('warming up DynamoDB Local...');
    for (let i = 0; i < 300; i += 1) await store.append('warm', i, [sampleEvent(i)]);
    let version = 0;
    const raw = async (i: number) => {
      await client.send(new PutItemCommand({ TableName: table, Item: toItem('raw', i + 1, sampleEvent(i)), ConditionExpression: 'attribute_not_exists(#v)', ExpressionAttributeNames: { '#v': 'version' } }));
    };
    const viaStore = async (i: number) => {
      await store.append('prio', version, [sampleEvent(i)]);
      version += 1;
    };
    log(`DynamoDB: ${appends} appends each, interleaved`);
    const ddb = await interleave(appends, viaStore, raw);
    // Same input, same output: the store wrote exactly the item the raw writer wrote.
    const key = (s: string) => ({ stream: { S: s }, version: { N: '7' } });
    const [a, b] = await Promise.all([client.send(new GetItemCommand({ TableName: table, Key: key('prio') })), client.send(new GetItemCommand({ TableName: table, Key: key('raw') }))]);
    const strip = (item: Record<string, unknown> | undefined) => JSON.stringify({ ...item, stream: undefined });
    if (strip(a.Item) !== strip(b.Item)) throw new Error('store and raw PutItem wrote different items');
    recordAppendCase(results, targets, ddb, {
      case: 'dynamodb-local append (1 event, conditional)',
      reference: '@aws-sdk/client-dynamodb PutItem (raw, conditional)',
      target: 'DynamoDB Local appends >= 90% of raw conditional PutItem',
    });

    // --- File store: append (lock + head check + checksum + fsync) vs raw fsynced append ----
    const files = new FileEventStore({ dir: join(dir, 'store') });
    const rawFile = join(dir, 'raw.ndjson');
    let fileVersion = 0;
    const line = (i: number) => Buffer.from(`${JSON.stringify({ version: i + 1, ...sampleEvent(i) })}\n`);
    const rawAppend = async (i: number) => {
      const fd = openSync(rawFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
      try {
        writeSync(fd, line(i));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    };
    const storeAppend = async (i: number) => {
      await files.append('prio', fileVersion, [sampleEvent(i)]);
      fileVersion += 1;
    };
    log(`file store: ${appends} appends each, interleaved`);
    const file = await interleave(appends, storeAppend, rawAppend);
    const fileRead = await files.read('prio');
    if (fileRead.length !== appends || JSON.stringify(fileRead[6]?.data) !== JSON.stringify(sampleEvent(6).data)) throw new Error('file store lost or changed events');
    recordAppendCase(results, targets, file, {
      case: 'file store append (1 event, fsync)',
      reference: 'ceiling:raw fsync append',
      target: 'file store appends >= 90% of a raw fsynced append',
    });

    // --- Rebuild a 10,000-event stream ---------------------------------------------------------
    const events = migrationEvents(10_000);
    const rebuildStore: EventStore = new FileEventStore({ dir: join(dir, 'rebuild') });
    const stream = streamOf('bench-rebuild');
    for (let i = 0; i < events.length; i += 500) {
      await rebuildStore.append(stream, i, events.slice(i, i + 500).map((e, j) => ({ type: e.type, data: e, meta: { commandId: `c${i + j}`, recordedAt: e.at } })));
    }
    const reps = 15;
    const timesMs: number[] = [];
    let rebuilt: MigrationState | undefined;
    for (let r = 0; r < reps; r += 1) {
      const fresh = new FileEventStore({ dir: join(dir, 'rebuild') }); // no cached head: a cold rebuild
      const t = performance.now();
      rebuilt = await rebuildMigration(fresh, 'bench-rebuild');
      timesMs.push(performance.now() - t);
    }
    if (rebuilt?.version !== 10_000 || JSON.stringify(rebuilt) !== JSON.stringify(fold(events))) throw new Error('rebuild disagrees with the fold of the events');
    const parseMs: number[] = [];
    const streamFile = (rebuildStore as FileEventStore).fileOf(stream);
    for (let r = 0; r < reps; r += 1) {
      const t = performance.now();
      const parsed = readFileSync(streamFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
      parseMs.push(performance.now() - t);
      if (parsed.length !== 10_000) throw new Error('parse count differs');
    }
    const rebuildMs = median(timesMs);
    results.push({ name: 'prio', case: 'rebuild 10,000-event stream (file: read, verify, parse, fold)', opsPerSec: (10_000 / rebuildMs) * 1000, medianMs: rebuildMs });
    results.push({ name: 'ceiling:JSON.parse of the lines', case: 'rebuild 10,000-event stream (file: read, verify, parse, fold)', opsPerSec: (10_000 / median(parseMs)) * 1000, medianMs: median(parseMs) });
    const foldMs: number[] = [];
    for (let r = 0; r < reps; r += 1) {
      const t = performance.now();
      fold(events);
      foldMs.push(performance.now() - t);
    }
    results.push({ name: 'prio', case: 'fold 10,000 events in memory', opsPerSec: (10_000 / median(foldMs)) * 1000, medianMs: median(foldMs) });
    targets.push({ target: 'rebuild a 10,000-event stream < 100 ms', measured: `${rebuildMs.toFixed(1)} ms median of ${reps} (fold alone ${median(foldMs).toFixed(1)} ms)`, met: rebuildMs < 100 });
    await store.close();
  } finally {
    client.destroy();
    await local?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const report: BenchReport = { suite: 'events', results, targets, appends };
  return report;
};
