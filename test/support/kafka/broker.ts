/**
 * A real single-node Apache Kafka broker (KRaft) for integration tests and benchmarks: jars
 * fetched by scripts/kafka/fetch.sh (Maven), run by scripts/kafka/start.sh with the machine's
 * Java on free 127.0.0.1 ports. The broker runs in its own process group so it can be stopped,
 * killed and started again on the same ports and data directory (a broker restart).
 */
import { spawn, execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, portOpen, sleep } from '../net.js';

const scriptsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'kafka');
const run = promisify(execFile);

/** Where one broker listens and keeps its data; enough to stop it and start it again. */
export interface BrokerLocation {
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
}

export interface BrokerProcess extends BrokerLocation {
  /** `127.0.0.1:PORT`, what KAFKA_BROKERS holds. */
  readonly brokers: string;
  readonly pid: number;
}

/** Copies the broker's jars into scripts/kafka/lib with Maven unless they are there already. */
export async function fetchKafkaJars(): Promise<void> {
  try {
    await run('bash', [join(scriptsDir, 'fetch.sh')], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const detail = err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr) : String(err);
    throw new Error(`could not fetch the Kafka broker's jars with Maven (scripts/kafka/fetch.sh):\n${detail}`, { cause: err });
  }
}

/** A new location: two free ports and a fresh temporary data directory. */
export async function newBrokerLocation(): Promise<BrokerLocation> {
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  return { port, controllerPort, dataDir: mkdtempSync(join(tmpdir(), 'prio-kafka-')) };
}

export interface StartOptions {
  readonly timeoutMs?: number;
  /**
   * Start quickly rather than run fast: the JIT's first tier only, which roughly halves the
   * CPU a start costs on a busy machine. Tests want this; benchmarks must not.
   */
  readonly quickStart?: boolean;
  /** More environment for scripts/kafka/start.sh (its PRIO_KAFKA_EXTRA_* settings). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts the broker at `location` (formatting its storage on the first start) and resolves once
 * kafkajs can list topics and the group coordinator answers, so the first consumer group of a
 * test does not pay for creating the offsets topic.
 */
export async function startBroker(location: BrokerLocation, options: StartOptions = {}): Promise<BrokerProcess> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const { port, controllerPort, dataDir } = location;
  const consoleLog = openSync(join(dataDir, 'console.log'), 'a');
  const child = spawn('bash', [join(scriptsDir, 'start.sh'), String(port), String(controllerPort), dataDir], {
    // Its own process group: a test can kill it, and it survives the test worker that restarted it.
    detached: true,
    stdio: ['ignore', consoleLog, consoleLog],
    env: { ...process.env, ...options.env, PRIO_KAFKA_JAVA_OPTS: options.quickStart ? '-XX:TieredStopAtLevel=1' : '' },
  });
  closeSync(consoleLog);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the Kafka broker: is bash installed?');
  const broker: BrokerProcess = { ...location, brokers: `127.0.0.1:${port}`, pid };
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`the Kafka broker exited during startup:\n${brokerLogTail(dataDir)}`);
    if (await answers(broker.brokers)) return broker;
    if (Date.now() > deadline) {
      killBroker(pid);
      throw new Error(`the Kafka broker did not answer within ${timeoutMs} ms:\n${brokerLogTail(dataDir)}`);
    }
    await sleep(250);
  }
}

