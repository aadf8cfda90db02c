/**
 * A stale leader: the process holding a migration's lease is paused (SIGSTOP) just after it
 * renewed the lease and before it appends — a long GC pause or a frozen VM at the worst moment.
 * Its lease lapses, a second holder takes it (a new fencing token) and appends. The first is
 * resumed (SIGCONT) still believing it leads: its append must be refused by the fencing token
 * (DynamoDB's condition check on the lease item), and the stream must hold, from the takeover on,
 * only the new leader's writes.
 *
 * The holders are small child processes (fleet/gd-control-holder.ts) on the real store, lease and
 * command handler; `prio rollout run` checks a flag set by its background renewal before each
 * append, which narrows this window but cannot close it — the fencing token is what does.
 */
import { join } from 'node:path';
import { handleCommand } from '../../../src/migration/index.js';
import { ROOT } from '../../../scripts/rollout/rehearsal.js';
import { sleep } from '../../support/net.js';
import { fastPlan } from '../../support/migration/fixtures.js';
import { startProcess, type ChildLine, type FaultyProcess } from '../faults/process.js';
import { auditStream, freshTable, ownStore } from '../fleet/gd-control.js';
import { observe, type Scenario } from '../scenario.js';

const TTL_MS = 1_500;
/** How long the first holder works between renewing and appending: the window the pause lands in. */
const A_WORK_MS = 1_000;
const B_WORK_MS = 200;
const B_APPENDS = 6;
const HOLDER = join(ROOT, 'test', 'gameday', 'fleet', 'gd-control-holder.ts');

const kind = (k: string) => (l: ChildLine) => l.json?.kind === k;
const count = (p: FaultyProcess, k: string) => p.lines.filter(kind(k)).length;

