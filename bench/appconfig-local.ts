/**
 * `npm run bench -- appconfig-local [--json] [--polls N] [--sessions N]`
 *
 * GetLatestConfiguration polls per second against `prio appconfig local`, N sessions polling at
 * once (each spending its token and taking the next, as a real poller does), against a bare
 * node:http server answering the same bytes and headers with no routing, token or deployment
 * logic (the ceiling of the HTTP path on this machine). Same client (fetch, keep-alive), same
 * process; prio and the ceiling take turns batch by batch so machine load hits both alike.
 * Targets: at least 70% of the ceiling (the protocol, token and deployment work cost little
 * next to HTTP itself), and at least 200 polls/s, ten times what 20 pollers at 1 s intervals ask.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startLocalAppConfig } from '../src/appconfig/local/index.js';
import type { BenchSuite } from './harness.js';

function argValue(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i === -1 ? undefined : Number(args[i + 1]);
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}

async function call(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return res;
}

async function json<T>(url: string, body: object): Promise<T> {
  const res = await call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as T;
}

export const suite: BenchSuite = async ({ args, log }) => {
  const polls = argValue(args, '--polls', 20_000);
  const sessions = argValue(args, '--sessions', 20);
  const config = Buffer.from(JSON.stringify({ rulesVersion: 3, flags: { tokenWrite: 'v2', tokenRead: 'both', scheme: 'tiered' }, pad: 'x'.repeat(2_000) }));

  const local = await startLocalAppConfig({ timeScale: 1 });
  const ceiling = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'next-poll-configuration-token': 'x'.repeat(300),
        'next-poll-interval-in-seconds': '1',
        'content-length': String(config.length),
      });
      res.end(config);
    });
  });
  await new Promise<void>((resolve) => ceiling.listen(0, '127.0.0.1', resolve));
  const ceilingUrl = `http://127.0.0.1:${(ceiling.address() as AddressInfo).port}/configuration?configuration_token=t`;
  try {
    const base = local.url;
    const app = await json<{ Id: string }>(`${base}/applications`, { Name: 'bench' });
    const env = await json<{ Id: string }>(`${base}/applications/${app.Id}/environments`, { Name: 'prod' });
    const profile = await json<{ Id: string }>(`${base}/applications/${app.Id}/configurationprofiles`, { Name: 'flags', LocationUri: 'hosted' });
    await call(`${base}/applications/${app.Id}/configurationprofiles/${profile.Id}/hostedconfigurationversions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: config,
    });
    await json(`${base}/applications/${app.Id}/environments/${env.Id}/deployments`, {
      DeploymentStrategyId: 'AppConfig.AllAtOnce',
      ConfigurationProfileId: profile.Id,
      ConfigurationVersion: '1',
    });
    const tokens: string[] = [];
    for (let i = 0; i < sessions; i++) {
      const s = await json<{ InitialConfigurationToken: string }>(`${base}/configurationsessions`, {
        ApplicationIdentifier: 'bench',
        EnvironmentIdentifier: 'prod',
        ConfigurationProfileIdentifier: 'flags',
        RequiredMinimumPollIntervalInSeconds: 1,
      });
      tokens.push(s.InitialConfigurationToken);
    }

    const pollPrio = async (i: number) => {
      const res = await call(`${base}/configuration?configuration_token=${encodeURIComponent(tokens[i] ?? '')}`);
      tokens[i] = res.headers.get('next-poll-configuration-token') ?? '';
      await res.arrayBuffer();
    };
    const pollCeiling = async () => {
      const res = await call(ceilingUrl);
      res.headers.get('next-poll-configuration-token');
      await res.arrayBuffer();
    };
    const batch = async (poll: (i: number) => Promise<void>) => {
      const t = performance.now();
      await Promise.all(Array.from({ length: sessions }, (_, i) => poll(i)));
      return performance.now() - t;
    };

    // Warm-up: connections, JIT.
    for (let i = 0; i < 50; i++) {
      await batch(pollPrio);
      await batch(pollCeiling);
    }
    let prioMs = 0;
    let ceilingMs = 0;
    const rounds = Math.ceil(polls / sessions);
    log(`${rounds * sessions} polls each, ${sessions} sessions at once`);
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        prioMs += await batch(pollPrio);
        ceilingMs += await batch(pollCeiling);
      } else {
        ceilingMs += await batch(pollCeiling);
        prioMs += await batch(pollPrio);
      }
    }
    const n = rounds * sessions;
    const prio = (n / prioMs) * 1000;
    const reference = (n / ceilingMs) * 1000;
    return {
      suite: 'appconfig-local',
      polls: n,
      sessions,
      configBytes: config.length,
      results: [
        { name: 'prio', opsPerSec: prio, operation: 'GetLatestConfiguration' },
        { name: 'ceiling:node-http-static', opsPerSec: reference, ratio: prio / reference },
      ],
      targets: [
        { target: 'GetLatestConfiguration ≥ 70% of the bare node:http ceiling', measured: `${Math.round((prio / reference) * 100)}%`, met: prio >= 0.7 * reference },
        { target: 'GetLatestConfiguration ≥ 200 polls/s (10x 20 pollers at 1 s)', measured: `${Math.round(prio).toLocaleString('en-US')} polls/s`, met: prio >= 200 },
      ],
    };
  } finally {
    await local.close();
    ceiling.closeAllConnections();
    await new Promise<void>((resolve) => ceiling.close(() => resolve()));
  }
};
