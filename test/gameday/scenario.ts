/**
 * The game day's contract: what a scenario is, what it is given, and what it must hand back.
 *
 * A scenario injects one real fault (a Toxiproxy toxic, a signal, a full disk, a skewed clock,
 * a damaged file, hostile traffic) into a running piece of the rehearsal fleet, and states its
 * steady-state hypothesis as chaos-engineering practice does: what is measured before, during
 * and after the fault, and the bound each measure must stay within. The runner (run.ts) gives it
 * a scratch directory, the shared services and a place to register clean-up, and judges it:
 * a scenario passes only when it proved its fault was actually injected (`faultObserved`) and
 * every observation stayed within its bound. One file per scenario under scenarios/, each
 * exporting `scenario`.
 */
import type { Toxiproxy } from 'toxiproxy-node-client';

/** The kinds of fault; the CI subset runs at least one scenario of each. */
export type FaultFamily =
  | 'network' // Toxiproxy toxics between a service and Kafka, DynamoDB Local or AppConfig
  | 'process' // SIGKILL, SIGSTOP/SIGCONT
  | 'clock' // an injected clock offset where the code takes time as a parameter
  | 'config' // a corrupt, invalid or rolled-back configuration document
  | 'storage' // a full disk, a damaged event-store line
  | 'traffic' // overload, forged or replayed tokens, unknown classifications
  | 'rollout'; // rollbacks, key rotations, conflicting controllers

/** What must hold before, during and after the fault (the steady state) and within which bound. */
export interface Hypothesis {
  /** The measure, in words: "gateway requests answered 2xx", "sessions keeping their tier". */
  readonly steadyState: string;
  /** The bound it must stay within, in words: "≥ 99.9% during the fault, 100% after". */
  readonly bound: string;
}

/** One figure the scenario measured, with the bound it was judged against. */
export interface Observation {
  /** "phase" tells when it was measured. */
  readonly phase: 'before' | 'during' | 'after';
  readonly name: string;
  readonly value: number | string | boolean;
  readonly unit?: string;
  /** The bound in words (e.g. "= 0", "≤ 250 ms"); absent for a figure recorded for the reader only. */
  readonly bound?: string;
  /** Whether the value is within its bound; a figure without a bound is always ok. */
  readonly ok: boolean;
}

export interface ScenarioOutcome {
  /**
   * Evidence that the fault really happened (the toxic delayed or cut traffic, the process
   * is gone, the disk refused the write). A scenario that cannot see its own fault fails.
   */
  readonly faultObserved: boolean;
  /** How the fault was seen, in words ("3 AppConfig polls failed with ECONNRESET"). */
  readonly faultEvidence: string;
  readonly observations: readonly Observation[];
  /** From the fault's injection to the system noticing it (an alarm, a refusal, a log line); absent when not applicable. */
  readonly timeToDetectMs?: number;
  /** From the fault's removal to the steady state holding again; absent when not applicable. */
  readonly timeToRecoverMs?: number;
  readonly notes?: readonly string[];
}

/** The running services every scenario may use; each is started once for the whole game day. */
export interface GameDayServices {
  /** Bootstrap brokers of the real Kafka broker, e.g. `127.0.0.1:39092`. */
  readonly kafkaBrokers: string;
  /** Endpoint of DynamoDB Local, e.g. `http://127.0.0.1:8000`. */
  readonly dynamodbEndpoint: string;
  /** Endpoint of the shared `prio appconfig local` (scenarios that fault it start their own). */
  readonly appConfigEndpoint: string;
  /** The Toxiproxy API client (server built from its Go module, on 127.0.0.1). */
  readonly toxiproxy: Toxiproxy;
}

export interface ScenarioContext {
  readonly services: GameDayServices;
  /** A fresh directory for this scenario alone; kept after the run for the report's links. */
  readonly dir: string;
  /** Aborted when the scenario's time is up; long waits should give up on it. */
  readonly signal: AbortSignal;
  /** A line of progress for the console and the report's log. */
  log(line: string): void;
  /**
   * Registers clean-up that runs after the scenario whatever its outcome, last registered first:
   * kill what it started, remove its Toxiproxy proxies, SIGCONT what it paused.
   */
  defer(cleanup: () => void | Promise<void>): void;
}

export interface Scenario {
  /** Kebab-case, the file's name without `.ts`: "appconfig-unreachable-at-start". */
  readonly id: string;
  readonly title: string;
  readonly family: FaultFamily;
  /** The fault, as injected: "Toxiproxy reset_peer between prio serve and AppConfig". */
  readonly fault: string;
  /** What must happen and what must not, in words. */
  readonly expected: string;
  readonly hypothesis: Hypothesis;
  /** Part of the fast subset that `.ci/run` runs (at least one per family). */
  readonly ci: boolean;
  /** The most the scenario may take, clean-up excluded; the runner aborts it after that. */
  readonly timeoutMs: number;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

/** An observation judged by a predicate, so a bound and its check are written once. */
export function observe(
  phase: Observation['phase'],
  name: string,
  value: number | string | boolean,
  bound?: { readonly text: string; readonly holds: boolean },
  unit?: string,
): Observation {
  return {
    phase,
    name,
    value,
    ...(unit === undefined ? {} : { unit }),
    ...(bound === undefined ? {} : { bound: bound.text }),
    ok: bound === undefined ? true : bound.holds,
  };
}
