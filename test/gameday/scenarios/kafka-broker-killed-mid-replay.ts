/**
 * The Kafka broker a `prio shadow replay` reads from is killed (SIGKILL to its process group)
 * part-way through, then started again on the same data: the replay stops with a checkpoint and
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
 * KB/s on the replay's link: the whole replay would take about 25 s, so a kill 8 s after it
 * starts (a slow start included) comes after some fetches have arrived and well before the last.
 */
const RATE_KB = 300;
const KILL_AFTER_MS = 8_000;

export const scenario: Scenario = {
  id: 'kafka-broker-killed-mid-replay',
  title: 'The Kafka broker killed in the middle of a replay, then restarted',
  family: 'process',
  fault: `SIGKILL to the replay's own Kafka broker ${KILL_AFTER_MS / 1000} s into the replay (${RECORDS} records, ~7.5 MB in one partition, fetches of ≤ ${FETCH_MAX_BYTES / 1024} KiB, its link held to ${RATE_KB} KB/s), the broker started again at once on the same data`,
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
    const replay = prioChild(ctx, ['shadow', 'replay', '--kafka-brokers', broker.proxied, '--topic', TOPIC, '--from-beginning', '--out', out]);
    await sleep(KILL_AFTER_MS);
    const killedAt = Date.now();
    await broker.crash();
    ctx.log(`broker killed (SIGKILL) ${KILL_AFTER_MS} ms after the replay started`);
    const restarting = broker.restart();
    const interrupted = await replay;
    const detectMs = Date.now() - killedAt;
    await restarting;
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
