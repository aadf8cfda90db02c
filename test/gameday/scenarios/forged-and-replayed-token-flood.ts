/**
 * A flood of hostile session tokens beside real sticky-session traffic: tokens forged under the
 * fleet's kid with another secret, under an unknown kid, real tokens with their payload tampered
 * (priority raised, signature kept), real tokens replayed by another account or for another
 * classification, garbage and oversized tokens. Every one must be refused by its reason, counted
 * on /metrics, and ranked fresh — never at the priority it claims — while the real traffic keeps
 * every answer and its latency.
 */
import { encodeClaims, Keyring } from '../../../src/tokens/index.js';
import { decide, fleetMetric, load, paced, scrape, serveFleet, statusCount } from '../fleet/gd-traffic.js';
import { observe, type Scenario } from '../scenario.js';

const FLOOD = 840;
const FLOOD_RATE = 200;
const LOAD_RATE = 100;
const LOAD_MS = 5_000;
const P99_BOUND_MS = 1_500;
/** ON_DEMAND submitted as BATCH ranks P10 under the legacy rules; the forgeries claim legacy level 0 (P100). */
const VICTIM = { classification: 'ON_DEMAND', requestType: 'BATCH', modelId: 'model-a' };
const KINDS = ['BAD_SIGNATURE', 'UNKNOWN_KID', 'TAMPERED', 'ACCOUNT_MISMATCH', 'CLASSIFICATION_MISMATCH', 'MALFORMED', 'OVERSIZED'] as const;
type Kind = (typeof KINDS)[number];
/** The reason the service must give for each kind (a tampered payload breaks the signature). */
const REASON: Readonly<Record<Kind, string>> = { BAD_SIGNATURE: 'BAD_SIGNATURE', UNKNOWN_KID: 'UNKNOWN_KID', TAMPERED: 'BAD_SIGNATURE', ACCOUNT_MISMATCH: 'ACCOUNT_MISMATCH', CLASSIFICATION_MISMATCH: 'CLASSIFICATION_MISMATCH', MALFORMED: 'MALFORMED', OVERSIZED: 'OVERSIZED' };

function claimsP100(i: number) {
  const now = Date.now();
  return { version: 1 as const, sessionId: `forged-${i}`, accountId: `acct-victim-${i % 20}`, classification: VICTIM.classification, rawPriority: 0, scheme: 'legacy' as const, issuedAt: now, expiresAt: now + 3_600_000 };
}

/** Sets the payload's raw priority byte to 0 (legacy level 0, P100) and keeps the signature. */
function tamper(token: string): string {
  const [v, kid, payload, sig] = token.split('.') as [string, string, string, string];
  const bytes = Buffer.from(payload, 'base64url');
  bytes[0] = 0;
  return `${v}.${kid}.${bytes.toString('base64url')}.${sig}`;
}