async function answers(brokers: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'prio-test-setup',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    await admin.describeGroups(['prio-test-warmup']);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Sends SIGKILL to the broker's process group: the broker goes away at once, as in a crash. */
export function killBroker(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the broker (SIGTERM, then SIGKILL after `graceMs`) and waits until its port is closed. */
export async function stopBroker(broker: BrokerProcess, graceMs = 10_000): Promise<void> {
  try {
    process.kill(-broker.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(broker.pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(broker.pid)) killBroker(broker.pid);
  while (await portOpen(broker.port)) await sleep(100);
}

/** Kills the broker and waits until nothing listens on its port any more. */
export async function crashBroker(broker: BrokerProcess, timeoutMs = 30_000): Promise<void> {
  killBroker(broker.pid);
  // Bounded: should something else hold the port (a broker this pid does not name), the
  // caller gets an error instead of a test run that never ends.
  const deadline = Date.now() + timeoutMs;
  while (await portOpen(broker.port)) {
    if (Date.now() > deadline) throw new Error(`port ${broker.port} is still open ${timeoutMs} ms after killing the broker (pid ${broker.pid})`);
    await sleep(100);
  }
}

export function removeBrokerData(location: BrokerLocation): void {
  rmSync(location.dataDir, { recursive: true, force: true });
}

export function brokerLogTail(dataDir: string, lines = 40): string {
  const parts: string[] = [];
  for (const name of ['console.log', join('logs', 'format.log'), join('logs', 'server.log')]) {
    const file = join(dataDir, name);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    if (text) parts.push(`--- ${name}\n${text}`);
  }
  return parts.join('\n') || '(no broker output)';
}

/** A user the secure broker knows, with the same password for PLAIN and both SCRAM mechanisms. */
export interface BrokerUser {
  readonly username: string;
  readonly password: string;
}

/** PEM files the secure broker's test setup made (all in the broker's data directory). */
export interface BrokerTlsFiles {
  /** The CA that signed the broker's and the client's certificates. */
  readonly ca: string;
  /** A CA that signed nothing the broker holds: trusting only it must fail. */
  readonly otherCa: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export interface SecureBroker extends BrokerProcess {
  /** `127.0.0.1:PORT` of the SASL_SSL listener; its certificate names localhost and 127.0.0.1. */
  readonly saslSsl: string;
  /** `127.0.0.1:PORT` of a second SASL_SSL listener whose certificate (same CA) names another host only. */
  readonly misnamed: string;
  readonly user: BrokerUser;
  readonly tls: BrokerTlsFiles;
}

/**
 * Starts a broker of its own with SASL_SSL listeners besides the PLAINTEXT one (which the
 * broker uses for itself and a test may use to create topics). Certificates are made here with
 * openssl, in the broker's data directory: a CA, the broker's certificate for 127.0.0.1 and
 * localhost, a second one (same CA) for a host name that is not the broker's, a client
 * certificate (the SASL_SSL listener requires one), and an unrelated CA. SCRAM credentials are
 * written into the metadata when the storage is formatted (KRaft has no ZooKeeper to hold
 * them); PLAIN's come from the listener's JAAS configuration.
 */
export async function startSecureBroker(user: BrokerUser = { username: 'replay', password: 'replay-secret' }): Promise<SecureBroker> {
  const location = await newBrokerLocation();
  const used = new Set([location.port, location.controllerPort]);
  const nextPort = async () => {
    let port = await freePort();
    while (used.has(port)) port = await freePort();
    used.add(port);
    return port;
  };
  const saslPort = await nextPort();
  const misnamedPort = await nextPort();
  const dir = join(location.dataDir, 'tls');
  mkdirSync(dir);
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const makeCa = (name: string) =>
    openssl('req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-days', '2', '-subj', `/CN=prio test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const makeSigned = async (name: string, subject: string, altNames: string | undefined, usage: string) => {
    await openssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject);
    writeFileSync(f(`${name}.ext`), `${altNames === undefined ? '' : `subjectAltName=${altNames}\n`}extendedKeyUsage=${usage}\n`);
    await openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-out', f(`${name}.crt`), '-extfile', f(`${name}.ext`));
    // Kafka's PEM key store: the (unencrypted PKCS#8) key and the certificate in one file.
    writeFileSync(f(`${name}.keystore.pem`), readFileSync(f(`${name}.key`), 'utf8') + readFileSync(f(`${name}.crt`), 'utf8'));
  };
  await makeCa('ca');
  await makeCa('other-ca');
  await makeSigned('broker', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1', 'serverAuth');
  await makeSigned('misnamed', '/CN=kafka.elsewhere.invalid', 'DNS:kafka.elsewhere.invalid', 'serverAuth');
  await makeSigned('client', `/CN=${user.username}`, undefined, 'clientAuth');

  const jaasPlain = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${user.username}="${user.password}";`;
  const jaasScram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const listener = (name: string, keystore: string) =>
    [
      `listener.name.${name}.ssl.keystore.type=PEM`,
      `listener.name.${name}.ssl.keystore.location=${f(keystore)}`,
      `listener.name.${name}.ssl.truststore.type=PEM`,
      `listener.name.${name}.ssl.truststore.location=${f('ca.pem')}`,
      `listener.name.${name}.ssl.client.auth=${name === 'sasl_ssl' ? 'required' : 'none'}`,
      `listener.name.${name}.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512`,
      `listener.name.${name}.plain.sasl.jaas.config=${jaasPlain}`,
      `listener.name.${name}.scram-sha-256.sasl.jaas.config=${jaasScram}`,
      `listener.name.${name}.scram-sha-512.sasl.jaas.config=${jaasScram}`,
    ].join('\n');
  const extraConfig = join(location.dataDir, 'security.properties');
  writeFileSync(extraConfig, `\n${listener('sasl_ssl', 'broker.keystore.pem')}\n${listener('misnamed', 'misnamed.keystore.pem')}\n`);
  const scram = (mechanism: string) => `--add-scram ${mechanism}=[name=${user.username},password=${user.password}]`;
  let broker: BrokerProcess;
  try {
    broker = await startBroker(location, {
      quickStart: true,
      env: {
        PRIO_KAFKA_EXTRA_LISTENERS: `SASL_SSL://127.0.0.1:${saslPort},MISNAMED://127.0.0.1:${misnamedPort}`,
        PRIO_KAFKA_EXTRA_PROTOCOLS: 'SASL_SSL:SASL_SSL,MISNAMED:SASL_SSL',
        PRIO_KAFKA_EXTRA_CONFIG: extraConfig,
        PRIO_KAFKA_FORMAT_ARGS: `${scram('SCRAM-SHA-256')} ${scram('SCRAM-SHA-512')}`,
      },
    });
  } catch (err) {
    removeBrokerData(location);
    throw err;
  }
  return {
    ...broker,
    saslSsl: `127.0.0.1:${saslPort}`,
    misnamed: `127.0.0.1:${misnamedPort}`,
    user,
    tls: { ca: f('ca.pem'), otherCa: f('other-ca.pem'), clientCert: f('client.crt'), clientKey: f('client.key') },
  };
}
