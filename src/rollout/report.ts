/**
 * The rollout report: the timeline of a migration's steps, deployments, bakes, evidence, alarms
 * and rollbacks, folded from its event stream, with the load's per-tier latency and error
 * counts over the whole rollout; rendered as Markdown and as one self-contained HTML file
 * (inline CSS, no script), as the shadow report is. Pure: the caller reads the stream and the
 * load report and writes the files.
 */
import type { LoadReport } from '../load/index.js';
import { describeFlags, fold, historyView, type MigrationEvent } from '../migration/index.js';

/** The parts of a `prio load --json` report the rollout report shows. */
export type LoadSummary = Pick<LoadReport, 'sent' | 'durationMs' | 'achievedRate' | 'statuses' | 'unexpected' | 'latencyMs' | 'configVersionsSeen'> & {
  readonly sessions: Pick<LoadReport['sessions'], 'pool' | 'compared' | 'misRanked' | 'tierChanged'>;
};

export interface TimelineEntry {
  /** The migration's clock (a rehearsal's runs faster). */
  readonly at: string;
  /** The wall clock when it was recorded. */
  readonly recordedAt: string;
  readonly actor: string;
  readonly kind: 'plan' | 'step' | 'evidence' | 'deployment' | 'bake' | 'rollback' | 'pause' | 'finish';
  readonly text: string;
  readonly bad: boolean;
}

export interface StepSummary {
  readonly step: string;
  readonly stage: string;
  readonly phase: number;
  readonly runs: number;
  readonly status: string;
  readonly deployments: readonly string[];
  readonly evidence: readonly string[];
}

export interface RolloutReport {
  readonly migration: string;
  readonly title: string;
  readonly status: string;
  readonly generatedAt: string;
  readonly timeline: readonly TimelineEntry[];
  readonly steps: readonly StepSummary[];
  readonly rollbacks: readonly { readonly at: string; readonly toStep: string; readonly undone: readonly string[]; readonly reason: string }[];
  readonly alarms: readonly { readonly at: string; readonly step: string; readonly alarm: string; readonly state: string }[];
  readonly liveFlags: readonly { readonly stage: string; readonly flags: string }[];
  readonly load?: LoadSummary;
}

export interface StoredMigrationEvent {
  readonly event: MigrationEvent;
  readonly recordedAt: string;
}

const KIND: Record<MigrationEvent['type'], TimelineEntry['kind']> = {
  MigrationPlanned: 'plan',
  StepStarted: 'step',
  EvidenceAttached: 'evidence',
  DeploymentStarted: 'deployment',
  DeploymentCompleted: 'bake',
  StepCompleted: 'step',
  MigrationPaused: 'pause',
  MigrationResumed: 'pause',
  RolledBack: 'rollback',
  StepWithdrawn: 'rollback',
  MigrationAborted: 'finish',
  MigrationCompleted: 'finish',
};

