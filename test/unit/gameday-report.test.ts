import { describe, expect, it } from 'vitest';
import { formatMs, renderGameDayHtml, renderGameDayMarkdown, renderResultsJson, type GameDayReport, type ReportedRun } from '../gameday/report.js';
import { observe } from '../gameday/scenario.js';

const passing: ReportedRun = {
  scenario: {
    id: 'appconfig-corrupt-document',
    title: 'A corrupt configuration body is refused',
    family: 'config',
    fault: 'corrupt body on GetLatestConfiguration',
    expected: 'refused, counted, last good kept',
    hypothesis: { steadyState: 'decisions answered 200', bound: '100% before, during and after' },
    ci: true,
    timeoutMs: 25_000,
  },
  passed: true,
  outcome: {
    faultObserved: true,
    faultEvidence: '2 corrupt answers served',
    observations: [observe('before', 'answered 200', 100, { text: '= 100%', holds: true }, '%'), observe('during', 'refused documents', 2, { text: '≥ 1', holds: true })],
    timeToDetectMs: 420,
    timeToRecoverMs: 1500,
  },
  startedAt: '2026-12-04T09:00:00.000Z',
  durationMs: 7300,
  log: ['0.1s own endpoint up', '2.0s fault injected'],
  dir: '/tmp/gd/appconfig-corrupt-document',
};

const hostile = '<script>alert("x")</script> & | pipe';
const failing: ReportedRun = {
  scenario: {
    id: 'hostile-scenario',
    title: `title ${hostile}`,
    family: 'network',
    fault: `fault ${hostile}`,
    expected: 'expected',
    hypothesis: { steadyState: `state ${hostile}`, bound: 'p99 ≤ 50 ms' },
    ci: false,
    timeoutMs: 60_000,
  },
  passed: false,
  failure: `during p99 = 812ms, bound ≤ 50 ms ${hostile}`,
  outcome: {
    faultObserved: true,
    faultEvidence: `evidence ${hostile}`,
    observations: [observe('during', `p99 ${hostile}`, 812.345, { text: '≤ 50 ms', holds: false }, 'ms'), observe('after', 'recovered', true)],
    notes: [`note ${hostile}`],
  },
  startedAt: '2026-12-04T09:01:00.000Z',
  durationMs: 61_000,
  log: [`log ${hostile}`, 'a line with ``` backticks', 'a corrupt body: \u0000\u00ff\u00fe<corrupt>'],
  dir: '/tmp/gd/hostile-scenario',
};

const report: GameDayReport = { generatedAt: '2026-12-04T09:02:00.000Z', command: 'npm run gameday -- --only a,b', runs: [passing, failing] };

describe('game-day report', () => {
  it('formats durations for people', () => {
    expect(formatMs(undefined)).toBe('-');
    expect(formatMs(420)).toBe('420 ms');
    expect(formatMs(61_000)).toBe('61.0 s');
  });

  it('Markdown: a summary row per scenario, then each scenario with its figures and failure line', () => {
    const md = renderGameDayMarkdown(report);
    expect(md).toContain('**1 of 2 scenarios passed, 1 failed**');
    expect(md).toContain('| appconfig-corrupt-document | config | PASS | 420 ms | 1.5 s | 7.3 s |');
    expect(md).toContain('| hostile-scenario | network | FAIL | - | - | 61.0 s |');
    expect(md).toContain('| before | answered 200 | 100 % | = 100% | yes |');
    expect(md).toContain('| during | refused documents | 2 | ≥ 1 | yes |');
    // A hostile pipe cannot add a column; the failing figure is marked.
    expect(md).toContain('| during | p99 &lt;script&gt;alert("x")&lt;/script&gt; &amp; \\| pipe | 812.35 ms | ≤ 50 ms | NO |');
    // Outside code fences (shown as written by any renderer) no scenario text is HTML.
    expect(md.replace(/(`{3,})text\n[\s\S]*?\n\1/g, '')).not.toContain('<script');
    expect(md).toContain('FAIL — during p99 = 812ms, bound ≤ 50 ms');
    expect(md).toContain('- **Hypothesis**: decisions answered 200 — bound: 100% before, during and after');
    // The log's own backticks cannot close its fence.
    expect(md).toContain('```text\n0.1s own endpoint up');
    expect(md).toContain('````text\nlog <script>alert("x")</script> & | pipe\na line');
    expect(md).toContain('a line with ``` backticks\na corrupt body: \uFFFD\u00ff\u00fe<corrupt>\n````');
  });

  it('HTML: self-contained, every piece of scenario text escaped', () => {
    const html = renderGameDayHtml(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; | pipe');
    expect(html.match(/&lt;script&gt;/g)?.length).toBeGreaterThanOrEqual(8);
    expect(html).toContain('<a href="#s-appconfig-corrupt-document">appconfig-corrupt-document</a>');
    expect(html).toContain('<tr class="bad"><td><a href="#s-hostile-scenario">hostile-scenario</a></td><td>network</td><td>FAIL</td>');
    expect(html).toContain('<td>p99 &lt;script&gt;');
    expect(html).toContain('1 of 2 scenarios passed, 1 failed');
    expect(html).toContain('class="banner warn"');
  });

  it('control characters from a corrupt body become U+FFFD, so the report stays text', () => {
    for (const text of [renderGameDayMarkdown(report), renderGameDayHtml(report)]) {
      expect(text).not.toContain('\u0000');
      expect(text).toContain('a corrupt body: \uFFFD\u00ff\u00fe');
    }
  });

  it('an interrupted run says so and names what never ran', () => {
    const cut: GameDayReport = { ...report, runs: [passing], interrupted: 'SIGINT', notRun: ['hostile-scenario'] };
    expect(renderGameDayMarkdown(cut)).toContain('1 of 1 scenarios passed, 0 failed — interrupted by SIGINT, 1 not run');
    expect(renderGameDayMarkdown(cut)).toContain('Not run (interrupted): hostile-scenario');
    expect(renderGameDayHtml(cut)).toContain('class="banner warn"');
  });

  it('results.json holds data only, scenario code left out', () => {
    const withCode = { ...passing, scenario: { ...passing.scenario, run: () => Promise.reject(new Error('never')) } };
    const parsed = JSON.parse(renderResultsJson({ ...report, runs: [withCode] })) as { runs: { scenario: Record<string, unknown>; outcome: { timeToDetectMs: number } }[] };
    expect(Object.keys(parsed.runs[0]?.scenario ?? {}).sort()).toEqual(['ci', 'expected', 'family', 'fault', 'hypothesis', 'id', 'timeoutMs', 'title']);
    expect(parsed.runs[0]?.outcome.timeToDetectMs).toBe(420);
  });
});
