/**
 * report.html: one self-contained file (inline CSS and SVG, no script, nothing fetched) an
 * operator can open from a CI artifact: fidelity banner, gate verdict, totals, the old→new
 * confusion heat-map, outcome bars per service tier and classification, the accounts and
 * models with the most changes, and the sampled changed records. Pure.
 */
import { OUTCOME_KINDS, type OutcomeKind } from './aggregate.js';
import type { GateVerdict } from './gate.js';
import { describeDamage, type ShadowReport } from './report.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const int = (n: number): string => n.toLocaleString('en-US');

const COLORS: Record<OutcomeKind, string> = {
  same: '#9ec5a0',
  changed: '#f0b44c',
  baselineError: '#8d99ae',
  candidateError: '#d9534f',
  bothError: '#6c2f2f',
};

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#57606a;margin-bottom:16px}
.banner{padding:12px 16px;border-radius:6px;margin:12px 0;font-weight:600}
.ok{background:#dafbe1;border:1px solid #4ac26b}.warn{background:#fff8c5;border:1px solid #d4a72c}.bad{background:#ffebe9;border:1px solid #ff8182}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#57606a;font-size:12px}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.fail{color:#cf222e;font-weight:600}.pass{color:#1a7f37}
svg text{font:11px system-ui,sans-serif}.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
code{font-size:12px}
`;

function heatmap(report: ShadowReport): string {
  const { labels, matrix } = report.confusion;
  const cell = 54;
  const left = 70;
  const top = 40;
  const n = labels.length;
  let max = 0;
  for (const row of matrix) for (const v of row) max = Math.max(max, v);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(left + n * cell + 10, 600)}" height="${top + n * cell + 30}" role="img" aria-label="baseline to candidate confusion matrix">`);
  parts.push(`<text x="${left + (n * cell) / 2}" y="12" text-anchor="middle" font-weight="600">candidate →</text>`);
  parts.push(`<text x="12" y="${top + (n * cell) / 2}" text-anchor="middle" font-weight="600" transform="rotate(-90 12 ${top + (n * cell) / 2})">baseline →</text>`);
  labels.forEach((label, i) => {
    parts.push(`<text x="${left + i * cell + cell / 2}" y="${top - 6}" text-anchor="middle">${esc(label)}</text>`);
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(label)}</text>`);
  });
  matrix.forEach((row, r) => {
    row.forEach((v, c) => {
      // Log scale: a handful of changed records must still be visible next to millions of same ones.
      const intensity = v === 0 || max === 0 ? 0 : Math.log1p(v) / Math.log1p(max);
      const diagonal = r === c && r < n - 1;
      const hue = diagonal ? 140 : r === n - 1 || c === n - 1 ? 0 : c > r ? 30 : 210;
      const fill = v === 0 ? '#ffffff' : `hsl(${hue} 70% ${Math.round(92 - intensity * 52)}%)`;
      const x = left + c * cell;
      const y = top + r * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#d0d7de"><title>${esc(labels[r] ?? '')} → ${esc(labels[c] ?? '')}: ${int(v)}</title></rect>`);
      if (v > 0) parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" fill="${intensity > 0.6 ? '#fff' : '#1f2328'}">${v >= 10000 ? `${Math.round(v / 1000)}k` : v}</text>`);
    });
  });
  parts.push(`<text x="${left}" y="${top + n * cell + 20}">green: unchanged · orange: downgrade · blue: upgrade · red: refused (fail-closed)</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function stackedBars(title: string, rows: readonly [string, Record<OutcomeKind, number>][]): string {
  const width = 560;
  const labelW = 230;
  const barH = 18;
  const gap = 6;
  const totals = rows.map(([, c]) => OUTCOME_KINDS.reduce((s, k) => s + c[k], 0));
  const max = Math.max(1, ...totals);
  const height = rows.length * (barH + gap) + 4;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + width + 190}" height="${height}" role="img" aria-label="${esc(title)}">`];
  rows.forEach(([key, counts], i) => {
    const y = i * (barH + gap);
    parts.push(`<text x="${labelW - 6}" y="${y + barH - 5}" text-anchor="end">${esc(key)}</text>`);
    let x = labelW;
    for (const k of OUTCOME_KINDS) {
      const w = (counts[k] / max) * width;
      if (w <= 0) continue;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(w, 1).toFixed(1)}" height="${barH}" fill="${COLORS[k]}"><title>${esc(key)} ${k}: ${int(counts[k])}</title></rect>`);
      x += w;
    }
    const total = totals[i] ?? 0;
    parts.push(`<text x="${x + 6}" y="${y + barH - 5}">${int(total)} (${pct(total === 0 ? 0 : counts.changed / total)} changed)</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function legend(): string {
  return `<p class="legend">${OUTCOME_KINDS.map((k) => `<span><i style="background:${COLORS[k]}"></i>${k}</span>`).join('')}</p>`;
}

function topTable(what: string, entries: ShadowReport['top']['accounts']): string {
  if (entries.length === 0) return `<p>No ${what} has changed or refused records.</p>`;
  const max = Math.max(1, ...entries.map((e) => e.changed + e.errors));
  const rows = entries
    .map(
      (e) =>
        `<tr><td><code>${esc(e.key)}</code></td><td class="n">${int(e.compared)}</td><td class="n">${int(e.changed)}</td><td class="n">${int(e.errors)}</td><td class="n">${pct(e.changedShare)}</td>` +
        `<td><svg width="160" height="12"><rect width="${((160 * e.changed) / max).toFixed(1)}" height="12" fill="${COLORS.changed}"/><rect x="${((160 * e.changed) / max).toFixed(1)}" width="${((160 * e.errors) / max).toFixed(1)}" height="12" fill="${COLORS.candidateError}"/></svg></td></tr>`,
    )
    .join('');
  return `<table><tr><th>${what}</th><th>compared</th><th>changed</th><th>errors</th><th>changed share</th><th></th></tr>${rows}</table>`;
}

function sideText(side: ShadowReport['sample']['records'][number]['record']['baseline']): string {
  if ('error' in side) return `<span class="fail">${esc(side.error)}</span>${side.attribute === null ? '' : ` ${esc(side.attribute)}=${esc(String(side.value))}`}`;
  return `${esc(side.tier)} q${side.qos}${side.preemptable ? ' preemptable' : ''} <code>${esc(side.ruleId)}</code>`;
}

export function renderHtml(report: ShadowReport, verdict?: GateVerdict): string {
  const f = report.fidelity;
  const fidelityClass = f.status === 'reproduced' ? 'ok' : f.status === 'unchecked' ? 'warn' : 'bad';
  const b = report.breakdowns;
  const sampleRows = report.sample.records
    .map(
      ({ record: r }) =>
        `<tr><td><code>${esc(r.requestId)}</code></td><td>${esc(r.outcome)}</td><td><code>${esc(r.accountId)}</code></td><td>${esc(r.modelId)}</td><td>${esc(r.classification)}</td><td>${esc(r.serviceTier ?? '(none)')}</td><td>${esc(r.requestType ?? '(none)')}</td><td>${sideText(r.baseline)}</td><td>${sideText(r.candidate)}</td></tr>`,
    )
    .join('');
  const gate =
    verdict === undefined
      ? ''
      : `<h2>Gate</h2><div class="banner ${verdict.passed ? 'ok' : 'bad'}">Gate ${verdict.passed ? 'PASSED' : `FAILED: ${verdict.failed.length} of ${verdict.checks.length} thresholds`}</div>` +
        `<table><tr><th>threshold</th><th>result</th><th>measured</th></tr>${verdict.checks
          .map((c) => `<tr><td><code>${esc(c.threshold)}</code></td><td class="${c.passed ? 'pass' : 'fail'}">${c.passed ? 'pass' : 'FAIL'}</td><td>${esc(c.detail)}</td></tr>`)
          .join('')}</table>`;
  const cards = [
    ['read', report.totals.read],
    ['compared', report.totals.compared],
    ['quarantined', report.totals.quarantined],
    ...OUTCOME_KINDS.map((k) => [k, report.outcomes[k]] as const),
  ]
    .map(([k, v]) => `<div class="card"><b>${int(v as number)}</b><span>${esc(String(k))}</span></div>`)
    .join('');
  const quarantine = Object.entries(report.quarantine.byReason);
  const damageText = describeDamage(report.damage);
  const damage =
    damageText === undefined
      ? ''
      : `<div class="banner bad">${esc(damageText)}</div><table><tr><th>damage</th><th>where</th><th>what</th></tr>${report.damage.events
          .map((e) => `<tr><td>${esc(e.kind)}</td><td><code>${esc(e.where)}</code></td><td>${esc(e.detail)}</td></tr>`)
          .join('')}</table>`;
  const partial =
    report.run?.partial === true
      ? `<div class="banner warn">PARTIAL REPORT — the replay was ${esc(String(report.run.interrupted))}; resume it from ${esc(String(report.run.checkpoint))}. No gate applies to it.</div>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Shadow replay: ${esc(report.rulesets.baseline.name)} → ${esc(report.rulesets.candidate.name)}</title><style>${CSS}</style></head>
<body><main>
<h1>Shadow replay: ${esc(report.rulesets.baseline.name)} → ${esc(report.rulesets.candidate.name)}</h1>
<div class="sub">baseline <code>${esc(report.rulesets.baseline.name)}</code> (${esc(report.rulesets.baseline.scheme)}) · candidate <code>${esc(report.rulesets.candidate.name)}</code> (${esc(report.rulesets.candidate.scheme)})</div>
<div class="banner ${fidelityClass}">Baseline fidelity ${pct(f.rate)} — ${esc(f.message)}</div>
${partial}
${damage}
${gate}
<h2>Totals</h2><div class="cards">${cards}</div>
<p>Changes: ${int(report.changes.priority)} priority (${int(report.changes.upgrades)} up, ${int(report.changes.downgrades)} down, ${int(report.changes.withinLegacyLevel)} within the same legacy level), ${int(report.changes.qos)} QoS, ${int(report.changes.preemptable)} preemptable.</p>
<h2>Old → new tier</h2>${heatmap(report)}
<h2>By service tier</h2>${legend()}${stackedBars('outcomes by service tier', Object.entries(b.serviceTier))}
<h2>By classification</h2>${stackedBars('outcomes by classification', Object.entries(b.classification))}
<h2>By request type</h2>${stackedBars('outcomes by request type', Object.entries(b.requestType))}
<h2>Top changed accounts</h2>${topTable('account', report.top.accounts)}
<h2>Top changed models</h2>${topTable('model', report.top.models)}
<h2>Session tokens</h2><p>${int(report.tokens.checked)} checked, ${int(report.tokens.valid)} valid, ${int(report.tokens.absent)} records without a token${report.tokens.unchecked > 0 ? `, ${int(report.tokens.unchecked)} not verified (no keys)` : ''}.</p>
${Object.keys(report.tokens.invalid).length + Object.keys(report.tokens.mismatch).length === 0 ? '' : `<table><tr><th>token finding</th><th>records</th></tr>${[...Object.entries(report.tokens.invalid).map(([k, v]) => [`invalid: ${k}`, v] as const), ...Object.entries(report.tokens.mismatch).map(([k, v]) => [`reader mismatch: ${k}`, v] as const)].map(([k, v]) => `<tr><td>${esc(k)}</td><td class="n">${int(v)}</td></tr>`).join('')}</table>`}
${quarantine.length === 0 ? '' : `<h2>Quarantined</h2><p>Written to <code>${esc(report.quarantine.file)}</code> with position and reason.</p><table><tr><th>reason</th><th>records</th></tr>${quarantine.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="n">${int(v)}</td></tr>`).join('')}</table>`}
<h2>Sampled records that did not come out the same (${report.sample.records.length} of up to ${report.sample.size}, seed ${report.sample.seed})</h2>
${sampleRows === '' ? '<p>None.</p>' : `<table><tr><th>request</th><th>outcome</th><th>account</th><th>model</th><th>classification</th><th>service tier</th><th>request type</th><th>baseline</th><th>candidate</th></tr>${sampleRows}</table>`}
</main></body></html>
`;
}
