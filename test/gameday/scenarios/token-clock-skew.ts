/**
 * Two `prio serve` instances whose token clocks disagree by ten minutes (+5 min and −5 min)
 * under sticky-session load that bounces every session between them. The token expiry rule
 * (expired when the reader's clock is at or past `expiresAt`) decides each token: with an 8-minute
 * lifetime, tokens from the instance ahead stay valid at the one behind, tokens from the one
 * behind are already expired at the one ahead. Expired tokens are counted and ranked fresh — the
 * same tier under the same rules — so nothing crashes, nothing fails and nothing is mis-ranked.
 */
import { expiryVerdict, skewedServe, tokenTimes } from '../faults/clock.js';
import { decide, fleetMetric, load, metric, pooled, scrape, statusCount } from '../fleet/gd-traffic.js';
import { observe, type Scenario } from '../scenario.js';

const SKEW_MS = 5 * 60_000;
const TTL_MS = 8 * 60_000;
const PROBES = 60;
const CLASSIFICATIONS = ['PTV1', 'ON_DEMAND', 'PREMIUM_ON_DEMAND', 'BATCH', 'FLEX'];

interface Probe {
  readonly minted: string;
  readonly judgedBy: 'ahead' | 'behind';
  readonly expected: 'accepted' | 'EXPIRED';
  readonly got: string;
  readonly tierFirst: string;
  readonly tierThen: string;
  readonly status: number;
}

