/**
 * report.json: what an operator reads before pressing "advance", and what `prio shadow merge`
 * reads back. Built from an aggregate alone (plus the rule-set names), with sorted keys and
 * shares rounded from integers, so the same input always gives the same bytes. Anything that
 * depends on the wall clock lives under `run`, which merging ignores. Fidelity comes first:
 * when the baseline does not reproduce production, every other figure is worthless. Pure.
 */
import { ConfigError, schemaValidator } from '../../validation/index.js';
import {
  AGGREGATE_PART_SCHEMAS,
  aggregateFromValidJson,
  aggregateToJson,
  AggregateFormatError,
  compared,
  type AggregateJson,
  type BreakdownName,
  type OutcomeKind,
  type SampledRecord,
  type ShadowAggregate,
} from './aggregate.js';

export const REPORT_FORMAT = 'prio.shadow-report/1';

/** Fidelity below this (or any baseline error on an observed record) marks the comparison untrustworthy. */
export const DEFAULT_FIDELITY_FLOOR = 0.999;

export type FidelityStatus = 'reproduced' | 'not-reproduced' | 'unchecked';

export interface FidelitySection {
  readonly status: FidelityStatus;
  /** matched / checked, or null when no record carried an observed outcome. */
  readonly rate: number | null;
  readonly message: string;
  readonly checked: number;
  readonly matched: number;
  readonly priorityMismatch: number;
  readonly qosMismatch: number;
  readonly baselineError: number;
  readonly mismatches: Record<string, number>;
}

export interface RuleSetInfo {
  readonly name: string;
  readonly scheme: string;
}

export interface TopEntry {
  readonly key: string;
  readonly compared: number;
  readonly changed: number;
  readonly errors: number;
  readonly changedShare: number;
}

/** Wall-clock facts about the run that produced a report (never compared, never merged). */
export type RunInfo = Readonly<Record<string, unknown>>;

export interface ShadowReport {
  readonly format: typeof REPORT_FORMAT;
  readonly fidelity: FidelitySection;
  readonly rulesets: { readonly baseline: RuleSetInfo; readonly candidate: RuleSetInfo };
  readonly totals: { readonly read: number; readonly quarantined: number; readonly compared: number };
  readonly outcomes: Record<OutcomeKind, number>;
  /** Outcome shares of `compared` (0-1, six decimals). */
  readonly shares: Record<OutcomeKind, number>;
  readonly changes: AggregateJson['changes'];
  readonly downgradesByTier: Record<string, number>;
  readonly confusion: { readonly rows: 'baseline'; readonly columns: 'candidate'; readonly labels: readonly string[]; readonly matrix: readonly (readonly number[])[] };
  readonly top: { readonly accounts: readonly TopEntry[]; readonly models: readonly TopEntry[] };
  readonly breakdowns: AggregateJson['breakdowns'];
  readonly tokens: AggregateJson['tokens'];
  readonly failClosed: Record<string, number>;
  readonly quarantine: { readonly file: string; readonly byReason: Record<string, number> };
  readonly sample: AggregateJson['sample'];
  /**
   * Input the sources know they lost. `events` lists each damage (a cut .gz, a Kafka offset
   * gap); `recordsLost`/`bytesLost` add up the losses that could be counted, `unknownLoss` is
   * how many events lost an amount nobody can know (the missing end of a .gz).
   */
  readonly damage: DamageSection;
  readonly run?: RunInfo;
}

export interface DamageSection {
  readonly events: AggregateJson['damage'];
  readonly recordsLost: number;
  readonly bytesLost: number;
  readonly unknownLoss: number;
}

/**
 * One sentence on a damaged source for every rendering (summary, .md, .html), or undefined when
 * nothing was lost: the figures of a damaged replay cover only what could be read.
 */
export function describeDamage(d: DamageSection): string | undefined {
  if (d.events.length === 0) return undefined;
  const losses = [
    d.recordsLost > 0 ? `${d.recordsLost} records known lost` : '',
    d.unknownLoss > 0 ? `${d.unknownLoss} loss${d.unknownLoss === 1 ? '' : 'es'} that cannot be counted` : '',
    d.bytesLost > 0 ? `${d.bytesLost} input bytes not read` : '',
  ].filter((x) => x !== '');
  return `Source damaged: ${d.events.length} damage event${d.events.length === 1 ? '' : 's'} (${losses.join(', ')}); every figure covers only the input that could be read.`;
}

