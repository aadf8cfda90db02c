/**
 * The Kafka broker a `prio shadow replay` reads from is killed (SIGKILL to its process group)
 * part-way through and stays down until the replay gives up, then is started again on the same data: the replay stops with a checkpoint and
 * prints the exact command that resumes it; that command, run as printed once the broker is
 * back, completes the replay with the very report an uninterrupted replay of the same log gives
 * — nothing counted twice, nothing lost. The broker is the scenario's own; the shared one is
 * never touched. A bandwidth toxic on its link keeps the replay running long enough to be cut.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PRIO } from '../../../scripts/rollout/rehearsal.js';
import { readCheckpoint } from '../../../src/shadow/index.js';
import { sleep } from '../../support/net.js';
import { generatedLog, ownBroker, prio, prioChild, reportTotals, reportWithoutRun, runPrinted } from '../fleet/gd-kafka-storage.js';
import { observe, type Scenario } from '../scenario.js';

/** ~7.5 MB in one partition. */
const RECORDS = 20_000;
const TOPIC = 'gameday-replay';
/** The broker answers a fetch with at most this much: the replay takes ~15 fetches, not one. */
const FETCH_MAX_BYTES = 512 * 1024;
/**
 * KB/s on the replay's link: the whole replay takes about 25 s, so its first progress line that
 * counts records (plain lines come every 5 s off a terminal) arrives well before the last fetch.
 */
