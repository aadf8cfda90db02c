/** Shared fixtures for migration tests: the shipped definition, a fast one, and evidence. */
import { join } from 'node:path';
import { PACKAGE_ROOT, readJsonFile } from '../../../src/config/index.js';
import { decide, fold, initialState, parseMigrationDefinition, type Evidence, type MigrationCommand, type MigrationEvent, type MigrationState, type Plan, type Step } from '../../../src/migration/index.js';

/** The clock the migration tests run on: T0, and `at(m)` the ISO time m minutes after it. */
export const T0 = Date.parse('2026-01-05T09:00:00Z');
export const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

export const DEFINITION_FILE = join(PACKAGE_ROOT, 'migrations', '001-legacy-4-to-7-tier.json');

export function shippedPlan(): Plan {
  return parseMigrationDefinition(readJsonFile(DEFINITION_FILE), DEFINITION_FILE);
}

/** The shipped plan with every bake time set to `bakeMinutes` (0 lets tests advance at once). */
export function fastPlan(id = 'fast-test', bakeMinutes = 0): Plan {
  const plan = shippedPlan();
  return { ...plan, id, steps: plan.steps.map((s) => ({ ...s, bakeMinutes })) };
}

/** Evidence that passes `step`'s gate (every listed alarm OK), or fails it when `passed` is false. */
export function evidenceFor(step: Step, passed = true): Evidence {
  return {
    source: `reports/${step.id}/report.json`,
    totals: { read: 1000, quarantined: 2, compared: 998 },
    outcomes: { same: 990, changed: 8, baselineError: 0, candidateError: 0, bothError: 0 },
    verdict: passed ? { passed: true, failures: [] } : { passed: false, failures: [{ threshold: 'maxChangedRate', measured: 0.2, limit: 0.01 }] },
    alarms: Object.fromEntries(step.gate.alarms.map((a) => [a, 'OK' as const])),
  };
}

/** Decides and folds `commands` in order, throwing on any refusal; the state reached and every event. */
export function applyCommands(commands: readonly MigrationCommand[], from: MigrationState = initialState): { state: MigrationState; events: MigrationEvent[] } {
  let state = from;
  const events: MigrationEvent[] = [];
  for (const c of commands) {
    const d = decide(c, state);
    if (!d.ok) throw new Error(`${c.type} refused: ${d.rejection.message}`);
    events.push(...d.events);
    state = fold(d.events, state);
  }
  return { state, events };
}