export const scenario: Scenario = {
  id: 'forged-and-replayed-token-flood',
  title: 'A flood of forged, tampered and replayed session tokens beside real traffic',
  family: 'traffic',
  fault: `${FLOOD} hostile decisions at ${FLOOD_RATE}/s (${KINDS.join(', ').toLowerCase()}), claiming P100 for P10 traffic, beside ${LOAD_RATE}/s of real sticky sessions on 2 instances`,
  expected: 'every hostile token refused by its reason and ranked fresh at P10, counted per reason on /metrics; the real traffic answered 2xx throughout with a bounded p99 and no session mis-ranked',
  hypothesis: {
    steadyState: 'hostile tokens honoured; /metrics rejections by reason; real traffic 2xx and p99',
    bound: `0 honoured, 0 ranked above P10; /metrics rejections = the flood, per reason; real traffic 100% 2xx, p99 ≤ ${P99_BOUND_MS} ms, 0 mis-ranked`,
  },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const fleet = await serveFleet(ctx, 2);
    const urls = fleet.map((s) => s.url);
    // Real tokens to tamper with and replay: issued by the fleet to 20 victim sessions.
    const real = await Promise.all(Array.from({ length: 20 }, (_, i) => decide(urls[i % 2] as string, { ...VICTIM, accountId: `acct-victim-${i}`, sessionId: `victim-${i}` })));
    const realTokens = real.map((r) => String(r.body.sessionToken));
    const freshTier = String(real[0]?.body.tier);
    const forger = new Keyring([{ kid: 'rehearsal', secret: new Uint8Array(32).fill(0x42) }]);
    const stranger = new Keyring([{ kid: 'attacker', secret: new Uint8Array(32).fill(0x43) }]);
    const hostile = (kind: Kind, i: number): { body: Record<string, unknown> } => {
      const victim = { ...VICTIM, accountId: `acct-victim-${i % 20}` };
      const token = realTokens[i % 20] as string;
      switch (kind) {
        case 'BAD_SIGNATURE':
          return { body: { ...victim, sessionToken: encodeClaims(claimsP100(i), forger) } };
        case 'UNKNOWN_KID':
          return { body: { ...victim, sessionToken: encodeClaims(claimsP100(i), stranger) } };
        case 'TAMPERED':
          return { body: { ...victim, sessionToken: tamper(token) } };
        case 'ACCOUNT_MISMATCH':
          return { body: { ...victim, accountId: `acct-thief-${i}`, sessionToken: token } };
        case 'CLASSIFICATION_MISMATCH':
          return { body: { ...victim, classification: 'FLEX', sessionToken: token } };
        case 'MALFORMED':
          return { body: { ...victim, sessionToken: `v1.rehearsal.${'A'.repeat(i % 50)}` } };
        case 'OVERSIZED':
          return { body: { ...victim, sessionToken: `v1.rehearsal.${'A'.repeat(4_096)}.x` } };
      }
    };
    const before = await load(ctx, { targets: urls, mode: 'decide', rate: LOAD_RATE, durationMs: 1_500, sessions: 30, classifications: 'ON_DEMAND:6,PTV1:2,BATCH:1,FLEX:1' });

    const injectedAt = Date.now();
    const during = load(ctx, { targets: urls, mode: 'decide', rate: LOAD_RATE, durationMs: LOAD_MS, sessions: 30, classifications: 'ON_DEMAND:6,PTV1:2,BATCH:1,FLEX:1', seed: 13 });
    let firstRefusedMs: number | undefined;
    const answers = await paced(
      FLOOD,
      FLOOD_RATE,
      async (i) => {
        const kind = KINDS[i % KINDS.length] as Kind;
        const { body } = hostile(kind, i);
        const res = await decide(urls[i % 2] as string, body).catch((err: unknown) => ({ status: 0, body: { error: String(err) } as Record<string, unknown> }));
        if (firstRefusedMs === undefined && res.body.tokenRejected !== null && res.body.tokenRejected !== undefined) firstRefusedMs = Date.now() - injectedAt;
        return { kind, status: res.status, reason: res.body.tokenRejected, rankedBy: res.body.rankedBy, tier: res.body.tier };
      },
      ctx.signal,
    );
    const report = await during;
    const texts = await Promise.all(urls.map(scrape));

    const honoured = answers.filter((a) => a.rankedBy === 'token').length;
    const raised = answers.filter((a) => a.tier !== freshTier).length;
    const wrongReason = answers.filter((a) => a.reason !== REASON[a.kind]).length;
    const answered = answers.filter((a) => a.status === 200).length;
    const expectedByReason = new Map<string, number>();
    for (const a of answers) expectedByReason.set(REASON[a.kind], (expectedByReason.get(REASON[a.kind]) ?? 0) + 1);
    const metricByReason = [...expectedByReason.keys()].map((reason) => ({ reason, expected: expectedByReason.get(reason) ?? 0, counted: fleetMetric(texts, 'prio_session_token_rejections_total', { reason }) }));
    const countedTotal = fleetMetric(texts, 'prio_session_token_rejections_total');
    const ok = statusCount(report, /^2\d\d$/);
    const p99 = report.latencyMs.all.p99;
    ctx.log(`flood: ${answers.length} sent, ${answered} answered 200, ${honoured} honoured, ${raised} ranked other than ${freshTier}, ${wrongReason} with another reason; /metrics ${metricByReason.map((m) => `${m.reason} ${m.counted}/${m.expected}`).join(', ')}`);
    ctx.log(`real traffic: before p99 ${before.latencyMs.all.p99} ms; during ${report.sent} sent, ${JSON.stringify(report.statuses)}, p99 ${p99} ms, ${report.sessions.misRanked} mis-ranked`);

    return {
      faultObserved: answers.length === FLOOD && countedTotal >= FLOOD,
      faultEvidence: `${answers.length} hostile tokens sent; the fleet counted ${countedTotal} token rejections (${metricByReason.map((m) => `${m.reason} ${m.counted}`).join(', ')})`,
      observations: [
        observe('before', 'real traffic p99', before.latencyMs.all.p99, undefined, 'ms'),
        observe('during', 'hostile tokens honoured', honoured, { text: `= 0 of ${FLOOD}`, holds: honoured === 0 && answers.length === FLOOD }),
        observe('during', `hostile requests ranked other than ${freshTier} (their rules tier)`, raised, { text: '= 0', holds: raised === 0 }),
        observe('during', 'hostile tokens refused for another reason than expected', wrongReason, { text: '= 0', holds: wrongReason === 0 }),
        observe('during', 'hostile requests answered 200 (ranked fresh, not refused)', answered, { text: `= ${FLOOD}`, holds: answered === FLOOD }),
        ...metricByReason.map((m) => observe('during', `/metrics rejections ${m.reason}`, m.counted, { text: `= ${m.expected} (the flood's)`, holds: m.counted === m.expected })),
        observe('during', 'real traffic answered 2xx', report.sent === 0 ? 0 : (100 * ok) / report.sent, { text: '= 100% (of ≥ 400 sent)', holds: ok === report.sent && report.sent >= 400 }, '%'),
        observe('during', 'real traffic p99', p99, { text: `≤ ${P99_BOUND_MS} ms`, holds: p99 <= P99_BOUND_MS }, 'ms'),
        observe('during', 'real sessions mis-ranked', report.sessions.misRanked, { text: '= 0 (of ≥ 20 compared)', holds: report.sessions.misRanked === 0 && report.sessions.compared >= 20 }),
      ],
      ...(firstRefusedMs === undefined ? {} : { timeToDetectMs: firstRefusedMs }),
      notes: ['detect: from the start of the flood to the first hostile token refused; the real sessions use the fleet\'s own key, so every rejection counted comes from the flood'],
    };
  },
};
