/**
 * Under sticky-session load, the flags of a 2-instance fleet go from phase 2 (tiered ranking,
 * v2 token writers, dual readers) straight back to the legacy flags, readers kept dual as the
 * decider's rollback keeps them. Sessions opened in phase 2 carry v2 tokens — some with tiers the
 * legacy scale cannot say (P90) — and must keep their tier after the rollback because dual
 * readers read them back: no request failed, no session mis-ranked, none changing tier, although
 * a fresh ranking after the rollback would put some of them elsewhere.
 */
import { renameSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withDualReaders, type Flags } from '../../../src/migration/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { ROOT } from '../../../scripts/rollout/rehearsal.js';
import { sleep } from '../../support/net.js';
import { decide, fleetMetric, load, scrape, serveFleet, statusCount } from '../fleet/gd-traffic.js';
import { observe, type Scenario } from '../scenario.js';

const PHASE2: Flags = { priorityScheme: 'dual', tokenReadMode: 'dual', tokenWriteMode: 'v2', serviceTierMode: 'enforced', rulesVersion: 'tiered-7.1' };
const LEGACY: Flags = { priorityScheme: 'legacy', tokenReadMode: 'v1', tokenWriteMode: 'v1', serviceTierMode: 'ignored', rulesVersion: 'legacy-4' };
/** What `prio rollout rollback --to start` deploys: the legacy flags with readers kept dual. */
const ROLLED_BACK = withDualReaders(LEGACY);
const LOAD_MS = 8_000;
const ROLLBACK_AFTER_MS = 3_000;
const MIX = 'ON_DEMAND:4,PTV1:2,PTV2:1,PREMIUM_ON_DEMAND:1,BATCH:1,FLEX:1';
const TIERS = 'DEFAULT:2,PRIORITY:1,FLEX:1,none:2';

export const scenario: Scenario = {
  id: 'rollback-phase2-to-legacy-under-load',
  title: 'Flags rolled back from phase 2 to legacy under load',
  family: 'rollout',
  fault: `the fleet's flags file rewritten from phase 2 to the legacy flags (readers dual) ${ROLLBACK_AFTER_MS / 1000} s into ${LOAD_MS / 1000} s of sticky-session load over 2 instances`,
  expected: 'both instances swap to the legacy flags; sessions opened in phase 2 keep their tier through their v2 tokens; 0 failed, 0 mis-ranked, 0 sessions changing tier',
  hypothesis: {
    steadyState: 'decisions answered 2xx; sessions mis-ranked; sessions changing tier',
    bound: '100% 2xx; 0 mis-ranked; 0 changed tier (of ≥ 30 sessions compared across the rollback); both instances on the legacy flags within 5 s',
  },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const dir = join(ctx.dir, 'config');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'rules.json'), readFileSync(join(ROOT, 'rules', 'service_tier.json')));
    const setFlags = (flags: Flags) => {
      writeFileSync(join(dir, 'flags.json.tmp'), flagsDocument(flags));
      renameSync(join(dir, 'flags.json.tmp'), join(dir, 'flags.json'));
    };
    setFlags(PHASE2);
    const fleet = await serveFleet(ctx, 2, { source: 'file', args: ['--config', dir, '--config-poll-ms', '200'] });
    const urls = fleet.map((s) => s.url);
    const info = async () => (await Promise.all(urls.map(scrape))).map((t) => /prio_config_info\{[^}]*token_write_mode="(\w+)"[^}]*\}/.exec(t)?.[1] ?? 'none');
    ctx.log(`fleet on phase 2 (token writers ${(await info()).join(', ')}): ${urls.join(', ')}`);

    const during = load(ctx, { targets: urls, mode: 'decide', rate: 60, durationMs: LOAD_MS, sessions: 40, classifications: MIX, serviceTiers: TIERS, seed: 21 });
    await sleep(ROLLBACK_AFTER_MS);
    const rolledAt = Date.now();
    setFlags(ROLLED_BACK);
    let swappedMs: number | undefined;
    for (let i = 0; i < 50 && swappedMs === undefined; i += 1) {
      if ((await info()).every((w) => w === 'v1')) swappedMs = Date.now() - rolledAt;
      else await sleep(100);
    }
    ctx.log(`rolled back to ${JSON.stringify(ROLLED_BACK)}: both instances on v1 writers ${swappedMs === undefined ? 'never' : `after ${swappedMs} ms`}`);
    const report = await during;
    const texts = await Promise.all(urls.map(scrape));

    // Would a fresh ranking have moved them? The same sessions' attributes, no token, after the rollback.
    const fresh = await decide(urls[0] as string, { accountId: 'acct-fresh', classification: 'PTV1', modelId: 'model-a' });
    const ok = statusCount(report, /^2\d\d$/);
    const rejected = fleetMetric(texts, 'prio_session_token_rejections_total');
    ctx.log(`load: ${report.sent} sent, ${JSON.stringify(report.statuses)}, versions seen ${report.configVersionsSeen.length}; sessions ${report.sessions.compared} compared, ${report.sessions.misRanked} mis-ranked, ${report.sessions.tierChanged} changed tier; tiers ${Object.keys(report.latencyMs.byTier).join(' ')}; a fresh PTV1 now ranks ${String(fresh.body.tier)}; token rejections ${rejected}`);

    return {
      faultObserved: swappedMs !== undefined && report.configVersionsSeen.length >= 2,
      faultEvidence: `both instances reported token_write_mode="v1" on /metrics ${swappedMs ?? '?'} ms after the flags file changed; the load saw ${report.configVersionsSeen.length} configuration versions`,
      observations: [
        observe('during', 'both instances on the rolled-back flags', swappedMs ?? -1, { text: '≤ 5,000 ms', holds: swappedMs !== undefined }, 'ms'),
        observe('during', 'decisions answered 2xx', report.sent === 0 ? 0 : (100 * ok) / report.sent, { text: '= 100% (of ≥ 300 sent)', holds: ok === report.sent && report.sent >= 300 }, '%'),
        observe('during', 'sessions mis-ranked', report.sessions.misRanked, { text: '= 0', holds: report.sessions.misRanked === 0 }),
        observe('during', 'sessions changing tier across the rollback', report.sessions.tierChanged, { text: `= 0 (of ${report.sessions.compared} compared, ≥ 30)`, holds: report.sessions.tierChanged === 0 && report.sessions.compared >= 30 }),
        observe('during', 'phase-2-only tiers still served after the rollback', 'P90' in report.latencyMs.byTier ? 'P90 present' : 'no P90', undefined),
        observe('after', 'a fresh PTV1 session now ranks', String(fresh.body.tier), { text: 'P100 (legacy level 0), unlike the P90 its phase-2 sessions keep', holds: fresh.body.tier === 'P100' }),
        observe('during', 'token rejections (/metrics)', rejected, { text: '= 0', holds: rejected === 0 }),
      ],
      ...(swappedMs === undefined ? {} : { timeToDetectMs: swappedMs }),
      notes: ['the rollback target is withDualReaders(legacy flags), as the decider\'s rollback deploys it; detect: from the flags file rename to both instances reporting v1 writers'],
    };
  },
};
