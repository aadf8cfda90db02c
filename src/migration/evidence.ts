/**
 * Reads a step's gate evidence from the shadow validator's output without depending on it:
 * a report.json with `totals` and `outcomes`, and a gate verdict `{passed, failures}` found in
 * the report (`verdict` or `gate`) or in a document of its own. Pure: the caller reads files.
 */
import { ConfigError, schemaValidator, type ConfigIssue } from '../validation/index.js';
import type { AlarmState, Evidence, GateVerdict, ShadowOutcomes, ShadowTotals } from './model.js';

const count = { type: 'integer', minimum: 0 };
const failureList = {
  type: 'array',
  items: {
    type: 'object',
    required: ['threshold', 'measured', 'limit'],
    properties: { threshold: { type: 'string' }, measured: { type: ['number', 'string', 'null'] }, limit: { type: ['number', 'string', 'boolean'] } },
  },
};
// `failures` is the documented shape; `failed` is what `prio shadow gate --json` prints.
const verdictSchema = {
  type: 'object',
  required: ['passed'],
  anyOf: [{ required: ['failures'] }, { required: ['failed'] }],
  properties: { passed: { type: 'boolean' }, failures: failureList, failed: failureList },
};
const reportSchema = {
  type: 'object',
  required: ['totals', 'outcomes'],
  properties: {
    totals: { type: 'object', required: ['read', 'quarantined', 'compared'], properties: { read: count, quarantined: count, compared: count } },
    outcomes: {
      type: 'object',
      required: ['same', 'changed', 'baselineError', 'candidateError', 'bothError'],
      properties: { same: count, changed: count, baselineError: count, candidateError: count, bothError: count },
    },
  },
};
const validateReport = schemaValidator(reportSchema);
const validateVerdict = schemaValidator(verdictSchema);

type RawVerdict = { passed: boolean; failures?: GateVerdict['failures']; failed?: GateVerdict['failures'] };

export const ALARM_STATES: readonly AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

export interface EvidenceInput {
  readonly report: unknown;
  readonly reportFile: string;
  /** A verdict document of its own, when the report does not carry one. */
  readonly verdict?: unknown;
  readonly verdictFile?: string;
  readonly alarms: Readonly<Record<string, AlarmState>>;
}

/** Builds evidence from a shadow report (and verdict); throws {@link ConfigError} with pointers on bad input. */
export function parseEvidence(input: EvidenceInput): Evidence {
  const issues: ConfigIssue[] = validateReport(input.report, input.reportFile);
  if (issues.length > 0) throw new ConfigError(issues);
  const report = input.report as { totals: ShadowTotals; outcomes: ShadowOutcomes; verdict?: RawVerdict; gate?: RawVerdict | null };
  let verdict: RawVerdict | undefined;
  for (const key of ['verdict', 'gate'] as const) {
    const embedded = report[key];
    if (embedded === undefined || embedded === null || verdict !== undefined) continue;
    const vIssues = validateVerdict(embedded, input.reportFile).map((i) => ({ ...i, pointer: `/${key}${i.pointer}` }));
    if (vIssues.length > 0) throw new ConfigError(vIssues);
    verdict = embedded;
  }
  if (input.verdict !== undefined) {
    const file = input.verdictFile ?? '<verdict>';
    // Either a verdict itself or a command's JSON output carrying one under `gate` / `verdict`.
    const wrapper = input.verdict as { gate?: unknown; verdict?: unknown };
    const inner = typeof input.verdict === 'object' && input.verdict !== null && !('passed' in input.verdict) ? (wrapper.verdict ?? wrapper.gate) : input.verdict;
    const vIssues = validateVerdict(inner, file);
    if (vIssues.length > 0) throw new ConfigError(vIssues);
    verdict = inner as RawVerdict;
  }
  if (verdict === undefined) {
    throw new ConfigError([{ file: input.reportFile, pointer: '', message: 'no gate verdict: the report has neither "verdict" nor "gate"; pass the verdict file separately' }]);
  }
  const { read, quarantined, compared } = report.totals;
  const { same, changed, baselineError, candidateError, bothError } = report.outcomes;
  return {
    source: input.reportFile,
    totals: { read, quarantined, compared },
    outcomes: { same, changed, baselineError, candidateError, bothError },
    verdict: { passed: verdict.passed, failures: (verdict.failures ?? verdict.failed ?? []).map(({ threshold, measured, limit }) => ({ threshold, measured, limit })) },
    alarms: { ...input.alarms },
  };
}