export function buildRolloutReport(stored: readonly StoredMigrationEvent[], load: LoadSummary | undefined, generatedAt: string): RolloutReport {
  const events = stored.map((s) => s.event);
  const state = fold(events);
  const plan = state.plan;
  const history = historyView(events);
  const timeline: TimelineEntry[] = history.map((h, i) => {
    const e = events[i] as MigrationEvent;
    let text = h.summary;
    if (e.type === 'DeploymentCompleted') {
      const step = plan?.steps.find((s) => s.id === e.stepId);
      text += step === undefined ? '' : `; baking ${step.bakeMinutes} min`;
    }
    if (e.type === 'EvidenceAttached' && !e.passed) text += `: ${e.failures.join('; ')}`;
    if (h.reason !== undefined && e.type !== 'EvidenceAttached') text += ` — ${h.reason}`;
    return {
      at: h.at,
      recordedAt: stored[i]?.recordedAt ?? h.at,
      actor: h.actor,
      kind: KIND[e.type],
      text,
      bad: e.type === 'RolledBack' || e.type === 'StepWithdrawn' || (e.type === 'EvidenceAttached' && !e.passed) || e.type === 'MigrationAborted',
    };
  });
  const steps: StepSummary[] = (plan?.steps ?? []).map((s) => ({
    step: s.id,
    stage: s.stage,
    phase: s.phase,
    runs: state.steps[s.id]?.runs ?? 0,
    status: state.steps[s.id]?.status ?? 'pending',
    deployments: events.flatMap((e) => (e.type === 'DeploymentStarted' && e.stepId === s.id ? [`${e.deployment.environment} #${e.deployment.number} (flags v${e.deployment.configVersion})`] : [])),
    evidence: events.flatMap((e) =>
      e.type === 'EvidenceAttached' && e.stepId === s.id ? [`${e.passed ? 'passed' : 'FAILED'}: ${e.evidence.totals.compared} compared, ${e.evidence.outcomes.changed} changed`] : [],
    ),
  }));
  // A withdrawn step is listed with the rollbacks: it stays where it was, nothing undone was live.
  const rollbacks = events.flatMap((e) =>
    e.type === 'RolledBack'
      ? [{ at: e.at, toStep: e.toStep, undone: e.undoneSteps, reason: e.reason }]
      : e.type === 'StepWithdrawn'
        ? [{ at: e.at, toStep: `${e.stepId} withdrawn (nothing deployed)`, undone: [e.stepId], reason: e.reason }]
        : [],
  );
  const alarms = events.flatMap((e) => (e.type === 'EvidenceAttached' ? Object.entries(e.evidence.alarms).map(([alarm, st]) => ({ at: e.at, step: e.stepId, alarm, state: st })) : []));
  return {
    migration: plan?.id ?? '?',
    title: plan?.title ?? '',
    status: state.status,
    generatedAt,
    timeline,
    steps,
    rollbacks,
    alarms,
    liveFlags: Object.entries(state.liveFlags).map(([stage, f]) => ({ stage, flags: describeFlags(f) })),
    ...(load === undefined ? {} : { load }),
  };
}

