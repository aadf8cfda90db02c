/**
 * Kafka as production runs it: TLS (a CA file, a client certificate, hostname verification on
 * by default) and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). One description of the security
 * settings serves every connection prio opens: kafkajs's (metadata, groups, `shadow produce`,
 * the service's request log) through {@link kafkajsSecurity}, and the direct fetch path's own
 * sockets (kafka-fetch.ts) through {@link tlsOptions} and {@link saslAuthenticate}.
 *
 * Credentials never come from the command line (a password there shows in `ps` and in shell
 * history): from the environment (PRIO_KAFKA_USERNAME, PRIO_KAFKA_PASSWORD) or a file.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export const KAFKA_USERNAME_ENV = 'PRIO_KAFKA_USERNAME';
export const KAFKA_PASSWORD_ENV = 'PRIO_KAFKA_PASSWORD';

export interface KafkaTls {
  /** PEM certificates of the CAs to trust; the system's CAs when absent. */
  readonly ca?: string;
  /** PEM client certificate (chain) and its key, for brokers that ask for one. */
  readonly cert?: string;
  readonly key?: string;
  /** Check the broker's certificate names the host connected to. Default true. */
  readonly verifyHostname?: boolean;
}

export interface KafkaSasl {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface KafkaSecurity {
  /** Present: connections are TLS. */
  readonly tls?: KafkaTls;
  readonly sasl?: KafkaSasl;
}

/** A security setting that cannot be used (a file that cannot be read, credentials missing). */
export class KafkaSecurityError extends Error {
  override readonly name = 'KafkaSecurityError';
}

/** Security settings as named on a command line: file paths and a mechanism, no secret. */
export interface KafkaSecuritySettings {
  readonly tls?: boolean;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly verifyHostname?: boolean;
  readonly saslMechanism?: string;
  /** A file holding `username=...` and `password=...` lines. */
  readonly saslFile?: string;
}

/**
 * Reads the files the settings name and the credentials (file, else environment). TLS is on
 * when asked for or when any TLS file is named. Throws {@link KafkaSecurityError} with one line
 * naming the file or variable at fault.
 */
export function loadKafkaSecurity(settings: KafkaSecuritySettings, env: Readonly<Record<string, string | undefined>> = process.env): KafkaSecurity | undefined {
  const read = (what: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new KafkaSecurityError(`cannot read the Kafka ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
    }
  };
  const tlsWanted = settings.tls === true || settings.caFile !== undefined || settings.certFile !== undefined || settings.keyFile !== undefined || settings.verifyHostname === false;
  if ((settings.certFile === undefined) !== (settings.keyFile === undefined)) {
    throw new KafkaSecurityError('a Kafka client certificate needs both its certificate file and its key file');
  }
  const tls: KafkaTls | undefined = tlsWanted
    ? {
        ...(settings.caFile === undefined ? {} : { ca: read('CA file', settings.caFile) }),
        ...(settings.certFile === undefined ? {} : { cert: read('client certificate', settings.certFile) }),
        ...(settings.keyFile === undefined ? {} : { key: read('client key', settings.keyFile) }),
        verifyHostname: settings.verifyHostname !== false,
      }
    : undefined;
  let sasl: KafkaSasl | undefined;
  if (settings.saslMechanism !== undefined) {
    const mechanism = settings.saslMechanism.toLowerCase();
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      throw new KafkaSecurityError(`unknown SASL mechanism ${settings.saslMechanism} (expected one of ${SASL_MECHANISMS.join(', ')})`);
    }
    let username: string | undefined;
    let password: string | undefined;
    if (settings.saslFile !== undefined) {
      const fields = parseCredentials(read('SASL credentials file', settings.saslFile));
      username = fields.get('username');
      password = fields.get('password');
      if (username === undefined || password === undefined) {
        throw new KafkaSecurityError(`the Kafka SASL credentials file ${settings.saslFile} needs a username= and a password= line`);
      }
    } else {
      username = env[KAFKA_USERNAME_ENV];
      password = env[KAFKA_PASSWORD_ENV];
      if (!username || password === undefined) {
        throw new KafkaSecurityError(`SASL ${mechanism} needs credentials: set ${KAFKA_USERNAME_ENV} and ${KAFKA_PASSWORD_ENV}, or name a credentials file`);
      }
    }
    sasl = { mechanism: mechanism as SaslMechanism, username, password };
  } else if (settings.saslFile !== undefined) {
    throw new KafkaSecurityError('a SASL credentials file needs a SASL mechanism');
  }
  if (tls === undefined && sasl === undefined) return undefined;
  return { ...(tls === undefined ? {} : { tls }), ...(sasl === undefined ? {} : { sasl }) };
}

/** `key=value` lines (Java properties style, `#` comments); values keep inner spaces. */
function parseCredentials(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return fields;
}

/** Options for `tls.connect` to `host`: the CA, the client certificate, and the hostname check unless turned off. */
export function tlsOptions(tls: KafkaTls, host?: string): ConnectionOptions {
  return {
    // SNI takes a host name only (an IP address there is refused by RFC 6066, and Node warns).
    ...(host === undefined || isIP(host) ? {} : { servername: host }),
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    // The chain is always verified; only the name check can be turned off, and only by asking.
    rejectUnauthorized: true,
    ...(tls.verifyHostname === false ? { checkServerIdentity: () => undefined } : {}),
  };
}

/** The `ssl` and `sasl` settings of a kafkajs client. */
export function kafkajsSecurity(security: KafkaSecurity | undefined): { ssl?: ConnectionOptions; sasl?: SASLOptions } {
  if (security === undefined) return {};
  const { tls, sasl } = security;
  let saslOptions: SASLOptions | undefined;
  if (sasl !== undefined) {
    const { username, password } = sasl;
    saslOptions = sasl.mechanism === 'plain' ? { mechanism: 'plain', username, password } : sasl.mechanism === 'scram-sha-256' ? { mechanism: 'scram-sha-256', username, password } : { mechanism: 'scram-sha-512', username, password };
  }
  return {
    // kafkajs adds host, port and (for a host name) the servername itself.
    ...(tls === undefined ? {} : { ssl: tlsOptions(tls) }),
    ...(saslOptions === undefined ? {} : { sasl: saslOptions }),
  };
}

/**
 * One SASL exchange step: sends `bytes` (SaslAuthenticate) and resolves with the broker's
 * answer. The connection supplies it; the mechanism logic below knows nothing of sockets.
 */
export type SaslStep = (bytes: Buffer) => Promise<Buffer>;

/**
 * Authenticates with `sasl` over `step`. PLAIN sends the credentials once (RFC 4616); SCRAM
 * (RFC 5802, RFC 7677) proves the password without sending it and checks the broker's own
 * proof, so a broker that does not know the password is not believed either. Written here
 * rather than taken from kafkajs, whose SCRAM code is internal (not part of its public API).
 */
export async function saslAuthenticate(sasl: KafkaSasl, step: SaslStep, clientNonce?: string): Promise<void> {
  if (sasl.mechanism === 'plain') {
    await step(Buffer.from(`\0${sasl.username}\0${sasl.password}`, 'utf8'));
    return;
  }
  const digest = sasl.mechanism === 'scram-sha-256' ? 'sha256' : 'sha512';
  const keyLength = digest === 'sha256' ? 32 : 64;
  // Given only by tests that replay a published exchange (RFC 7677's example).
  const nonce = clientNonce ?? randomBytes(24).toString('base64');
  const clientFirstBare = `n=${sasl.username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  const serverFirst = (await step(Buffer.from(`n,,${clientFirstBare}`, 'utf8'))).toString('utf8');
  const fields = scramFields(serverFirst);
  const serverNonce = fields.get('r');
  const salt = fields.get('s');
  const iterations = Number(fields.get('i'));
  if (serverNonce === undefined || !serverNonce.startsWith(nonce) || salt === undefined || !Number.isSafeInteger(iterations) || iterations < 1) {
    throw new Error(`SASL ${sasl.mechanism}: the broker's first message is malformed`);
  }
  const saltedPassword = pbkdf2Sync(sasl.password, Buffer.from(salt, 'base64'), iterations, keyLength, digest);
  const hmac = (key: Buffer, text: string) => createHmac(digest, key).update(text, 'utf8').digest();
  const clientKey = hmac(saltedPassword, 'Client Key');
  const storedKey = createHash(digest).update(clientKey).digest();
  const clientFinalNoProof = `c=biws,r=${serverNonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${clientFinalNoProof}`;
  const clientSignature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number);
  const serverFinal = scramFields((await step(Buffer.from(`${clientFinalNoProof},p=${proof.toString('base64')}`, 'utf8'))).toString('utf8'));
  const error = serverFinal.get('e');
  if (error !== undefined) throw new Error(`SASL ${sasl.mechanism}: ${error}`);
  const expected = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
  const verifier = Buffer.from(serverFinal.get('v') ?? '', 'base64');
  if (verifier.length !== expected.length || !timingSafeEqual(verifier, expected)) {
    throw new Error(`SASL ${sasl.mechanism}: the broker could not prove it knows the password`);
  }
}

function scramFields(message: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return fields;
}
