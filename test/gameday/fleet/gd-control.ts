/**
 * Shared setup of the event-store, lease and controller scenarios: a fresh table on the shared
 * DynamoDB Local (dropped when the scenario ends), stores that count the conflicts and fencing
 * refusals DynamoDB's conditional writes produced, and the checks every such scenario makes on
 * the migration stream afterwards (it replays, versions have no gap, no event twice).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { connect, getDeployment, history, resolveApplication, resolveEnvironment } from '../../../src/appconfig/index.js';
import { readJsonFile } from '../../../src/config/index.js';
import {
  ConcurrencyConflict,
  DynamoDbEventStore,
  FencedAppend,
  createEventTable,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../../../src/eventstore/index.js';
import { fold, parseMigrationDefinition, streamOf, type MigrationEvent, type MigrationState, type Plan } from '../../../src/migration/index.js';
import { deploymentMarker } from '../../../src/rollout/index.js';
import { APPLICATION, PRIO, REHEARSAL_MIX, REHEARSAL_TIERS, startRehearsal, type Rehearsal } from '../../../scripts/rollout/rehearsal.js';
import { DEFINITION_FILE } from '../../support/migration/fixtures.js';
import { startProcess, type ChildLine, type FaultyProcess } from '../faults/process.js';
import { parseMix, runLoad } from '../../../src/load/index.js';
import type { ScenarioContext } from '../scenario.js';

/** A table of its own on the shared DynamoDB Local, dropped at the end; returns its name. */
export async function freshTable(ctx: ScenarioContext, endpoint: string = ctx.services.dynamodbEndpoint): Promise<string> {
  const table = `gd-control-${randomUUID().slice(0, 8)}`;
  const admin = new DynamoDbEventStore({ table, endpoint });
  await createEventTable(admin.client, table);
  ctx.defer(async () => {
    await admin.client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    await admin.close();
  });
  return table;
}

/** An event store with a client of its own (as a separate controller would have), closed at the end. */
export function ownStore(ctx: ScenarioContext, table: string, endpoint: string = ctx.services.dynamodbEndpoint): DynamoDbEventStore {
  const store = new DynamoDbEventStore({ table, endpoint });
  ctx.defer(() => store.close());
  return store;
}

/**
 * Wraps a store and counts what its appends were refused for: a conditional write that lost
 * (ConcurrencyConflict: another writer took the version) or a stale fencing token.
 */
export class CountingStore implements EventStore {
  readonly kind: string;
  conflicts = 0;
  fenced = 0;
  appends = 0;
  firstConflictAt: number | undefined;

  constructor(private readonly inner: EventStore) {
    this.kind = inner.kind;
  }

  read(stream: string): Promise<StoredEvent[]> {
    return this.inner.read(stream);
  }

  forEach(stream: string, visit: (event: StoredEvent) => void): Promise<number> {
    return this.inner.forEach(stream, visit);
  }

  version(stream: string): Promise<number> {
    return this.inner.version(stream);
  }

  async append(stream: string, expectedVersion: number, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    try {
      const result = await this.inner.append(stream, expectedVersion, events, options);
      this.appends += 1;
      return result;
    } catch (err) {
      if (err instanceof ConcurrencyConflict) {
        this.conflicts += 1;
        this.firstConflictAt ??= Date.now();
      }
      if (err instanceof FencedAppend) this.fenced += 1;
      throw err;
    }
  }

