/**
 * The Kafka and storage scenarios' shared setup: a `prio serve` in decision mode, in this
 * process, writing its request log through the same `fileRequestLog` / `kafkaRequestLog` the CLI
 * builds from `--request-log` / `--request-log-kafka` (counts into /metrics, errors to a log the
 * scenario reads), on the baked rules (these scenarios fault the log, not the configuration);
 * and a file event store holding a real migration, driven and checked through the CLI.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileEventStore } from '../../../src/eventstore/index.js';
import { startService, type RequestLog, type RequestLogEvents } from '../../../src/service/index.js';
import { PRIO, ROOT } from '../../../scripts/rollout/rehearsal.js';
import { runCli, type CliRun } from '../../support/cli.js';
import { crashBroker, fetchKafkaJars, killBroker, newBrokerLocation, removeBrokerData, startBroker, type BrokerProcess } from '../../support/kafka/broker.js';
import { freePort } from '../../support/net.js';
import { faultyLink, type FaultyLink } from '../faults/network.js';
import { LEGACY_FLAGS, TestProvider, domain, keyring, silent, snapshot } from '../../support/serve.js';
import type { ScenarioContext } from '../scenario.js';

export interface LoggingInstance {
  readonly url: string;
  /** The request log's error lines, with when (what `prio serve` logs at level error). */
  readonly errors: { at: number; message: string }[];
}

/**
 * Starts the instance with the request log `make` builds from the events it is given (wire
 * them into the log's options: records are counted on /metrics as `prio serve` counts them).
 */
export async function startLoggingInstance(ctx: ScenarioContext, make: (events: Required<RequestLogEvents>) => RequestLog): Promise<LoggingInstance> {
  const errors: { at: number; message: string }[] = [];
  const counter: { into?: (event: 'written' | 'dropped', count: number) => void } = {};
  const requestLog = make({
    onCount: (event, count) => counter.into?.(event, count),
    onError: (message) => {
      errors.push({ at: Date.now(), message });
      ctx.log(`request log error: ${message}`);
    },
  });
  const service = await startService({
    provider: new TestProvider(snapshot(LEGACY_FLAGS)),
    domain,
    capacity: { variants: {}, defaultVariant: { concurrency: 64, queueBound: 4_096 } },
    keyring,
    requestLog,
    logger: silent,
    processMetrics: false,
  });
  counter.into = (event, count) => service.metrics.requestLog(event, count);
  ctx.defer(async () => {
    await service.close(1_000);
  });
  return { url: service.url, errors };
}

/** `prio_request_log_records_total` by result, as /metrics shows it. */
export async function requestLogCounts(url: string): Promise<{ written: number; dropped: number }> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const value = (result: string) => Number(new RegExp(`prio_request_log_records_total\\{result="${result}"\\}\\s+(\\S+)`).exec(text)?.[1] ?? 0);
  return { written: value('written'), dropped: value('dropped') };
}

// ---------------------------------------------------------------------------------------------
// The event-store scenarios: a file store holding a real migration, driven through the CLI.

export const MIGRATION = '001-legacy-4-to-7-tier';
export const MIGRATION_STREAM = `migration-${MIGRATION}`;
/** A second stream beside the migration's, to show damage in one touches no other. */
export const OTHER_STREAM = 'gameday-other';

/** `prio ...args` in this process (test/support/cli.ts), each call logged with its exit code. */
export async function prio(ctx: ScenarioContext, ...args: string[]): Promise<CliRun> {
  const run = await runCli(...args);
  ctx.log(`prio ${args.filter((a) => !a.startsWith('/')).join(' ')} → exit ${run.code}${run.err === '' ? '' : `: ${run.err.split('\n')[0] ?? ''}`}`);
  return run;
}

export interface SeededStore {
  readonly dir: string;
  readonly migrationFile: string;
  readonly otherFile: string;
  /** `prio migrate history --json`'s entries after seeding. */
  readonly history: readonly unknown[];
}