const RATE_KB = 300;
/** The kill waits for records to arrive, at most this long; later it kills anyway (and the bound shows it). */
const KILL_DEADLINE_MS = 20_000;
/** A plain progress line of the replay: `<label>: 4,120 records (812/s)…`. */
const PROGRESS = /: ([\d,]+) records \(/g;

export const scenario: Scenario = {
  id: 'kafka-broker-killed-mid-replay',
  title: 'The Kafka broker killed in the middle of a replay, then restarted',
  family: 'process',
  fault: `SIGKILL to the replay's own Kafka broker once the replay reports records received (${RECORDS} records, ~7.5 MB in one partition, fetches of ≤ ${FETCH_MAX_BYTES / 1024} KiB, its link held to ${RATE_KB} KB/s), the broker started again on the same data once the replay has exited`,
  expected: 'the replay exits 1 with a checkpoint after the records it received and prints a resume command; that command completes the replay with report.json equal (run section aside) to an uninterrupted replay of the same log; no report.json before the resume',
  hypothesis: { steadyState: "the replay's report", bound: 'interrupted after 0 < n < all records, checkpoint and resume command printed; the resumed report = the uninterrupted one (every record counted once)' },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const broker = await ownBroker(ctx, { 'fetch.max.bytes': FETCH_MAX_BYTES });
    const log = await generatedLog(ctx, RECORDS);
    const produced = await prio(ctx, 'shadow', 'produce', '--file', log, '--topic', TOPIC, '--kafka-brokers', broker.direct, '--partitions', '1', '--quiet');
    if (produced.code !== 0) throw new Error(`prio shadow produce failed: ${produced.err}`);
    const reference = join(ctx.dir, 'out-uninterrupted');
    const whole = await prio(ctx, 'shadow', 'replay', '--file', log, '--out', reference, '--quiet');
    if (whole.code !== 0) throw new Error(`the uninterrupted replay failed: ${whole.err}`);
    ctx.log(`uninterrupted replay of the same log: ${reportTotals(reference)}`);

    await broker.link.toxic('bandwidth', { rate: RATE_KB });
    const out = join(ctx.dir, 'out-kafka');
    // The scenario directory outlives a run (--out): a report left by the last one must not count.
    rmSync(out, { recursive: true, force: true });
    // Killed once the replay says it has records, not after a fixed time: mid-replay on a fast machine and a slow one alike.
    let receivedBeforeKill = 0;
    let sawRecords: () => void = () => undefined;
    const recordsArrived = new Promise<void>((resolve) => (sawRecords = resolve));
    const startedAt = Date.now();
    const replay = prioChild(ctx, ['shadow', 'replay', '--kafka-brokers', broker.proxied, '--topic', TOPIC, '--from-beginning', '--out', out], (err) => {
      const counts = [...err.matchAll(PROGRESS)].map((m) => Number((m[1] ?? '').replace(/,/g, '')));
      const latest = counts.at(-1) ?? 0;
      if (latest > 0 && receivedBeforeKill === 0) {
        receivedBeforeKill = latest;
        sawRecords();
      }
    });
    await Promise.race([recordsArrived, sleep(KILL_DEADLINE_MS)]);
    const killedAt = Date.now();
    await broker.crash();
    ctx.log(`broker killed (SIGKILL) ${killedAt - startedAt} ms after the replay started, its last progress line at ${receivedBeforeKill} records`);
    // The broker stays down until the replay gives up: a broker back within the replay's bounded
    // retries is survived without a checkpoint (also right, but not this scenario's fault).
    const interrupted = await replay;
    const detectMs = Date.now() - killedAt;
    await broker.restart();
    const message = /replay interrupted after ([\d,]+) records: (.*)/.exec(interrupted.err);
    const at = message === null ? -1 : Number((message[1] ?? '').replace(/,/g, ''));
    const resume = /resume with: (prio .*)/.exec(interrupted.err)?.[1];
    const checkpoint = join(out, 'checkpoint.json');
    const hadCheckpoint = existsSync(checkpoint);
    const reportBeforeResume = existsSync(join(out, 'report.json'));
    const saved = hadCheckpoint ? readCheckpoint(checkpoint) : undefined;
    const partialRead = saved?.partial.read;
    const nextOffset = saved?.checkpoint.kind === 'kafka' ? Number(saved.checkpoint.nextOffsets['0']) : undefined;
    ctx.log(`checkpoint: ${partialRead ?? '?'} records judged, next offset ${nextOffset ?? '?'}`);
    ctx.log(`replay exit ${interrupted.code}: ${message?.[0] ?? interrupted.err.trim().split('\n').slice(-3).join(' | ')}`);

    await broker.link.clear();
    let resumed: { code: number | null; err: string } | undefined;
    const resumedAt = Date.now();
    if (resume !== undefined) {
      ctx.log(`running the printed command: ${resume}`);
      resumed = await runPrinted(ctx, resume);
    }
    const recoverMs = Date.now() - resumedAt;
    const same = reportWithoutRun(out) !== undefined && reportWithoutRun(out) === reportWithoutRun(reference);
    ctx.log(`resumed: exit ${resumed?.code ?? 'not run'}; ${reportTotals(out)}; equal to the uninterrupted report: ${same}`);

    return {
      faultObserved: interrupted.code === 1 && message !== null && /lost Kafka|Connection|ECONNREFUSED|broker/i.test(message[2] ?? ''),
      faultEvidence: `the replay stopped: "${message?.[0] ?? interrupted.err.trim().split('\n').at(-1) ?? ''}"`,
      observations: [
        observe('during', 'records the replay reported before the kill', receivedBeforeKill, { text: `> 0 (else the ${KILL_DEADLINE_MS / 1000} s deadline struck first)`, holds: receivedBeforeKill > 0 }),
        observe('during', 'records read before the kill', at, { text: `> 0 and < ${RECORDS}`, holds: at > 0 && at < RECORDS }),
        observe('during', 'replay exit code', interrupted.code ?? interrupted.signal ?? 'none', { text: '= 1 (interrupted)', holds: interrupted.code === 1 }),
        observe('during', 'checkpoint written, resume command printed', `${hadCheckpoint ? 'checkpoint' : 'no checkpoint'}, ${resume === undefined ? 'no command' : 'command'}`, { text: 'both', holds: hadCheckpoint && resume !== undefined && resume.includes('--resume') }),
        observe('during', 'checkpoint: records judged / next offset', `${partialRead ?? '?'} / ${nextOffset ?? '?'}`, { text: `both = ${at} (the count the error names)`, holds: partialRead === at && nextOffset === at }),
        observe('during', 'report.json before the resume', reportBeforeResume ? 'present' : 'absent', { text: 'absent (only report.partial.*)', holds: !reportBeforeResume }),
        observe('after', 'resume command exit code', resumed?.code ?? 'not run', { text: '= 0', holds: resumed?.code === 0 }),
        observe('after', 'report.json = the uninterrupted replay\'s (run aside)', same ? 'equal' : 'different', { text: 'equal', holds: same }),
      ],
      timeToDetectMs: detectMs,
      timeToRecoverMs: recoverMs,
      notes: [`detect: from the SIGKILL to the replay's exit with its checkpoint (its bounded retries); recover: the printed resume command's run, broker back. Binary: ${PRIO}`],
    };
  },
};