export const scenario: Scenario = {
  id: 'token-clock-skew',
  title: 'Token clocks skewed +5 min and −5 min across two instances',
  family: 'clock',
  fault: `prio serve --token-clock-offset-ms=+${SKEW_MS} beside one at −${SKEW_MS} (session tokens live ${TTL_MS / 60_000} min), under sticky-session load bouncing between them`,
  expected: 'each token judged by the expiry rule on the reader\'s clock: those from the instance ahead accepted behind, those from the one behind expired ahead (counted EXPIRED, ranked fresh); every request answered, no session mis-ranked, both instances up',
  hypothesis: {
    steadyState: 'token verdicts against the expiry rule; decisions answered 2xx; tier of each session; instances alive',
    bound: 'every verdict as the rule predicts; EXPIRED counted on /metrics only by the instance ahead; 100% 2xx; 0 mis-ranked; tiers unchanged; 0 crashed',
  },
  ci: true,
  timeoutMs: 25_000,
  async run(ctx) {
    const args = ['--session-ttl-ms', String(TTL_MS)];
    const [ahead, behind] = await Promise.all([skewedServe(ctx, SKEW_MS, { args }), skewedServe(ctx, -SKEW_MS, { args })]);
    const at = { ahead, behind };

    // Background: sticky sessions alternating between the two instances, each carrying the last token.
    const background = load(ctx, { targets: [ahead.url, behind.url], mode: 'decide', rate: 80, durationMs: 4_000, sessions: 30, classifications: 'ON_DEMAND:6,PTV1:2,BATCH:1,FLEX:1' });

    // Probes: a session opened at one instance, its token then presented at the other.
    const plan = Array.from({ length: PROBES }, (_, i) => ({ i, mintAt: i % 2 === 0 ? ('ahead' as const) : ('behind' as const) }));
    const shifts: Record<'ahead' | 'behind', number[]> = { ahead: [], behind: [] };
    const probes = await pooled(plan, 6, async ({ i, mintAt }): Promise<Probe> => {
      const judgedBy = mintAt === 'ahead' ? 'behind' : 'ahead';
      const request = { accountId: `acct-skew-${i}`, classification: CLASSIFICATIONS[i % CLASSIFICATIONS.length] as string, modelId: 'model-a', sessionId: `skew-${i}` };
      const sentAt = Date.now();
      const first = await decide(at[mintAt].url, request);
      const token = typeof first.body.sessionToken === 'string' ? first.body.sessionToken : '';
      const times = tokenTimes(token);
      if (times === undefined) throw new Error(`the token from ${mintAt} does not verify: ${JSON.stringify(first.body)}`);
      shifts[mintAt].push(times.issuedAt - sentAt);
      const judgeNow = Date.now() + at[judgedBy].offsetMs;
      const then = await decide(at[judgedBy].url, { ...request, sessionToken: token });
      const got = then.body.rankedBy === 'token' && then.body.tokenRejected === null ? 'accepted' : String(then.body.tokenRejected);
      return { minted: mintAt, judgedBy, expected: expiryVerdict(times.expiresAt, judgeNow), got, tierFirst: String(first.body.tier), tierThen: String(then.body.tier), status: then.status };
    });
    const report = await background;
    const texts = { ahead: await scrape(ahead.url), behind: await scrape(behind.url) };
    const alive = [ahead, behind].every((s) => s.process.exitCode === null && s.process.signalCode === null);
    const healthy = (await Promise.all([ahead, behind].map((s) => fetch(`${s.url}/healthz`).then((r) => r.status === 200, () => false)))).every(Boolean);

    const wrong = probes.filter((p) => p.got !== p.expected);
    const reRanked = probes.filter((p) => p.tierFirst !== p.tierThen);
    const acceptedBehind = probes.filter((p) => p.judgedBy === 'behind' && p.got === 'accepted').length;
    const expiredAhead = probes.filter((p) => p.judgedBy === 'ahead' && p.got === 'EXPIRED').length;
    const expiredMetric = { ahead: metric(texts.ahead, 'prio_session_token_rejections_total', { reason: 'EXPIRED' }), behind: metric(texts.behind, 'prio_session_token_rejections_total', { reason: 'EXPIRED' }) };
    const otherRejections = fleetMetric([texts.ahead, texts.behind], 'prio_session_token_rejections_total') - expiredMetric.ahead - expiredMetric.behind;
    const probeOk = probes.filter((p) => p.status === 200).length;
    const ok = statusCount(report, /^2\d\d$/);
    // The skew as the tokens carry it: each token's issuedAt minus the wall clock when it was asked for, averaged per instance.
    const mean = (xs: readonly number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
    const gapS = Math.round((mean(shifts.ahead) - mean(shifts.behind)) / 1000);
    const skewSeen = Math.abs(gapS - (2 * SKEW_MS) / 1000) <= 5;
    ctx.log(`probes: ${acceptedBehind} accepted behind, ${expiredAhead} expired ahead, ${wrong.length} against the rule, ${reRanked.length} re-ranked; /metrics EXPIRED ahead ${expiredMetric.ahead}, behind ${expiredMetric.behind}, other rejections ${otherRejections}`);
    ctx.log(`background: ${report.sent} decisions, statuses ${JSON.stringify(report.statuses)}, ${report.sessions.misRanked} mis-ranked of ${report.sessions.compared} sessions compared`);

    return {
      faultObserved: expiredAhead > 0 && skewSeen,
      faultEvidence: `the tokens' issuedAt show the two instances' token clocks ${gapS} s apart (mean issuedAt − wall clock: ahead ${Math.round(mean(shifts.ahead) / 1000)} s, behind ${Math.round(mean(shifts.behind) / 1000)} s); ${expiredAhead} tokens from the instance behind were expired on arrival ahead`,
      observations: [
        observe('during', 'token clocks apart (from the tokens)', gapS, { text: `= ${(2 * SKEW_MS) / 1000} s ± 5 s`, holds: skewSeen }, 's'),
        observe('during', 'probe verdicts against the expiry rule', wrong.length, { text: `= 0 of ${PROBES}`, holds: wrong.length === 0 && probes.length === PROBES }),
        observe('during', 'tokens from ahead accepted behind', acceptedBehind, { text: `= ${PROBES / 2}`, holds: acceptedBehind === PROBES / 2 }),
        observe('during', 'tokens from behind expired ahead', expiredAhead, { text: `= ${PROBES / 2}`, holds: expiredAhead === PROBES / 2 }),
        observe('during', '/metrics EXPIRED, instance ahead', expiredMetric.ahead, { text: `≥ ${PROBES / 2} (probes + load)`, holds: expiredMetric.ahead >= PROBES / 2 }),
        observe('during', '/metrics EXPIRED, instance behind', expiredMetric.behind, { text: '= 0', holds: expiredMetric.behind === 0 }),
        observe('during', '/metrics other token rejections', otherRejections, { text: '= 0', holds: otherRejections === 0 }),
        observe('during', 'probes re-ranked to another tier', reRanked.length, { text: '= 0', holds: reRanked.length === 0 }),
        observe('during', 'probe decisions answered 200', probeOk, { text: `= ${PROBES}`, holds: probeOk === PROBES }),
        observe('during', 'load decisions answered 2xx', report.sent === 0 ? 0 : (100 * ok) / report.sent, { text: '= 100% (of ≥ 200 sent)', holds: ok === report.sent && report.sent >= 200 }, '%'),
        observe('during', 'load sessions mis-ranked', report.sessions.misRanked, { text: '= 0 (of ≥ 20 compared)', holds: report.sessions.misRanked === 0 && report.sessions.compared >= 20 }),
        observe('after', 'instances alive and healthy', alive && healthy, { text: 'both', holds: alive && healthy }),
      ],
      notes: ['prediction: accepted when the reader\'s clock (wall clock + its offset, read just before sending) is before the token\'s expiresAt, else EXPIRED; the margins here are minutes, so a request\'s milliseconds cannot change a verdict'],
    };
  },
};