/** The entries of `prio migrate history ID --json`, or undefined when it failed. */
export async function historyOf(ctx: ScenarioContext, dir: string): Promise<unknown[] | undefined> {
  const run = await prio(ctx, 'migrate', 'history', MIGRATION, '--store-dir', dir, '--json');
  if (run.code !== 0) return undefined;
  return (JSON.parse(run.out) as { history: unknown[] }).history;
}

/**
 * A file store under `<scenario dir>/store` with the migration planned, its first step started,
 * paused and resumed (4 events, through `prio migrate` as an operator runs it), and 5 events in a
 * second stream.
 */
export async function seededStore(ctx: ScenarioContext): Promise<SeededStore> {
  const dir = join(ctx.dir, 'store');
  // The scenario directory outlives a run (--out): a store left by the last one would refuse the plan.
  rmSync(dir, { recursive: true, force: true });
  const steps: string[][] = [
    ['plan', join(ROOT, 'migrations', `${MIGRATION}.json`)],
    ['advance', MIGRATION],
    ['pause', MIGRATION, '--reason', 'game day'],
    ['resume', MIGRATION, '--reason', 'game day'],
  ];
  for (const step of steps) {
    const run = await prio(ctx, 'migrate', ...step, '--store-dir', dir);
    if (run.code !== 0) throw new Error(`prio migrate ${step[0] ?? ''} failed (exit ${run.code}): ${run.err}`);
  }
  const store = new FileEventStore({ dir });
  try {
    await store.append(OTHER_STREAM, 0, [1, 2, 3, 4, 5].map((n) => ({ type: 'GameDayEvent', data: { n }, meta: { commandId: `other-${n}`, recordedAt: new Date().toISOString() } })));
  } finally {
    await store.close();
  }
  const history = await historyOf(ctx, dir);
  if (history === undefined) throw new Error('prio migrate history failed on the seeded store');
  return { dir, migrationFile: store.fileOf(MIGRATION_STREAM), otherFile: store.fileOf(OTHER_STREAM), history };
}

/** One row of `prio store verify --json`. */
export interface VerifyRow {
  readonly stream: string;
  readonly ok: boolean;
  readonly line?: number;
  readonly offset?: number;
  readonly reason?: string;
}

export async function verifyStore(ctx: ScenarioContext, dir: string): Promise<{ code: number; rows: VerifyRow[] }> {
  const run = await prio(ctx, 'store', 'verify', '--store-dir', dir, '--json');
  return { code: run.code, rows: run.out.trim() === '' ? [] : (JSON.parse(run.out) as VerifyRow[]) };
}

// ---------------------------------------------------------------------------------------------
// The Kafka scenarios: a broker of the scenario's own (it is killed, or its link faulted), reached
// through a Toxiproxy link it advertises itself.

export interface OwnBroker {
  /** `127.0.0.1:PORT` of the broker's own PLAINTEXT listener (the setup's, never faulted). */
  readonly direct: string;
  /**
   * `host:port` of the Toxiproxy link: a second listener advertised at the proxy's address, so a
   * client bootstrapped there keeps every connection on the link (a broker advertising its own
   * address would let the client around the proxy after the first metadata answer).
   */
  readonly proxied: string;
  readonly link: FaultyLink;
  /** SIGKILL to the broker's process group; resolves once its port is closed. */
  crash(): Promise<void>;
  /** Starts it again on the same ports and data (topics and offsets kept). */
  restart(): Promise<void>;
  pid(): number;
}

/**
 * Starts a single-node broker for this scenario (killed and its data removed at the end).
 * `config` adds broker properties (e.g. a small `fetch.max.bytes`, so a replay takes many fetches).
 */
