/**
 * The session token signing key is rotated under load, the way a fleet rotates it: keys are read
 * at start, so each step is a rolling replacement of the instances (start the new ones, move the
 * traffic, drain the old ones with SIGTERM). Step 1 verifies both keys and still signs with the
 * old one; step 2 signs with the new one and still verifies the old (the overlap); step 3 retires
 * the old key. Sticky sessions run throughout: through the overlap none may lose its tier and no
 * token may be rejected; after the retirement every old-key token presented is rejected
 * (UNKNOWN_KID, counted) and ranked fresh.
 */
import { sleep } from '../../support/net.js';
import { decide, fleetMetric, scrape, serveFleet, stopServe, tokenKey, type Served } from '../fleet/gd-traffic.js';
import { observe, type Scenario } from '../scenario.js';

const OLD = tokenKey('k-old', 0x31);
const NEW = tokenKey('k-new', 0x32);
const STEPS = [
  { name: 'old key only', keys: OLD },
  { name: 'verify both, sign old', keys: `${OLD},${NEW}` },
  { name: 'sign new, verify old (overlap)', keys: `${NEW},${OLD}` },
  { name: 'old key retired', keys: NEW },
] as const;
const RATE = 40;
const SESSIONS = 40;
const CLASSIFICATIONS = ['ON_DEMAND', 'PTV1', 'BATCH', 'FLEX', 'PREMIUM_ON_DEMAND'];

interface Sent {
  readonly step: number;
  readonly session: number;
  readonly kid: string | null;
  readonly status: number;
  readonly tier: string;
  readonly rejected: string | null;
}

