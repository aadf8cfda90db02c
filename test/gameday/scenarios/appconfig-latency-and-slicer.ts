/**
 * A slow, fragmented link to AppConfigData (Toxiproxy latency plus slicer: every answer 400 ms
 * late and cut into small pieces with pauses between them): a new flags deployment must still
 * arrive whole, and serving — which never waits on AppConfig — must keep its latency.
 */
import { connect } from 'node:net';
import { deploy, publish } from '../../../src/appconfig/index.js';
import { flagsDocument } from '../../../src/rollout/index.js';
import { faultyLink } from '../faults/network.js';
import { APP, DUAL_FLAGS, ENV, decisionLoad, okPercent, ownAppConfig, startInstance, waitFor } from '../fleet/gd-core.js';
import { observe, type Scenario } from '../scenario.js';

const LATENCY_MS = 400;
/**
 * How much decision p99 may grow under the fault: the toxic's latency. A decision that waited on
 * AppConfig even once per poll would add at least that; the load's own scheduling on a busy
 * 2-core machine moves p99 by tens to a couple of hundred ms now and then, so "no worse than
 * before" would flip on noise. The median must stay below the latency outright.
 */
const P99_GROWTH_BOUND_MS = LATENCY_MS;

/** Fetches `path` over a raw connection and counts the pieces the answer arrives in. */
function pieces(address: string, path: string): Promise<{ chunks: number; bytes: number; ms: number }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let chunks = 0;
    let bytes = 0;
    const socket = connect({ host: host ?? '127.0.0.1', port: Number(port) });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${address}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      chunks += 1;
      bytes += d.length;
    });
    socket.on('end', () => resolve({ chunks, bytes, ms: Date.now() - started }));
    socket.on('error', reject);
  });
}

export const scenario: Scenario = {
  id: 'appconfig-latency-and-slicer',
  title: 'A slow, sliced AppConfigData link',
  family: 'network',
  fault: `Toxiproxy on the AppConfigData link: latency ${LATENCY_MS} ms and slicer (16±8-byte pieces, 2 ms apart) on every answer`,
  expected: 'a flags deployment made during the fault still arrives whole and is taken; decision latency (p99) stays where it was; nothing refused',
  hypothesis: { steadyState: 'decisions answered 2xx and their p99; the flags in force', bound: `100% answered; p99 during ≤ p99 before + ${P99_GROWTH_BOUND_MS} ms and p50 during < ${LATENCY_MS} ms (no decision waits on AppConfig); the new flags in force within 15 s; 0 documents refused` },
  ci: false,
  timeoutMs: 60_000,
  async run(ctx) {
    const own = await ownAppConfig(ctx);
    const link = await faultyLink(ctx, 'appconfigdata-slow', own.local.url);
    const instance = await startInstance(ctx, { endpoint: link.url });
    const loaded = await waitFor(ctx, () => instance.provider.status().source === 'appconfig', 10_000);
    if (loaded === undefined) throw new Error(`the instance never loaded its configuration from AppConfig: ${instance.provider.status().lastError ?? ''}`);
    const refusedBefore = instance.provider.status().refused;
    const clean = await pieces(link.address, '/_local/health');
    const before = await decisionLoad(ctx, [instance.url], 2_000);
    const p99Before = before.latencyMs.all.p99;
    ctx.log(`before: ${before.sent} decisions, ${okPercent(before).toFixed(1)}% 2xx, p99 ${p99Before.toFixed(1)} ms; a clean answer through the link: ${clean.chunks} piece(s), ${clean.ms} ms`);

    await link.toxic('latency', { latency: LATENCY_MS, jitter: 0 });
    await link.toxic('slicer', { average_size: 16, size_variation: 8, delay: 2_000 });
    const faulty = await pieces(link.address, '/_local/health');
    ctx.log(`latency and slicer on the link: an answer through it took ${faulty.ms} ms in ${faulty.chunks} pieces (${faulty.bytes} bytes)`);

    const duringLoad = decisionLoad(ctx, [instance.url], 5_000);
    const next = await publish(own.conn.client, { app: APP, profile: 'flags', content: flagsDocument(DUAL_FLAGS) });
    await deploy(own.conn.client, { app: APP, env: ENV, profile: 'flags', strategy: 'all-at-once', version: next.version });
    const takenMs = await waitFor(ctx, () => instance.provider.current()?.flags.priorityScheme === 'dual', 15_000);
    const during = await duringLoad;
    const p99During = during.latencyMs.all.p99;
    const refused = instance.provider.status().refused - refusedBefore;
    ctx.log(`during: flags v${next.version} ${takenMs === undefined ? 'never taken' : `in force ${takenMs} ms after the deployment`}; ${refused} refused; ${during.sent} decisions, ${okPercent(during).toFixed(1)}% 2xx, p99 ${p99During.toFixed(1)} ms`);

    await link.clear();
    const after = await decisionLoad(ctx, [instance.url], 1_500);
    ctx.log(`after: ${after.sent} decisions, ${okPercent(after).toFixed(1)}% 2xx, p99 ${after.latencyMs.all.p99.toFixed(1)} ms`);

    return {
      faultObserved: faulty.ms >= LATENCY_MS && faulty.chunks > clean.chunks && faulty.chunks >= 4,
      faultEvidence: `an answer through the link took ${faulty.ms} ms in ${faulty.chunks} pieces under the toxics, against ${clean.ms} ms in ${clean.chunks} before`,
      observations: [
        observe('before', 'decisions answered 2xx', okPercent(before), { text: '= 100% (of ≥ 100 sent)', holds: okPercent(before) === 100 && before.sent >= 100 }, '%'),
        observe('before', 'decision p99', Number(p99Before.toFixed(2)), undefined, 'ms'),
        observe('during', 'new flags in force after the deployment', takenMs ?? -1, { text: '≤ 15,000 ms', holds: takenMs !== undefined }, 'ms'),
        observe('during', 'documents refused', refused, { text: '= 0 (arrived whole)', holds: refused === 0 }),
        observe('during', 'decision p99', Number(p99During.toFixed(2)), { text: `≤ ${(p99Before + P99_GROWTH_BOUND_MS).toFixed(1)} ms (before + the toxic's ${LATENCY_MS} ms)`, holds: p99During <= p99Before + P99_GROWTH_BOUND_MS }, 'ms'),
        observe('during', 'decision p50', Number(during.latencyMs.all.p50.toFixed(2)), { text: `< ${LATENCY_MS} ms (the toxic's latency)`, holds: during.latencyMs.all.p50 < LATENCY_MS }, 'ms'),
        observe('during', 'decisions answered 2xx', okPercent(during), { text: '= 100% (of ≥ 300 sent)', holds: okPercent(during) === 100 && during.sent >= 300 }, '%'),
        observe('after', 'decisions answered 2xx', okPercent(after), { text: '= 100% (of ≥ 100 sent)', holds: okPercent(after) === 100 && after.sent >= 100 }, '%'),
      ],
      ...(takenMs === undefined ? {} : { timeToRecoverMs: takenMs }),
      notes: ['recover: from the deployment made under the fault to the new flags in force through the slow link'],
    };
  },
};