export async function ownBroker(ctx: ScenarioContext, config: Readonly<Record<string, string | number>> = {}): Promise<OwnBroker> {
  await fetchKafkaJars();
  const location = await newBrokerLocation();
  ctx.defer(() => removeBrokerData(location));
  const innerPort = await freePort();
  const link = await faultyLink(ctx, 'kafka', `127.0.0.1:${innerPort}`);
  const extraConfig = join(location.dataDir, 'proxied.properties');
  // Appended after start.sh's own settings: the later advertised.listeners wins.
  const extra = Object.entries(config).map(([k, v]) => `${k}=${v}\n`).join('');
  writeFileSync(extraConfig, `advertised.listeners=PLAINTEXT://127.0.0.1:${location.port},PROXIED://${link.address}\n${extra}`);
  const env = { PRIO_KAFKA_EXTRA_LISTENERS: `PROXIED://127.0.0.1:${innerPort}`, PRIO_KAFKA_EXTRA_PROTOCOLS: 'PROXIED:PLAINTEXT', PRIO_KAFKA_EXTRA_CONFIG: extraConfig };
  const started = Date.now();
  let broker: BrokerProcess = await startBroker(location, { quickStart: true, env });
  ctx.defer(() => killBroker(broker.pid));
  ctx.log(`own Kafka broker on ${broker.brokers} (pid ${broker.pid}), through Toxiproxy at ${link.address}, up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    direct: broker.brokers,
    proxied: link.address,
    link,
    pid: () => broker.pid,
    crash: () => crashBroker(broker),
    async restart() {
      const at = Date.now();
      broker = await startBroker(location, { quickStart: true, env });
      ctx.log(`own Kafka broker restarted (pid ${broker.pid}) in ${((Date.now() - at) / 1000).toFixed(1)} s`);
    },
  };
}

/** A generated request log of `count` records (`prio shadow generate`, seeded) in the scenario directory. */
export async function generatedLog(ctx: ScenarioContext, count: number): Promise<string> {
  const file = join(ctx.dir, `requests-${count}.ndjson`);
  const run = await prio(ctx, 'shadow', 'generate', '--count', String(count), '--seed', '11', '--out', file);
  if (run.code !== 0) throw new Error(`prio shadow generate failed: ${run.err}`);
  return file;
}

/** `report.json` of a replay without its `run` section (wall-clock figures, the source's label). */
export function reportWithoutRun(outDir: string): string | undefined {
  const file = join(outDir, 'report.json');
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete report.run;
  return JSON.stringify(report);
}

/** The totals of a report (read, judged, quarantined…), for the log. */
export function reportTotals(outDir: string): string {
  const file = join(outDir, 'report.json');
  if (!existsSync(file)) return 'no report';
  const report = JSON.parse(readFileSync(file, 'utf8')) as { totals?: unknown };
  return JSON.stringify(report.totals ?? {});
}

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
}

/**
 * `prio ...args` as a child process (bin/prio.js), as an operator runs it: its own exit code and
 * output; `onErr` sees stderr as it arrives. Killed if the scenario ends first.
 */
export function prioChild(ctx: ScenarioContext, args: readonly string[], onErr?: (text: string) => void): Promise<ChildRun> {
  return spawned(ctx, process.execPath, [PRIO, ...args], onErr);
}

/**
 * A command line prio printed (`prio …`, shell-quoted, e.g. a replay's resume command), run as
 * printed through bash, `prio` being this checkout's binary.
 */
export function runPrinted(ctx: ScenarioContext, command: string): Promise<ChildRun> {
  return spawned(ctx, 'bash', ['-c', `prio() { "${process.execPath}" "${PRIO}" "$@"; }\n${command}`]);
}

function spawned(ctx: ScenarioContext, file: string, args: readonly string[], onErr?: (text: string) => void): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = () => child.kill('SIGKILL');
    ctx.signal.addEventListener('abort', kill, { once: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      onErr?.(err);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', kill);
      resolve({ code, signal, out, err });
    });
  });
}