const mdRow = (cells: readonly (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
const mdTable = (head: readonly string[], rows: readonly (readonly (string | number)[])[]) =>
  [mdRow(head), mdRow(head.map(() => '---')), ...rows.map(mdRow)].join('\n');
const ms = (n: number) => n.toFixed(1);

function latencyRows(load: LoadSummary): (string | number)[][] {
  return [...Object.entries(load.latencyMs.byTier), ['all', load.latencyMs.all] as const].map(([tier, r]) => [tier, r.count, ms(r.p50), ms(r.p90), ms(r.p99), ms(r.p999), ms(r.max)]);
}

export function renderRolloutMarkdown(r: RolloutReport): string {
  const out = [`## Rollout: ${r.migration}`, '', r.title, '', `Status **${r.status}** · ${r.timeline.length} events · generated ${r.generatedAt}`, ''];
  out.push('### Steps', '', mdTable(['step', 'phase', 'stage', 'status', 'runs', 'deployments', 'evidence'], r.steps.map((s) => [s.step, s.phase, s.stage, s.status, s.runs, s.deployments.join(', ') || '-', s.evidence.join('; ') || '-'])), '');
  out.push('### Live flags', '', mdTable(['stage', 'flags'], r.liveFlags.map((f) => [f.stage, f.flags])), '');
  out.push('### Rollbacks', '', r.rollbacks.length === 0 ? 'None.' : mdTable(['at', 'to', 'undone', 'reason'], r.rollbacks.map((b) => [b.at, b.toStep, b.undone.join(', '), b.reason])), '');
  out.push('### Alarms at evidence time', '', r.alarms.length === 0 ? 'None recorded.' : mdTable(['at', 'step', 'alarm', 'state'], r.alarms.map((a) => [a.at, a.step, a.alarm, a.state])), '');
  if (r.load !== undefined) {
    const l = r.load;
    out.push('### Load across the rollout', '');
    out.push(`${l.sent.toLocaleString('en-US')} requests in ${(l.durationMs / 1000).toFixed(0)} s (${l.achievedRate}/s); statuses ${Object.entries(l.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')}; **${l.unexpected} failed**; sessions: ${l.sessions.compared} compared, **${l.sessions.misRanked} mis-ranked**, ${l.sessions.tierChanged} changed tier; ${l.configVersionsSeen.length} configuration versions seen.`, '');
    out.push(mdTable(['tier', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'], latencyRows(l)), '');
  }
  out.push('### Timeline', '', mdTable(['at (migration clock)', 'recorded', 'actor', 'what'], r.timeline.map((t) => [t.at, t.recordedAt, t.actor, t.bad ? `**${t.text}**` : t.text])), '');
  return out.join('\n');
}

const esc = (s: string | number): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const htmlTable = (head: readonly string[], rows: readonly (readonly (string | number)[])[], bad: (i: number) => boolean = () => false) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row, i) => `<tr${bad(i) ? ' class="bad"' : ''}>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

const CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1200px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#57606a}.banner{padding:12px 16px;border-radius:6px;margin:12px 0;font-weight:600}
.ok{background:#dafbe1;border:1px solid #4ac26b}.warn{background:#fff8c5;border:1px solid #d4a72c}
table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6}tr.bad td{background:#ffebe9}.k{display:inline-block;padding:0 6px;border-radius:4px;background:#eaeef2;font-size:12px}`;

export function renderRolloutHtml(r: RolloutReport): string {
  const banner = r.status === 'completed' ? 'ok' : 'warn';
  const load = r.load;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rollout ${esc(r.migration)}</title><style>${CSS}</style></head><body><main>
<h1>Rollout: ${esc(r.migration)}</h1><div class="sub">${esc(r.title)} · generated ${esc(r.generatedAt)}</div>
<div class="banner ${banner}">Status ${esc(r.status)}: ${r.steps.filter((s) => s.status === 'completed').length} of ${r.steps.length} steps completed, ${r.rollbacks.length} rollback(s)${load === undefined ? '' : `, load: ${load.unexpected} failed requests, ${load.sessions.misRanked} mis-ranked sessions`}</div>
<h2>Steps</h2>${htmlTable(['step', 'phase', 'stage', 'status', 'runs', 'deployments', 'evidence'], r.steps.map((s) => [s.step, s.phase, s.stage, s.status, s.runs, s.deployments.join(', ') || '-', s.evidence.join('; ') || '-']))}
<h2>Live flags</h2>${htmlTable(['stage', 'flags'], r.liveFlags.map((f) => [f.stage, f.flags]))}
<h2>Rollbacks</h2>${r.rollbacks.length === 0 ? '<p>None.</p>' : htmlTable(['at', 'to', 'undone', 'reason'], r.rollbacks.map((b) => [b.at, b.toStep, b.undone.join(', '), b.reason]), () => true)}
<h2>Alarms at evidence time</h2>${r.alarms.length === 0 ? '<p>None recorded.</p>' : htmlTable(['at', 'step', 'alarm', 'state'], r.alarms.map((a) => [a.at, a.step, a.alarm, a.state]), (i) => r.alarms[i]?.state !== 'OK')}
${
  load === undefined
    ? ''
    : `<h2>Load across the rollout</h2><p>${esc(load.sent.toLocaleString('en-US'))} requests in ${esc((load.durationMs / 1000).toFixed(0))} s (${esc(load.achievedRate)}/s); statuses ${esc(Object.entries(load.statuses).map(([k, v]) => `${k}: ${v}`).join(', '))}; <b>${esc(load.unexpected)} failed</b>; sessions ${esc(load.sessions.compared)} compared, <b>${esc(load.sessions.misRanked)} mis-ranked</b>, ${esc(load.sessions.tierChanged)} changed tier.</p>${htmlTable(['tier', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'], latencyRows(load))}`
}
<h2>Timeline</h2>${htmlTable(['at (migration clock)', 'recorded', 'actor', 'kind', 'what'], r.timeline.map((t) => [t.at, t.recordedAt, t.actor, t.kind, t.text]), (i) => r.timeline[i]?.bad === true)}
</main></body></html>
`;
}
