/**
 * report.md: the report in a form that fits a pull-request comment. Fidelity first (a baseline
 * that does not reproduce production voids the rest), then the verdict, totals, the changes and
 * where they concentrate. Pure.
 */
import type { GateVerdict } from './gate.js';
import { describeDamage, type ShadowReport } from './report.js';

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const int = (n: number): string => n.toLocaleString('en-US');

function mdTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number): string => (typeof v === 'number' ? int(v) : v.replace(/\|/g, '\\|'));
  const align = headers.map((_, c) => (rows.length > 0 && rows.every((r) => typeof r[c] === 'number') ? '---:' : '---'));
  return [`| ${headers.join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

export function renderMarkdown(report: ShadowReport, verdict?: GateVerdict): string {
  const out: string[] = [];
  const { fidelity, totals, outcomes, shares, changes } = report;
  out.push(`## Shadow replay: \`${report.rulesets.baseline.name}\` → \`${report.rulesets.candidate.name}\``, '');
  const icon = fidelity.status === 'reproduced' ? '✅' : fidelity.status === 'unchecked' ? '⚠️' : '❌';
  out.push(`**Baseline fidelity ${icon} ${pct(fidelity.rate)}** — ${fidelity.message}`, '');
  if (fidelity.status === 'not-reproduced') {
    const worst = Object.entries(fidelity.mismatches).sort((a, b) => b[1] - a[1]).slice(0, 5);
    out.push(mdTable(['observed → baseline', 'records'], worst.map(([k, v]) => [`\`${k.replace('>', ' → ')}\``, v])), '');
  }
  if (report.run?.partial === true) {
    out.push(`**⚠️ PARTIAL REPORT — the replay was ${String(report.run.interrupted)}; resume it from ${String(report.run.checkpoint)}. No gate applies to it.**`, '');
  }
  const damage = describeDamage(report.damage);
  if (damage !== undefined) {
    out.push(`**❌ ${damage}**`, '');
    out.push(mdTable(['damage', 'where', 'what'], report.damage.events.map((e) => [e.kind, `\`${e.where}\``, e.detail])), '');
  }
  if (verdict !== undefined) {
    out.push(verdict.passed ? '**Gate: PASSED** ✅' : `**Gate: FAILED** ❌ (${verdict.failed.length} of ${verdict.checks.length} thresholds)`, '');
    out.push(mdTable(['threshold', 'result', 'measured'], verdict.checks.map((c) => [`\`${c.threshold}\``, c.passed ? 'pass' : '**FAIL**', c.detail])), '');
  }
  out.push(`Read **${int(totals.read)}** records: **${int(totals.compared)}** compared, **${int(totals.quarantined)}** quarantined.`, '');
  out.push(
    mdTable(
      ['outcome', 'records', 'share'],
      (['same', 'changed', 'baselineError', 'candidateError', 'bothError'] as const).map((k) => [k, outcomes[k], pct(shares[k])]),
    ),
    '',
  );
  out.push(
    `Changes: ${int(changes.priority)} priority (${int(changes.upgrades)} up, ${int(changes.downgrades)} down, ${int(changes.withinLegacyLevel)} within the same legacy level), ${int(changes.qos)} QoS, ${int(changes.preemptable)} preemptable.`,
    '',
  );
  const downgrades = Object.entries(report.downgradesByTier);
  if (downgrades.length > 0) out.push(mdTable(['downgraded from', 'records'], downgrades.map(([k, v]) => [k, v])), '');
  const tops: [string, ShadowReport['top']['accounts']][] = [
    ['account', report.top.accounts],
    ['model', report.top.models],
  ];
  for (const [what, entries] of tops) {
    if (entries.length === 0) continue;
    out.push(`<details><summary>Top changed ${what}s</summary>`, '');
    out.push(mdTable([what, 'compared', 'changed', 'errors', 'changed share'], entries.map((e) => [`\`${e.key}\``, e.compared, e.changed, e.errors, pct(e.changedShare)])), '');
    out.push('</details>', '');
  }
  const t = report.tokens;
  const invalid = Object.entries(t.invalid).map(([k, v]) => `${k} ${int(v)}`).join(', ');
  const mismatch = Object.entries(t.mismatch).map(([k, v]) => `${k} ${int(v)}`).join(', ');
  out.push(
    `Session tokens: ${int(t.checked)} checked, ${int(t.valid)} valid${invalid === '' ? '' : `, invalid: ${invalid}`}; legacy/dual reader mismatches: ${mismatch === '' ? 'none' : mismatch}; ${int(t.absent)} records without a token${t.unchecked > 0 ? `, ${int(t.unchecked)} not verified (no keys)` : ''}.`,
    '',
  );
  const failClosed = Object.entries(report.failClosed);
  if (failClosed.length > 0) {
    out.push(mdTable(['fail-closed (side, code, attribute)', 'records'], failClosed.map(([k, v]) => [`\`${k.replace(/\|/g, ' · ')}\``, v])), '');
  }
  const quarantine = Object.entries(report.quarantine.byReason);
  if (quarantine.length > 0) {
    out.push(`Quarantined (see \`${report.quarantine.file}\`): ${quarantine.map(([k, v]) => `${k} ${int(v)}`).join(', ')}.`, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
