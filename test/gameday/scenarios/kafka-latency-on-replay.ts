/**
 * A slow, fragmented link between `prio shadow replay` and Kafka (Toxiproxy latency plus slicer
 * on every answer, the broker answering each fetch with at most 128 KiB, so the replay makes many
 * slow round trips and every answer arrives in pieces): the replay still completes, and its
 * report equals the one the same replay gives over a clean link.
 */
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generatedLog, ownBroker, prio, prioChild, reportTotals, reportWithoutRun } from '../fleet/gd-kafka-storage.js';
import { observe, type Scenario } from '../scenario.js';

const RECORDS = 5_000;
const TOPIC = 'gameday-slow';
const LATENCY_MS = 300;
const FETCH_MAX_BYTES = 128 * 1024;

/**
 * One Kafka ApiVersions (v0) request over a raw connection through the link: how long its
 * answer takes and in how many pieces it arrives — the fault seen from the wire.
 */
function probe(address: string): Promise<{ ms: number; chunks: number; bytes: number }> {
  const [host, port] = address.split(':');
  const clientId = Buffer.from('gameday-probe');
  const body = Buffer.alloc(10 + clientId.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2);
  body.writeInt32BE(1, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const frame = Buffer.concat([Buffer.alloc(4), body]);
  frame.writeInt32BE(body.length, 0);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let chunks = 0;
    let received = Buffer.alloc(0);
    const socket = connect({ host: host ?? '127.0.0.1', port: Number(port) });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (d: Buffer) => {
      chunks += 1;
      received = Buffer.concat([received, d]);
      // The answer's own length prefix says when it is whole.
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        socket.end();
        resolve({ ms: Date.now() - started, chunks, bytes: received.length });
      }
    });
    socket.on('error', reject);
  });
}

export const scenario: Scenario = {
  id: 'kafka-latency-on-replay',
  title: 'A slow, sliced link between prio shadow replay and Kafka',
  family: 'network',
  fault: `Toxiproxy on the replay's link to its own broker: latency ${LATENCY_MS} ms and slicer (512±256-byte pieces, 50 µs apart) on every answer; fetches of ≤ ${FETCH_MAX_BYTES / 1024} KiB`,
  expected: 'the replay completes (exit 0) and its report.json equals (run section aside) the same replay over the clean link: nothing lost, nothing counted twice, no frame misread',
  hypothesis: { steadyState: "the replay's report", bound: `report under the fault = report over the clean link; ${RECORDS} records read` },
  ci: false,
  timeoutMs: 90_000,
  async run(ctx) {
    const broker = await ownBroker(ctx, { 'fetch.max.bytes': FETCH_MAX_BYTES });
    const log = await generatedLog(ctx, RECORDS);
    const produced = await prio(ctx, 'shadow', 'produce', '--file', log, '--topic', TOPIC, '--kafka-brokers', broker.direct, '--partitions', '2', '--quiet');
    if (produced.code !== 0) throw new Error(`prio shadow produce failed: ${produced.err}`);
    const replay = async (name: string) => {
      const out = join(ctx.dir, name);
      rmSync(out, { recursive: true, force: true });
      const started = Date.now();
      const run = await prioChild(ctx, ['shadow', 'replay', '--kafka-brokers', broker.proxied, '--topic', TOPIC, '--from-beginning', '--out', out, '--quiet']);
      const ms = Date.now() - started;
      ctx.log(`${name}: exit ${run.code ?? run.signal ?? '?'} in ${ms} ms; ${reportTotals(out)}${run.code === 0 ? '' : `; ${run.err.trim().split('\n').at(-1) ?? ''}`}`);
      return { out, code: run.code, ms };
    };

    const cleanProbe = await probe(broker.proxied);
    const clean = await replay('out-clean');
    await broker.link.toxic('latency', { latency: LATENCY_MS, jitter: 0 });
    await broker.link.toxic('slicer', { average_size: 512, size_variation: 256, delay: 50 });
    const slowProbe = await probe(broker.proxied);
    ctx.log(`an ApiVersions answer through the link: ${cleanProbe.ms} ms in ${cleanProbe.chunks} piece(s) clean, ${slowProbe.ms} ms in ${slowProbe.chunks} under the toxics`);
    const slow = await replay('out-slow');
    await broker.link.clear();

    const cleanReport = reportWithoutRun(clean.out);
    const slowReport = reportWithoutRun(slow.out);
    const read = (JSON.parse(cleanReport ?? '{}') as { totals?: { read?: number } }).totals?.read;
    return {
      faultObserved: slowProbe.ms >= LATENCY_MS && slow.ms >= clean.ms + LATENCY_MS,
      faultEvidence: `an ApiVersions answer took ${slowProbe.ms} ms under the toxics (${cleanProbe.ms} ms clean); the replay took ${slow.ms} ms against ${clean.ms} ms`,
      observations: [
        observe('before', 'clean replay', `exit ${clean.code ?? '?'}, ${read ?? '?'} read`, { text: `exit 0, ${RECORDS} read`, holds: clean.code === 0 && read === RECORDS }),
        observe('before', 'clean replay time', clean.ms, undefined, 'ms'),
        observe('during', 'replay under the fault', `exit ${slow.code ?? '?'}`, { text: 'exit 0', holds: slow.code === 0 }),
        observe('during', 'replay time under the fault', slow.ms, undefined, 'ms'),
        observe('during', 'report.json = the clean replay\'s (run aside)', slowReport !== undefined && slowReport === cleanReport ? 'equal' : 'different', { text: 'equal', holds: slowReport !== undefined && slowReport === cleanReport }),
      ],
      notes: ['No detect or recover time: the steady state never breaks; the replay only takes longer.'],
    };
  },
};