export const scenario: Scenario = {
  id: 'stale-leader-paused-and-fenced',
  title: 'A lease holder paused past its lease is fenced off when it wakes',
  family: 'process',
  fault: `SIGSTOP of the lease-holding child process between renewing its lease (TTL ${TTL_MS} ms) and appending, until another holder has taken the lease and appended; then SIGCONT`,
  expected: 'the second holder takes the lease once it lapses; the resumed first holder\'s append is refused (FencedAppend) and nothing it sends after the takeover reaches the stream; the stream replays, without a gap or a duplicate',
  hypothesis: { steadyState: 'one writer at a time on the migration stream', bound: 'the stale append refused; 0 events of the old token after the new token\'s first; every acknowledged append in the stream once' },
  ci: true,
  timeoutMs: 25_000,
  async run(ctx) {
    const endpoint = ctx.services.dynamodbEndpoint;
    const table = await freshTable(ctx);
    const store = ownStore(ctx, table);
    const plan = fastPlan(`gd-fence-${Date.now().toString(36)}`, 0);
    const step = plan.steps[0];
    if (step === undefined) throw new Error('the plan has no step');
    const at = new Date().toISOString();
    await handleCommand(plan.id, { type: 'plan', plan, actor: 'gameday', at }, { store, commandId: 'plan', clock: () => new Date() });
    await handleCommand(plan.id, { type: 'startStep', stepId: step.id, actor: 'gameday', at }, { store, commandId: 'start', clock: () => new Date() });
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const holder = (owner: string, workMs: number, appends: number) =>
      startProcess(ctx, owner, ['--import', 'tsx', HOLDER, endpoint, table, plan.id, owner, String(TTL_MS), String(workMs), String(appends)], env);

    const a = holder('holder-a', A_WORK_MS, 1_000);
    const first = await a.waitFor(kind('appended'), 15_000);
    if (first === undefined) throw new Error(`holder-a never appended: ${a.stderr().slice(-500)}`);
    // The second starts now and waits on the lease, as a standby runner would.
    const b = holder('holder-b', B_WORK_MS, B_APPENDS);
    const waiting = await b.waitFor((l) => kind('waiting')(l) || kind('acquired')(l), 15_000);
    if (waiting === undefined) throw new Error(`holder-b never reached the lease: ${b.stderr().slice(-500)}`);
    // Pause a right after a renewal: it then sleeps A_WORK_MS before appending, so the pause lands before its append.
    const renewals = count(a, 'renewed');
    const renewed = await a.waitFor((l) => kind('renewed')(l) && a.lines.filter(kind('renewed')).indexOf(l) >= renewals, 5_000);
    if (renewed === undefined) throw new Error('holder-a did not renew its lease');
    a.pause();
    const pausedAt = Date.now();
    const appendedBeforePause = count(a, 'appended');
    const tokenA = Number(renewed.json?.token);
    ctx.log(`holder-a (token ${tokenA}) paused ${pausedAt - renewed.at} ms after renewing, ${appendedBeforePause} appends so far; holder-b ${String(waiting.json?.kind)}`);

    const took = await b.waitFor(kind('acquired'), 15_000);
    if (took === undefined) throw new Error(`holder-b never took the lease: ${b.stderr().slice(-500)}`);
    const tokenB = Number(took.json?.token);
    await b.waitFor((l) => kind('appended')(l) && b.lines.filter(kind('appended')).length >= 2, 10_000);
    const bAppendsAtResume = count(b, 'appended');
    a.resume();
    const resumedAt = Date.now();
    ctx.log(`holder-b took the lease (token ${tokenB}) ${took.at - pausedAt} ms into the pause and appended ${bAppendsAtResume}; holder-a resumed after ${resumedAt - pausedAt} ms`);
    const refused = await a.waitFor((l) => kind('fenced')(l) || kind('appended')(l) && a.lines.filter(kind('appended')).length > appendedBeforePause || kind('lost')(l), 10_000);
    const aCode = await Promise.race([a.exit, sleep(5_000).then(() => -1)]);
    const bCode = await Promise.race([b.exit, sleep(10_000).then(() => -1)]);
    ctx.log(`holder-a after resuming: ${refused?.text ?? 'nothing'} (exit ${aCode}); holder-b exit ${bCode}`);

    const audit = await auditStream(store, plan.id);
    const firstB = audit.stored.find((e) => e.meta.fencingToken === tokenB)?.version ?? Infinity;
    const staleAfter = audit.stored.filter((e) => e.meta.fencingToken === tokenA && e.version > firstB).length;
    const aStored = audit.stored.filter((e) => e.meta.fencingToken === tokenA).length;
    const bStored = audit.stored.filter((e) => e.meta.fencingToken === tokenB).length;
    const aAcked = count(a, 'appended');
    const bAcked = count(b, 'appended');
    const fenced = refused !== undefined && kind('fenced')(refused);
    const pauseMs = resumedAt - pausedAt;
    ctx.log(`stream: ${audit.stored.length} events; token ${tokenA}: ${aStored} (acknowledged ${aAcked}), token ${tokenB}: ${bStored} (acknowledged ${bAcked}), old-token events after the takeover ${staleAfter}`);

    return {
      faultObserved: pauseMs > TTL_MS && tokenB > tokenA && fenced,
      faultEvidence: `holder-a stopped for ${pauseMs} ms (lease TTL ${TTL_MS} ms); holder-b took the lease with token ${tokenB}; holder-a's append under token ${tokenA} then answered: ${refused?.text ?? 'nothing'}`,
      observations: [
        observe('during', 'pause longer than the lease', pauseMs, { text: `> ${TTL_MS} ms`, holds: pauseMs > TTL_MS }, 'ms'),
        observe('during', 'new holder\'s token', tokenB, { text: `> ${tokenA} (the paused holder's)`, holds: tokenB > tokenA }),
        observe('after', 'stale holder\'s next append', refused === undefined ? 'none seen' : String(refused.json?.kind), { text: 'fenced (FencedAppend)', holds: fenced }),
        observe('after', 'stale holder exit code', aCode, { text: '= 2 (stepped down on the refusal)', holds: aCode === 2 }),
        observe('after', 'old-token events after the takeover', staleAfter, { text: '= 0', holds: staleAfter === 0 }),
        observe('after', 'new holder appends acknowledged and stored', `${bAcked}/${bStored}`, { text: `${B_APPENDS}/${B_APPENDS}`, holds: bAcked === B_APPENDS && bStored === B_APPENDS && bCode === 0 }),
        observe('after', 'stale holder appends acknowledged = stored', `${aAcked}/${aStored}`, { text: 'equal', holds: aAcked === aStored }),
        observe('after', 'stream replays without gap or duplicate', audit.contiguous && audit.duplicated.length === 0 && audit.error === undefined, { text: 'yes', holds: audit.contiguous && audit.duplicated.length === 0 && audit.error === undefined }),
      ],
      ...(refused === undefined ? {} : { timeToDetectMs: refused.at - resumedAt }),
      ...(took === undefined ? {} : { timeToRecoverMs: took.at - pausedAt }),
      notes: ['detect: from SIGCONT to the resumed holder reporting its append refused; recover: from SIGSTOP to the standby holding the lease (one TTL plus its 100 ms acquire poll, and the expiry counted from the last renewal)'],
    };
  },
};