export const scenario: Scenario = {
  id: 'signing-key-rotation-midrollout',
  title: 'Token signing key rotated mid-load by rolling replacement, old key retired at the end',
  family: 'rollout',
  fault: 'three rolling replacements of a 2-instance decision fleet under sticky-session load: keys k-old → k-old+k-new (sign old) → k-new+k-old (sign new) → k-new only',
  expected: 'through the overlap: no token rejected (/metrics and answers), every session keeps its tier, every request answered 200; after the retirement: each old-key token presented rejected UNKNOWN_KID (counted on /metrics) and ranked fresh to the same tier',
  hypothesis: {
    steadyState: 'token rejections; each session\'s tier; decisions answered 200',
    bound: '0 rejections before the retirement; 0 sessions changing tier; 100% 200; after: UNKNOWN_KID = old-key tokens presented (≥ 1)',
  },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    let targets: Served[] = await serveFleet(ctx, 2, { tokenKeys: STEPS[0].keys });
    const fleets: Served[][] = [targets];
    let step = 0;
    const sent: Sent[] = [];
    const sessions = Array.from({ length: SESSIONS }, (_, i) => ({ i, token: undefined as string | undefined, busy: false, startStep: i < SESSIONS / 2 ? 0 : 2 }));
    let stop = false;
    let turn = 0;
    const inflight = new Set<Promise<void>>();
    const driver = (async () => {
      while (!stop && !ctx.signal.aborted) {
        // Round robin over the sessions open at this step, skipping those waiting for an answer.
        let s: (typeof sessions)[number] | undefined;
        for (let k = 0; k < SESSIONS && s === undefined; k += 1) {
          const x = sessions[(turn + k) % SESSIONS] as (typeof sessions)[number];
          if (!x.busy && x.startStep <= step) s = x;
        }
        turn = s === undefined ? turn : s.i + 1;
        if (s !== undefined) {
          s.busy = true;
          const target = targets[Math.floor(sent.length + inflight.size) % targets.length] as Served;
          const atStep = step;
          const token = s.token;
          const p = decide(target.url, { accountId: `acct-rot-${s.i}`, classification: CLASSIFICATIONS[s.i % CLASSIFICATIONS.length] as string, modelId: 'model-a', sessionId: `rot-${s.i}`, ...(token === undefined ? {} : { sessionToken: token }) })
            .then(
              (r) => {
                sent.push({ step: atStep, session: s.i, kid: token === undefined ? null : (token.split('.')[1] ?? null), status: r.status, tier: String(r.body.tier), rejected: (r.body.tokenRejected as string | null | undefined) ?? null });
                if (typeof r.body.sessionToken === 'string') s.token = r.body.sessionToken;
              },
              () => {
                sent.push({ step: atStep, session: s.i, kid: null, status: 0, tier: '', rejected: null });
              },
            )
            .finally(() => {
              s.busy = false;
              inflight.delete(p);
            });
          inflight.add(p);
        }
        await sleep(1000 / RATE);
      }
      await Promise.all(inflight);
    })();

    const metricsAtRetirement: string[] = [];
    await sleep(2_000);
    for (let next = 1; next < STEPS.length; next += 1) {
      const def = STEPS[next] as (typeof STEPS)[number];
      const fresh = await serveFleet(ctx, 2, { tokenKeys: def.keys });
      fleets.push(fresh);
      const old = targets;
      // The metrics of the instances leaving, read before they go: their rejections count too.
      metricsAtRetirement.push(...(await Promise.all(old.map((o) => scrape(o.url)))));
      targets = fresh;
      step = next;
      ctx.log(`step ${next}: ${def.name} on ${fresh.map((f) => f.url).join(', ')}`);
      await sleep(300);
      await Promise.all(old.map((o) => stopServe(o, 'SIGTERM')));
      await sleep(2_000);
    }
    stop = true;
    await driver;
    const retiredTexts = await Promise.all(targets.map((t) => scrape(t.url)));

    const overlap = sent.filter((x) => x.step < 3);
    const retired = sent.filter((x) => x.step === 3);
    const rejectedOverlap = overlap.filter((x) => x.rejected !== null).length;
    const rejectedMetricOverlap = fleetMetric(metricsAtRetirement, 'prio_session_token_rejections_total');
    const tiers = new Map<number, Set<string>>();
    for (const x of sent) if (x.status === 200) tiers.set(x.session, (tiers.get(x.session) ?? new Set<string>()).add(x.tier));
    const changed = [...tiers.values()].filter((t) => t.size > 1).length;
    const not200 = sent.filter((x) => x.status !== 200).length;
    const oldPresentedAfter = retired.filter((x) => x.kid === 'k-old').length;
    const unknownKid = fleetMetric(retiredTexts, 'prio_session_token_rejections_total', { reason: 'UNKNOWN_KID' });
    const rejectedAfter = retired.filter((x) => x.rejected === 'UNKNOWN_KID').length;
    const newKidSessions = new Set(sent.filter((x) => x.kid === 'k-new' && x.step === 2).map((x) => x.session)).size;
    const oldKidSessionsInOverlap = new Set(sent.filter((x) => x.kid === 'k-old' && x.step === 2).map((x) => x.session)).size;
    ctx.log(`${sent.length} decisions (${overlap.length} before the retirement): ${rejectedOverlap} rejections answered, ${rejectedMetricOverlap} on /metrics; ${changed} sessions changed tier; ${not200} not 200`);
    ctx.log(`overlap: ${oldKidSessionsInOverlap} sessions presented old-key tokens to the new signers; ${newKidSessions} sessions presented new-key tokens; after retirement: ${oldPresentedAfter} old-key tokens presented, ${rejectedAfter} answered UNKNOWN_KID, /metrics UNKNOWN_KID ${unknownKid}`);

    return {
      faultObserved: fleets.length === STEPS.length && oldKidSessionsInOverlap > 0 && newKidSessions > 0 && unknownKid > 0,
      faultEvidence: `${fleets.length - 1} rolling replacements; during the overlap ${oldKidSessionsInOverlap} sessions presented k-old tokens while ${newKidSessions} carried k-new ones; after the retirement ${unknownKid} k-old tokens were refused as UNKNOWN_KID`,
      observations: [
        observe('during', 'decisions before the retirement', overlap.length, { text: '≥ 200', holds: overlap.length >= 200 }),
        observe('during', 'tokens rejected before the retirement (answers)', rejectedOverlap, { text: '= 0', holds: rejectedOverlap === 0 }),
        observe('during', 'tokens rejected before the retirement (/metrics)', rejectedMetricOverlap, { text: '= 0', holds: rejectedMetricOverlap === 0 }),
        observe('during', 'sessions whose tier changed', changed, { text: `= 0 (of ${tiers.size})`, holds: changed === 0 && tiers.size === SESSIONS }),
        observe('during', 'decisions not answered 200', not200, { text: '= 0', holds: not200 === 0 }),
        observe('after', 'old-key tokens presented after the retirement', oldPresentedAfter, { text: '≥ 1', holds: oldPresentedAfter >= 1 }),
        observe('after', 'old-key tokens answered UNKNOWN_KID', rejectedAfter, { text: `= ${oldPresentedAfter} (each one)`, holds: rejectedAfter === oldPresentedAfter }),
        observe('after', '/metrics UNKNOWN_KID on the retired fleet', unknownKid, { text: `= ${oldPresentedAfter}`, holds: unknownKid === oldPresentedAfter }),
      ],
      notes: ['keys are read when prio serve starts, so each step replaces the fleet: new instances start, traffic moves to them, the old ones drain on SIGTERM; a kept token is returned as it came, so sessions opened before step 2 carry k-old tokens until the retirement'],
    };
  },
};
