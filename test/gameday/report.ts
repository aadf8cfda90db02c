/**
 * The game-day report: a summary table (scenario, family, verdict, time to detect and to recover)
 * and, per scenario, what was injected, what was expected, the steady-state hypothesis, every
 * observation with its bound, the verdict with its failure line, and the scenario's log. Rendered
 * as Markdown (fits a pull request) and as one self-contained HTML file (inline CSS, no script,
 * nothing fetched), like the shadow and rollout reports. Pure: the runner writes the files.
 */
import type { FaultFamily, Observation, Scenario, ScenarioOutcome } from './scenario.js';

/** One scenario's run as the report sees it: the runner's ScenarioRun without the code. */
export interface ReportedRun {
  readonly scenario: Pick<Scenario, 'id' | 'title' | 'family' | 'fault' | 'expected' | 'hypothesis' | 'ci' | 'timeoutMs'>;
  readonly passed: boolean;
  readonly failure?: string;
  readonly outcome?: ScenarioOutcome;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly log: readonly string[];
  readonly dir: string;
}

export interface GameDayReport {
  readonly generatedAt: string;
  /** The command line that produced it, for a reader who wants to run it again. */
  readonly command: string;
  readonly runs: readonly ReportedRun[];
  /** Set when the game day was cut short (SIGINT, SIGTERM): what stopped it. */
  readonly interrupted?: string;
  /** Scenarios chosen but never started because the run was interrupted. */
  readonly notRun?: readonly string[];
}

/** The run without its `run` function and with nothing but data: what results.json holds. */
export function reportedRun(run: ReportedRun): ReportedRun {
  const { id, title, family, fault, expected, hypothesis, ci, timeoutMs } = run.scenario;
  return {
    scenario: { id, title, family, fault, expected, hypothesis, ci, timeoutMs },
    passed: run.passed,
    ...(run.failure === undefined ? {} : { failure: run.failure }),
    ...(run.outcome === undefined ? {} : { outcome: run.outcome }),
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    log: run.log,
    dir: run.dir,
  };
}

export function renderResultsJson(report: GameDayReport): string {
  return `${JSON.stringify({ ...report, runs: report.runs.map(reportedRun) }, null, 2)}\n`;
}

/** "1.2 s", "340 ms", or "-" when the scenario did not measure it. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function observedValue(o: Observation): string {
  const v = typeof o.value === 'number' ? (Number.isInteger(o.value) ? String(o.value) : o.value.toFixed(2)) : String(o.value);
  return o.unit === undefined ? v : `${v} ${o.unit}`;
}

const verdict = (r: ReportedRun): string => (r.passed ? 'PASS' : 'FAIL');

function tally(report: GameDayReport): { passed: number; failed: number; families: FaultFamily[] } {
  const passed = report.runs.filter((r) => r.passed).length;
  const families = [...new Set(report.runs.map((r) => r.scenario.family))].sort();
  return { passed, failed: report.runs.length - passed, families };
}

function headline(report: GameDayReport): string {
  const { passed, failed } = tally(report);
  const cut = report.interrupted === undefined ? '' : ` — interrupted by ${report.interrupted}${report.notRun !== undefined && report.notRun.length > 0 ? `, ${report.notRun.length} not run` : ''}`;
  return `${passed} of ${report.runs.length} scenarios passed, ${failed} failed${cut}`;
}

const summaryHead = ['scenario', 'family', 'verdict', 'detect', 'recover', 'duration'];
const summaryRow = (r: ReportedRun): string[] => [r.scenario.id, r.scenario.family, verdict(r), formatMs(r.outcome?.timeToDetectMs), formatMs(r.outcome?.timeToRecoverMs), formatMs(r.durationMs)];
const observationHead = ['phase', 'name', 'value', 'bound', 'ok'];
const observationRow = (o: Observation): string[] => [o.phase, o.name, observedValue(o), o.bound ?? '-', o.ok ? 'yes' : 'NO'];

// --- Markdown ------------------------------------------------------------------------------

/**
 * Text in Markdown: one line, pipes escaped so it cannot add a table column, and `&`, `<`, `>`
 * as entities so a renderer never takes scenario text for HTML (it still reads as written).
 */
const mdCell = (s: string): string =>
  s.replace(/\r?\n/g, ' ').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');

function mdTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const row = (cells: readonly string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
}

/** A fenced block whose fence is longer than any run of backticks inside it. */
function mdFence(lines: readonly string[]): string {
  const text = lines.join('\n');
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}