/** The damage events of a read, with the losses summed (records and bytes known lost, losses that cannot be counted). */
export function damageSection(events: AggregateJson['damage']): DamageSection {
  let recordsLost = 0;
  let bytesLost = 0;
  let unknownLoss = 0;
  for (const e of events) {
    recordsLost += e.recordsLost ?? 0;
    bytesLost += e.bytesLost ?? 0;
    if (e.recordsLost === null) unknownLoss += 1;
  }
  return { events, recordsLost, bytesLost, unknownLoss };
}

const TOP_N = 10;

export function share(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1e6) / 1e6;
}

function fidelitySection(f: AggregateJson['fidelity'], floor: number): FidelitySection {
  const rate = f.checked === 0 ? null : Math.round((f.matched / f.checked) * 1e6) / 1e6;
  let status: FidelityStatus;
  let message: string;
  if (rate === null) {
    status = 'unchecked';
    message = 'No record carried an observed outcome, so nothing shows that the baseline reproduces production; treat the comparison with caution.';
  } else if (f.matched / f.checked >= floor && f.baselineError === 0) {
    status = 'reproduced';
    message = `The baseline reproduces production on ${f.matched} of ${f.checked} observed records.`;
  } else {
    status = 'not-reproduced';
    message = `The baseline does NOT reproduce production (${f.matched} of ${f.checked} observed records match, ${f.baselineError} refused): the comparison below is not trustworthy until the baseline rules are fixed.`;
  }
  return { status, rate, message, ...f };
}

