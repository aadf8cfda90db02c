/**
 * Toxiproxy, the TCP fault proxy, for the game day and its CI subset: built from its Go module by
 * scripts/toxiproxy/build.sh on first use, started on a free 127.0.0.1 port. Reuse a running one
 * by setting TOXIPROXY_URL (its API address, e.g. http://127.0.0.1:8474).
 */
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestService } from '../service.js';
import { freePort, sleep } from '../net.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

/** Builds (once) and returns the path of the pinned Toxiproxy server binary. */
export function toxiproxyBinary(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'toxiproxy', 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export const service: TestService = {
  name: 'toxiproxy',
  envVar: 'TOXIPROXY_URL',
  async start() {
    const bin = toxiproxyBinary();
    const port = await freePort();
    const child = spawn(bin, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    for (let i = 0; ; i += 1) {
      if (child.exitCode !== null) throw new Error(`toxiproxy-server exited ${child.exitCode}: ${stderr}`);
      const up = await fetch(`${url}/version`).then((r) => r.ok, () => false);
      if (up) break;
      if (i > 200) {
        child.kill('SIGKILL');
        throw new Error(`toxiproxy-server did not answer on ${url} in 20 s: ${stderr}`);
      }
      await sleep(100);
    }
    return {
      address: url,
      async stop() {
        process.removeListener('exit', killOnExit);
        if (child.exitCode !== null) return;
        await new Promise<void>((done) => {
          child.once('exit', () => done());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        });
      },
    };
  },
};