/**
 * Control characters (a corrupt body quoted in an error, say) become U+FFFD, so the report stays
 * text that any viewer opens; tabs and newlines stay.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const printable = (text: string): string => text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\uFFFD');

export function renderGameDayMarkdown(report: GameDayReport): string {
  const out: string[] = ['# Game day', '', `**${headline(report)}** · generated ${report.generatedAt} · \`${report.command}\``, ''];
  out.push(mdTable(summaryHead, report.runs.map(summaryRow)), '');
  if (report.notRun !== undefined && report.notRun.length > 0) out.push(`Not run (interrupted): ${report.notRun.join(', ')}`, '');
  for (const r of report.runs) {
    const s = r.scenario;
    out.push(`## ${r.passed ? '✅' : '❌'} ${mdCell(s.id)}: ${mdCell(s.title)}`, '');
    out.push(`- **Family**: ${s.family}${s.ci ? ' (CI subset)' : ''}`);
    out.push(`- **Fault**: ${mdCell(s.fault)}`);
    out.push(`- **Expected**: ${mdCell(s.expected)}`);
    out.push(`- **Hypothesis**: ${mdCell(s.hypothesis.steadyState)} — bound: ${mdCell(s.hypothesis.bound)}`);
    out.push(`- **Verdict**: ${r.passed ? 'PASS' : `FAIL — ${mdCell(r.failure ?? 'no reason given')}`}`);
    if (r.outcome !== undefined) out.push(`- **Fault observed**: ${r.outcome.faultObserved ? 'yes' : 'NO'} — ${mdCell(r.outcome.faultEvidence)}`);
    out.push(`- **Time to detect**: ${formatMs(r.outcome?.timeToDetectMs)} · **to recover**: ${formatMs(r.outcome?.timeToRecoverMs)} · **duration**: ${formatMs(r.durationMs)} (started ${r.startedAt})`, '');
    if (r.outcome !== undefined && r.outcome.observations.length > 0) out.push(mdTable(observationHead, r.outcome.observations.map(observationRow)), '');
    for (const note of r.outcome?.notes ?? []) out.push(`> ${mdCell(note)}`, '');
    if (r.log.length > 0) out.push('<details><summary>log</summary>', '', mdFence(r.log), '', '</details>', '');
  }
  return printable(`${out.join('\n')}\n`);
}

// --- HTML ----------------------------------------------------------------------------------

export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function htmlTable(head: readonly string[], rows: readonly (readonly string[])[], bad: (i: number) => boolean): string {
  const body = rows.map((row, i) => `<tr${bad(i) ? ' class="bad"' : ''}>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1200px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#57606a}.banner{padding:12px 16px;border-radius:6px;margin:12px 0;font-weight:600}
.ok{background:#dafbe1;border:1px solid #4ac26b}.warn{background:#ffebe9;border:1px solid #ff8182}
table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6}tr.bad td{background:#ffebe9}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
dt{font-weight:600}dd{margin:0}.fail{color:#cf222e;font-weight:600}.pass{color:#1a7f37;font-weight:600}
pre{background:#fff;border:1px solid #d0d7de;padding:8px;overflow-x:auto;font-size:12px}section{border-top:1px solid #d0d7de;margin-top:20px}`;

/** A fragment id for a scenario: ids are kebab-case, but the report never trusts that. */
const anchor = (id: string): string => `s-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function htmlScenario(r: ReportedRun): string {
  const s = r.scenario;
  const e = escapeHtml;
  const fields: [string, string][] = [
    ['family', `${e(s.family)}${s.ci ? ' (CI subset)' : ''}`],
    ['fault', e(s.fault)],
    ['expected', e(s.expected)],
    ['steady state', e(s.hypothesis.steadyState)],
    ['bound', e(s.hypothesis.bound)],
    ['verdict', r.passed ? '<span class="pass">PASS</span>' : `<span class="fail">FAIL</span> — ${e(r.failure ?? 'no reason given')}`],
    ...(r.outcome === undefined ? [] : ([['fault observed', `${r.outcome.faultObserved ? 'yes' : '<span class="fail">NO</span>'} — ${e(r.outcome.faultEvidence)}`]] as [string, string][])),
    ['time to detect', e(formatMs(r.outcome?.timeToDetectMs))],
    ['time to recover', e(formatMs(r.outcome?.timeToRecoverMs))],
    ['duration', `${e(formatMs(r.durationMs))} (started ${e(r.startedAt)})`],
  ];
  const observations = r.outcome?.observations ?? [];
  const notes = (r.outcome?.notes ?? []).map((n) => `<p>${e(n)}</p>`).join('');
  return `<section id="${anchor(s.id)}"><h2>${r.passed ? '✅' : '❌'} ${e(s.id)}: ${e(s.title)}</h2>
<dl>${fields.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join('')}</dl>
${observations.length === 0 ? '<p>No observations.</p>' : htmlTable(observationHead, observations.map(observationRow), (i) => observations[i]?.ok === false)}${notes}
${r.log.length === 0 ? '' : `<details><summary>log (${r.log.length} lines)</summary><pre>${e(r.log.join('\n'))}</pre></details>`}</section>`;
}

export function renderGameDayHtml(report: GameDayReport): string {
  const e = escapeHtml;
  const { failed } = tally(report);
  const ok = failed === 0 && report.interrupted === undefined;
  const summary = report.runs.map((r) => {
    const row = summaryRow(r).map(e);
    row[0] = `<a href="#${anchor(r.scenario.id)}">${row[0] ?? ''}</a>`;
    return `<tr${r.passed ? '' : ' class="bad"'}>${row.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  return printable(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Game day ${e(report.generatedAt)}</title><style>${CSS}</style></head><body><main>
<h1>Game day</h1><div class="sub">generated ${e(report.generatedAt)} · <code>${e(report.command)}</code></div>
<div class="banner ${ok ? 'ok' : 'warn'}">${e(headline(report))}</div>
<table><thead><tr>${summaryHead.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${summary.join('')}</tbody></table>
${report.notRun !== undefined && report.notRun.length > 0 ? `<p>Not run (interrupted): ${e(report.notRun.join(', '))}</p>` : ''}
${report.runs.map(htmlScenario).join('\n')}
</main></body></html>
`);
}