function topEntries(breakdown: AggregateJson['breakdowns'][BreakdownName]): TopEntry[] {
  const entries: TopEntry[] = [];
  for (const [key, c] of Object.entries(breakdown)) {
    const total = c.same + c.changed + c.baselineError + c.candidateError + c.bothError;
    const errors = c.baselineError + c.candidateError + c.bothError;
    if (c.changed + errors === 0) continue;
    entries.push({ key, compared: total, changed: c.changed, errors, changedShare: share(c.changed, total) });
  }
  entries.sort((a, b) => b.changed + b.errors - (a.changed + a.errors) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return entries.slice(0, TOP_N);
}

export interface BuildReportOptions {
  readonly rulesets: ShadowReport['rulesets'];
  readonly run?: RunInfo;
  readonly fidelityFloor?: number;
}

export function buildReport(agg: ShadowAggregate, options: BuildReportOptions): ShadowReport {
  const s = aggregateToJson(agg);
  const total = compared(agg);
  const o = s.outcomes;
  const report: ShadowReport = {
    format: REPORT_FORMAT,
    fidelity: fidelitySection(s.fidelity, options.fidelityFloor ?? DEFAULT_FIDELITY_FLOOR),
    rulesets: options.rulesets,
    totals: { read: s.read, quarantined: s.quarantined, compared: total },
    outcomes: o,
    shares: {
      same: share(o.same, total),
      changed: share(o.changed, total),
      baselineError: share(o.baselineError, total),
      candidateError: share(o.candidateError, total),
      bothError: share(o.bothError, total),
    },
    changes: s.changes,
    downgradesByTier: s.downgradesByTier,
    confusion: { rows: 'baseline', columns: 'candidate', labels: s.labels, matrix: s.confusion },
    top: { accounts: topEntries(s.breakdowns.account), models: topEntries(s.breakdowns.model) },
    breakdowns: s.breakdowns,
    tokens: s.tokens,
    failClosed: s.failClosed,
    quarantine: { file: 'quarantine.ndjson', byReason: s.quarantineReasons },
    sample: s.sample,
    damage: damageSection(s.damage),
  };
  return options.run === undefined ? report : { ...report, run: options.run };
}

/** report.json's bytes: two-space JSON and a final newline. */
export function serializeReport(report: ShadowReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const P = AGGREGATE_PART_SCHEMAS;
/**
 * The JSON Schema of what {@link aggregateFromReport} reads from a report.json: the aggregate's
 * parts where the report holds them. The sections derived from them (shares, top, the damage
 * sums) are rebuilt, never read, so they are not checked here.
 */
const REPORT_AGGREGATE_SCHEMA = {
  type: 'object',
  required: ['format', 'rulesets', 'totals', 'outcomes', 'changes', 'downgradesByTier', 'confusion', 'breakdowns', 'tokens', 'failClosed', 'quarantine', 'sample', 'fidelity'],
  properties: {
    format: { const: REPORT_FORMAT },
    rulesets: {
      type: 'object',
      required: ['baseline', 'candidate'],
      properties: Object.fromEntries(['baseline', 'candidate'].map((side) => [side, { type: 'object', required: ['name', 'scheme'], properties: { name: { type: 'string' }, scheme: { type: 'string' } } }])),
    },
    totals: { type: 'object', required: ['read', 'quarantined'], properties: { read: P.count, quarantined: P.count, compared: P.count } },
    outcomes: P.outcomes,
    changes: P.changes,
    downgradesByTier: P.counters,
    confusion: { type: 'object', required: ['labels', 'matrix'], properties: { labels: P.labels, matrix: P.matrix } },
    breakdowns: P.breakdowns,
    tokens: P.tokens,
    failClosed: P.counters,
    quarantine: { type: 'object', required: ['byReason'], properties: { byReason: P.counters } },
    sample: P.sample,
    fidelity: P.fidelity,
    damage: { type: 'object', required: ['events'], properties: { events: P.damage } },
  },
} as const;

const validateReport = schemaValidator(REPORT_AGGREGATE_SCHEMA);

/** Where report.json holds the aggregate's parts that are checked after the schema. */
const REPORT_POINTERS: Readonly<Record<string, string>> = { labels: '/confusion/labels', confusion: '/confusion/matrix', sample: '/sample' };

/**
 * Reads a report.json document back into the aggregate it was built from (for merging and
 * gating). A document that is no such report is refused with a {@link ConfigError} naming
 * `file`, the JSON pointer and the problem, as every configuration file is.
 */
export function aggregateFromReport(doc: unknown, file = 'report.json'): { aggregate: ShadowAggregate; rulesets: ShadowReport['rulesets'] } {
  const issues = validateReport(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const r = doc as ShadowReport;
  const state: AggregateJson = {
    labels: r.confusion.labels,
    read: r.totals.read,
    quarantined: r.totals.quarantined,
    quarantineReasons: r.quarantine.byReason,
    outcomes: r.outcomes,
    changes: r.changes,
    confusion: r.confusion.matrix,
    downgradesByTier: r.downgradesByTier,
    failClosed: r.failClosed,
    breakdowns: r.breakdowns,
    tokens: r.tokens,
    fidelity: r.fidelity,
    sample: r.sample,
    // Absent in reports written before damage was tracked.
    damage: (r as { damage?: DamageSection }).damage?.events ?? [],
  };
  let aggregate: ShadowAggregate;
  try {
    aggregate = aggregateFromValidJson(state, file);
  } catch (err) {
    // The label-dependent shapes, named at the report's own pointers.
    if (err instanceof AggregateFormatError) {
      const [, part = '', ...rest] = err.pointer.split('/');
      const pointer = REPORT_POINTERS[part] === undefined ? err.pointer : [REPORT_POINTERS[part], ...rest].join('/');
      throw new ConfigError([{ file, pointer, message: err.problem }]);
    }
    throw err;
  }
  if (aggregate.read !== compared(aggregate) + aggregate.quarantined) {
    throw new ConfigError([
      { file, pointer: '/totals', message: `do not add up: read ${aggregate.read} != compared ${compared(aggregate)} + quarantined ${aggregate.quarantined}` },
    ]);
  }
  return { aggregate, rulesets: { baseline: { ...r.rulesets.baseline }, candidate: { ...r.rulesets.candidate } } };
}

export type { SampledRecord };
