/**
 * Runs game-day scenarios one at a time, each in isolation: a fresh directory, its own clean-up
 * (run last registered first, whatever the outcome), a time limit, and a verdict. A scenario
 * passes only when it saw its own fault and every observation stayed within its bound; one that
 * throws or runs out of time fails with the reason.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { GameDayServices, Scenario, ScenarioContext, ScenarioOutcome } from './scenario.js';

export const SCENARIOS_DIR = join(fileURLToPath(import.meta.url), '..', 'scenarios');

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly passed: boolean;
  /** Why it failed, in one line; absent when it passed. */
  readonly failure?: string;
  readonly outcome?: ScenarioOutcome;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly log: readonly string[];
  readonly dir: string;
}

/** Every scenario under scenarios/, sorted by id. */
export async function loadScenarios(dir = SCENARIOS_DIR): Promise<Scenario[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  const scenarios: Scenario[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { scenario?: Scenario };
    if (mod.scenario === undefined) throw new Error(`${join(dir, f)}: exports no \`scenario\``);
    if (mod.scenario.id !== f.slice(0, -3)) throw new Error(`${join(dir, f)}: scenario id "${mod.scenario.id}" differs from the file's name`);
    scenarios.push(mod.scenario);
  }
  return scenarios;
}

export interface RunOptions {
  readonly services: GameDayServices;
  /** Each scenario gets `<outDir>/<id>/`. */
  readonly outDir: string;
  readonly onLog?: (scenario: Scenario, line: string) => void;
  /**
   * Stops the scenario from outside (the game day was interrupted): its own signal is aborted,
   * it fails with the reason, and its clean-up runs as after any other end.
   */
  readonly signal?: AbortSignal;
}

function judge(outcome: ScenarioOutcome): string | undefined {
  if (!outcome.faultObserved) return `the fault was not observed (${outcome.faultEvidence})`;
  const broken = outcome.observations.filter((o) => !o.ok);
  if (broken.length > 0) return broken.map((o) => `${o.phase} ${o.name} = ${String(o.value)}${o.unit ?? ''}, bound ${o.bound ?? '?'}`).join('; ');
  if (outcome.observations.length === 0) return 'the scenario measured nothing';
  return undefined;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const printable = (text: string): string => text.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '\uFFFD');

function describeReason(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'aborted';
}

export async function runScenario(scenario: Scenario, o: RunOptions): Promise<ScenarioRun> {
  const dir = join(o.outDir, scenario.id);
  mkdirSync(dir, { recursive: true });
  const log: string[] = [];
  const cleanups: (() => void | Promise<void>)[] = [];
  const controller = new AbortController();
  const started = Date.now();
  const ctx: ScenarioContext = {
    services: o.services,
    dir,
    signal: controller.signal,
    log(text) {
      // A line quoting a corrupt body must not write raw control bytes to a terminal.
      const line = printable(text);
      log.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${line}`);
      o.onLog?.(scenario, line);
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
  let timer: NodeJS.Timeout | undefined;
  let stopOutside: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`ran out of time after ${scenario.timeoutMs} ms`));
    }, scenario.timeoutMs);
    stopOutside = () => {
      controller.abort();
      reject(new Error(`interrupted (${describeReason(o.signal?.reason)})`));
    };
    if (o.signal?.aborted === true) stopOutside();
    else o.signal?.addEventListener('abort', stopOutside, { once: true });
  });
  let outcome: ScenarioOutcome | undefined;
  let failure: string | undefined;
  try {
    outcome = await Promise.race([scenario.run(ctx), timeout]);
    failure = judge(outcome);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
    if (stopOutside !== undefined) o.signal?.removeEventListener('abort', stopOutside);
    controller.abort();
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log.push(`clean-up failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  return {
    scenario,
    passed: failure === undefined,
    ...(failure === undefined ? {} : { failure }),
    ...(outcome === undefined ? {} : { outcome }),
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    log,
    dir,
  };
}
