/**
 * One server of the `serve` benchmark, in a process of its own (one event loop, one core):
 * `upstream` (answers at once), `proxy` (a bare pass-through proxy on the same HTTP stack as
 * the gateway: node:http in, undici out, the same forwarding code, no scheduling), `gateway` or `decide` (prio serve).
 * Prints `url <url>` on stdout once listening; answers a `cpu` line on stdin with `cpu <µs>`,
 * the CPU time (user + system) this process has used, so the bench can count requests per CPU
 * second of the server alone; exits on SIGTERM.
 *
 * Plain JavaScript on the compiled dist/ (the bench builds it when stale), run by `node` without
 * a TypeScript loader: the servers run the code `prio serve` runs when installed, and the proxy
 * and the gateway run on the same footing.
 */
import { createInterface } from 'node:readline';
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { pino } from 'pino';
import { Pool } from 'undici';
import { bakedSnapshot, staticProvider } from '../../dist/src/appconfig/index.js';
import { developmentTokenKeyring, loadDomain } from '../../dist/src/config/index.js';
import { forward, forwardedHeaders, startService } from '../../dist/src/service/index.js';

const [role, upstream] = process.argv.slice(2);

/** @param {import('node:http').Server} server @returns {Promise<string>} */
async function listen(server) {
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r()));
  server.keepAliveTimeout = 65_000;
  return `http://127.0.0.1:${server.address().port}`;
}

/** @type {string} */
let url;
/** @type {() => Promise<unknown>} */
let stop;
if (role === 'upstream') {
  const answer = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }] });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  url = await listen(server);
  stop = () => new Promise((r) => server.close(r));
} else if (role === 'proxy') {
  const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 30_000 });
  const server = createServer((req, res) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      forward(pool, { path: req.url ?? '/', method: req.method ?? 'GET', headers: forwardedHeaders(req), body: body.length > 0 ? body : null }, res).done.catch(() => {
        if (!res.headersSent) {
          res.writeHead(502);
          res.end();
        }
      });
    });
  });
  url = await listen(server);
  stop = () => new Promise((r) => server.close(r));
} else if (role === 'gateway' || role === 'decide') {
  const domain = loadDomain();
  const service = await startService({
    provider: staticProvider(bakedSnapshot()),
    domain,
    capacity: { variants: {}, defaultVariant: { concurrency: 256, queueBound: 10_000 } },
    keyring: developmentTokenKeyring(),
    ...(role === 'gateway' ? { upstream } : {}),
    logger: pino({ level: 'warn' }),
  });
  url = service.url;
  stop = () => service.close(1000);
} else {
  throw new Error(`unknown role ${role}`);
}
process.stdout.write(`url ${url}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`cpu ${user + system}\n`);
  }
});
process.once('SIGTERM', () => {
  void stop().then(() => process.exit(0));
});