  listStreams(prefix?: string): Promise<string[]> {
    return this.inner.listStreams(prefix);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** What the stream of a migration looks like after a fault, read back from the store. */
export interface StreamAudit {
  readonly stored: readonly StoredEvent[];
  readonly state: MigrationState;
  /** Versions 1..n without a gap (the store's read refuses a gap too: then `error` says so). */
  readonly contiguous: boolean;
  /** Command ids whose events appear in more than one append (a command written twice). */
  readonly duplicated: readonly string[];
  /** `DeploymentStarted` events per step. */
  readonly deploymentsStarted: Readonly<Record<string, number>>;
  readonly error?: string;
}

/**
 * Reads the stream back and replays it through the decider's fold. A command's events are
 * appended in one atomic write, so they sit at consecutive versions: the same command id found
 * in two separate runs of versions means it was appended twice.
 */
export async function auditStream(store: EventStore, migrationId: string): Promise<StreamAudit> {
  let stored: StoredEvent[];
  try {
    stored = await store.read(streamOf(migrationId));
  } catch (err) {
    return { stored: [], state: fold([]), contiguous: false, duplicated: [], deploymentsStarted: {}, error: err instanceof Error ? err.message : String(err) };
  }
  const contiguous = stored.every((e, i) => e.version === i + 1);
  const runs = new Map<string, number>();
  stored.forEach((e, i) => {
    if (i === 0 || stored[i - 1]?.meta.commandId !== e.meta.commandId) runs.set(e.meta.commandId, (runs.get(e.meta.commandId) ?? 0) + 1);
  });
  const duplicated = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
  const events = stored.map((e) => e.data as MigrationEvent);
  const deploymentsStarted: Record<string, number> = {};
  for (const e of events) if (e.type === 'DeploymentStarted') deploymentsStarted[e.stepId] = (deploymentsStarted[e.stepId] ?? 0) + 1;
  return { stored, state: fold(events), contiguous, duplicated, deploymentsStarted };
}

// ---------------------------------------------------------------------------------------------
// A rollout to drive with `prio rollout run`: the rehearsal fleet cut down to one stage.

/** The runner's lease TTL in these scenarios: a killed runner's successor waits at most this long. */
export const LEASE_TTL_MS = 2_000;

export interface RolloutFleetOptions {
  /** Bake of the migration's step, in migration minutes. */
  readonly bakeMinutes: number;
  /** Migration minutes per real minute (the runner's bakes). */
  readonly timeScale: number;
  /** Strategy minutes per real minute in the own `prio appconfig local` (linear is 20 + 10 min). */
  readonly appConfigTimeScale: number;
}

export interface RolloutFleet {
  readonly migrationId: string;
  readonly step: string;
  readonly stage: string;
  readonly definitionFile: string;
  readonly table: string;
  readonly store: DynamoDbEventStore;
  readonly rehearsal: Rehearsal;
  /** `prio rollout run` as a child, on DynamoDB at `endpoint` (the shared one unless a faulty link is given). */
  runner(owner: string, o?: { readonly endpoint?: string; readonly env?: NodeJS.ProcessEnv }): FaultyProcess;
  /** The flags deployments of the stage carrying the step's marker (run 1), with their states. */
  stepDeployments(): Promise<{ number: number; state: string }[]>;
  /** The state of the newest flags deployment of the stage. */
  latestState(): Promise<string>;
}

/**
 * Migration 001 cut down to its first step (beta, phase 1 only), under a name of its own, on a
 * rehearsal fleet of one `prio serve` (scripts/rollout/rehearsal.ts: its own `prio appconfig
 * local`, the instance taking its flags from it and writing the request log the evidence
 * replays), with 1.5 s of decisions in the log, and a fresh table on DynamoDB Local.
 */
export async function rolloutFleet(ctx: ScenarioContext, o: RolloutFleetOptions): Promise<RolloutFleet> {
  const doc = readJsonFile(DEFINITION_FILE) as { id: string; phases: { number: number }[]; stages: { name: string }[]; steps: { id: string; phase: number; stage: string; bakeMinutes: number; gate: { shadowGate: string } }[]; alarms: Record<string, unknown> };
  const stage = 'beta';
  doc.id = `gd-${randomUUID().slice(0, 8)}`;
  doc.stages = doc.stages.filter((s) => s.name === stage);
  doc.phases = doc.phases.filter((p) => p.number === 1);
  doc.steps = doc.steps.filter((s) => s.stage === stage && s.phase === 1).map((s) => ({ ...s, bakeMinutes: o.bakeMinutes }));
  doc.alarms = Object.fromEntries(Object.entries(doc.alarms).filter(([name]) => name.startsWith(`${stage}-`)));
  const definitionFile = join(ctx.dir, 'migration.json');
  writeFileSync(definitionFile, JSON.stringify(doc, null, 2));
  const plan: Plan = parseMigrationDefinition(doc, definitionFile);
  const step = plan.steps[0]?.id ?? '';
  const table = await freshTable(ctx);
  const store = ownStore(ctx, table);
  const fleetDir = join(ctx.dir, 'fleet');
  mkdirSync(fleetDir, { recursive: true });
  const rehearsal = await startRehearsal({
    dir: fleetDir,
    plan,
    instancesPerStage: 1,
    timeScale: o.timeScale,
    appConfigTimeScale: o.appConfigTimeScale,
    pollSeconds: 0.2,
    evidenceRecords: 500,
    strategies: { [stage]: 'linear' },
    log: (line) => ctx.log(line),
  });
  ctx.defer(() => rehearsal.stop());
  const urls = rehearsal.instances.map((i) => i.url);
  // The rehearsal's mix (mostly provisioned throughput v2, which stays P100), so the default gate passes as in the rehearsal.
  const load = await runLoad({
    targets: urls,
    mode: 'decide',
    rate: 100,
    durationMs: 1_500,
    sessions: 40,
    accounts: 20,
    classifications: parseMix(REHEARSAL_MIX),
    serviceTiers: parseMix(REHEARSAL_TIERS, true),
    requestTypes: parseMix('none', true),
    models: ['model-a'],
    seed: 7,
    timeoutMs: 5_000,
    connections: 16,
    signal: ctx.signal,
  });
  ctx.log(`request log filled: ${load.sent} decisions; migration ${plan.id}, step ${step} (bake ${o.bakeMinutes} min at time scale ${o.timeScale}), table ${table}`);

  const conn = connect({ endpointUrl: rehearsal.endpoint, region: 'us-east-1' });
  ctx.defer(() => conn.close());
  const flags = async () => {
    const app = await resolveApplication(conn.client, APPLICATION);
    const env = await resolveEnvironment(conn.client, app, stage);
    const all = (await history(conn.client, APPLICATION, stage)).deployments.filter((d) => d.profile === 'flags');
    return Promise.all(all.map(async (d) => ({ number: d.number, state: d.state, description: (await getDeployment(conn.client, app, env, d.number)).Description ?? '' })));
  };
  const marker = `${deploymentMarker(plan.id, step, 1)}:`;
  return {
    migrationId: plan.id,
    step,
    stage,
    definitionFile,
    table,
    store,
    rehearsal,
    runner(owner, r = {}) {
      const args = [PRIO, 'rollout', 'run', definitionFile, '--settings', rehearsal.settingsFile, '--store', 'dynamodb', '--table', table, '--endpoint', r.endpoint ?? ctx.services.dynamodbEndpoint, '--json', '--lease-ttl', String(LEASE_TTL_MS), '--owner', owner];
      return startProcess(ctx, owner, args, { ...rehearsal.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...r.env });
    },
    async stepDeployments() {
      return (await flags()).filter((d) => d.description.includes(marker)).map(({ number, state }) => ({ number, state }));
    },
    async latestState() {
      const all = await flags();
      return all.sort((x, y) => y.number - x.number)[0]?.state ?? 'none';
    },
  };
}

/** A runner's JSON line of `kind` (for `step` when given). */
export const runnerLine = (kind: string, step?: string) => (l: ChildLine) => l.json?.kind === kind && (step === undefined || l.json.step === step);

/** The runner's last lines, for a failure message. */
export function tail(p: FaultyProcess, n = 8): string {
  return `${p.lines.filter((l) => l.json?.kind !== undefined).slice(-n).map((l) => `${String(l.json?.kind)}: ${String(l.json?.message)}`).join(' | ')} ${p.stderr().slice(-400)}`;
}

// ---------------------------------------------------------------------------------------------
// Throttling in front of DynamoDB Local.

export type ThrottleError = 'ProvisionedThroughputExceededException' | 'ThrottlingException';

export interface ThrottlingProxy {
  /** Give the client this endpoint instead of DynamoDB Local's. */
  readonly url: string;
  /** From now on every request is answered with a throttling error (the two kinds in turn). */
  throttle(): void;
  /** Requests are forwarded again. */
  pass(): void;
  readonly counts: { forwarded: number; throttled: number };
  /** When each request arrived (epoch ms), for the request rate while throttled. */
  readonly arrivals: number[];
}

/**
 * The one mock of these scenarios: DynamoDB Local never throttles (it has no capacity to
 * exceed), so a loopback HTTP proxy in front of it answers, while throttling, what DynamoDB
 * answers an over-eager client — HTTP 400 with `x-amzn-ErrorType` and a JSON `__type` of
 * ProvisionedThroughputExceededException or ThrottlingException — and forwards every request
 * untouched otherwise.
 */
export async function throttlingProxy(ctx: ScenarioContext, upstream: string = ctx.services.dynamodbEndpoint): Promise<ThrottlingProxy> {
  const target = new URL(upstream);
  const counts = { forwarded: 0, throttled: 0 };
  const arrivals: number[] = [];
  let throttling = false;
  const server = createServer((req, res) => {
    arrivals.push(Date.now());
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (throttling) {
        const type: ThrottleError = counts.throttled % 2 === 0 ? 'ProvisionedThroughputExceededException' : 'ThrottlingException';
        counts.throttled += 1;
        const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: 'The level of configured provisioned throughput for the table was exceeded (game day)' });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      counts.forwarded += 1;
      const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctx.defer(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    throttle: () => {
      throttling = true;
    },
    pass: () => {
      throttling = false;
    },
    counts,
    arrivals,
  };
}
