/**
 * AppConfigData: configuration sessions and polling, as `@aws-sdk/client-appconfigdata` speaks it.
 *
 * StartConfigurationSession resolves the application, environment and profile (by id or name)
 * and hands out an initial token; each GetLatestConfiguration spends its token and returns the
 * next one. The body is empty when the session already holds the version it is served, which is
 * how AppConfig says "unchanged".
 *
 * Tokens carry the session's state (resources, bucket, version last served, poll interval), so
 * polling never writes to the store and a restarted endpoint still honours them; the endpoint
 * remembers only the newest token number per session, to refuse a token spent already.
 * A session's bucket (0–100) decides whether it is among the PercentageComplete share of
 * targets a deployment in progress has reached.
 */
import { randomUUID } from 'node:crypto';
import type { LocalContext } from './context.js';
import { sessionBucket } from './deployment.js';
import { ApiError, badRequest, jsonBody, numberField, route, stringField, type ApiRequest, type ApiResponse, type Route } from './protocol.js';

interface TokenState {
  /** Session id. */
  readonly s: string;
  readonly a: string;
  readonly e: string;
  readonly p: string;
  /** Bucket in [0, 100). */
  readonly b: number;
  /** Token number within the session. */
  readonly n: number;
  /** `deploymentNumber:versionNumber` of the configuration last served, or null before the first. */
  readonly v: string | null;
  /** Poll interval, seconds. */
  readonly i: number;
  /** Epoch ms at which the token was issued. */
  readonly t: number;
}

const TOKEN_PREFIX = 'local1.';
/** Sessions remembered for reuse detection; the oldest are forgotten past this many. */
const MAX_SESSIONS = 100_000;
/** A poll this much earlier than the interval is still accepted (timers are not exact). */
const POLL_SLACK_MS = 1_000;
const DEFAULT_POLL_INTERVAL_S = 60;
/** AppConfigData: "the token is valid for up to 24 hours". */
const TOKEN_LIFETIME_MS = 24 * 3_600_000;

function encodeToken(t: TokenState): string {
  return TOKEN_PREFIX + Buffer.from(JSON.stringify(t), 'utf8').toString('base64url');
}

function tokenProblem(problem: 'Corrupted' | 'Expired' | 'PollIntervalNotSatisfied', message: string): ApiError {
  return badRequest(message, { Reason: 'InvalidParameters', Details: { InvalidParameters: { ConfigurationToken: { Problem: problem } } } });
}

function decodeToken(raw: string): TokenState {
  if (!raw.startsWith(TOKEN_PREFIX)) throw tokenProblem('Corrupted', 'The configuration token is not valid.');
  try {
    const t = JSON.parse(Buffer.from(raw.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8')) as TokenState;
    if (typeof t.s !== 'string' || typeof t.b !== 'number' || typeof t.n !== 'number' || typeof t.a !== 'string') throw new Error('shape');
    return t;
  } catch {
    throw tokenProblem('Corrupted', 'The configuration token is not valid.');
  }
}

export interface DataPlaneOptions {
  /** Smallest RequiredMinimumPollIntervalInSeconds accepted (AppConfig: 15; locally 1 by default). */
  readonly minPollIntervalSeconds?: number;
}

export function dataPlaneRoutes(ctx: LocalContext, options: DataPlaneOptions = {}): Route[] {
  const minInterval = options.minPollIntervalSeconds ?? 1;
  /** Session id → the number of the one token of it that may be spent next. */
  const sessions = new Map<string, number>();
  let sessionCount = 0;

  function remember(session: string, next: number): void {
    sessions.delete(session);
    sessions.set(session, next);
    if (sessions.size > MAX_SESSIONS) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) sessions.delete(oldest);
    }
  }

  function resolve(kind: 'Application' | 'Environment' | 'ConfigurationProfile', identifier: string, candidates: readonly { id: string; name: string }[]) {
    const found = candidates.find((c) => c.id === identifier) ?? candidates.find((c) => c.name === identifier);
    if (found === undefined) {
      throw new ApiError('ResourceNotFoundException', `${kind} ${identifier} not found.`, { ResourceType: kind, ReferencedBy: {} });
    }
    return found;
  }

  function startSession(req: ApiRequest): ApiResponse {
    const input = jsonBody(req);
    const appIdentifier = stringField(input, 'ApplicationIdentifier', { required: true, max: 128 }) ?? '';
    const envIdentifier = stringField(input, 'EnvironmentIdentifier', { required: true, max: 128 }) ?? '';
    const profileIdentifier = stringField(input, 'ConfigurationProfileIdentifier', { required: true, max: 128 }) ?? '';
    const interval = numberField(input, 'RequiredMinimumPollIntervalInSeconds', { min: minInterval, max: 86_400 }) ?? DEFAULT_POLL_INTERVAL_S;
    const app = resolve('Application', appIdentifier, ctx.state.applications);
    const env = resolve('Environment', envIdentifier, ctx.state.environments.filter((e) => e.applicationId === app.id));
    const profile = resolve('ConfigurationProfile', profileIdentifier, ctx.state.profiles.filter((p) => p.applicationId === app.id));
    const bucket = sessionBucket(sessionCount++);
    const token: TokenState = { s: randomUUID(), a: app.id, e: env.id, p: profile.id, b: bucket, n: 0, v: null, i: interval, t: ctx.now() };
    remember(token.s, 0);
    return { status: 201, body: { InitialConfigurationToken: encodeToken(token) } };
  }

  function latest(req: ApiRequest): ApiResponse {
    const raw = req.query.get('configuration_token');
    if (raw === null || raw === '') throw badRequest('ConfigurationToken is required.');
    const token = decodeToken(raw);
    const now = ctx.now();
    const expected = sessions.get(token.s);
    if (expected !== undefined && token.n !== expected) {
      throw tokenProblem('Expired', 'The configuration token was already used; use the NextPollConfigurationToken of the last response.');
    }
    if (now - token.t > TOKEN_LIFETIME_MS) {
      throw tokenProblem('Expired', 'The configuration token expired (tokens are valid for 24 hours); start a new configuration session.');
    }
    if (token.n > 0 && now - token.t < token.i * 1000 - POLL_SLACK_MS) {
      throw tokenProblem('PollIntervalNotSatisfied', `Poll again after ${token.i} seconds (NextPollIntervalInSeconds).`);
    }
    const served = ctx.served(token.a, token.e, token.p, token.b, now);
    if (served === undefined) {
      throw new ApiError('ResourceNotFoundException', `No configuration has been deployed for profile ${token.p} to environment ${token.e}.`, {
        ResourceType: 'Configuration',
        ReferencedBy: {},
      });
    }
    const key = `${served.deployment.deploymentNumber}:${served.version.versionNumber}`;
    const next: TokenState = { ...token, n: token.n + 1, v: key, t: now };
    remember(token.s, next.n);
    const headers: Record<string, string> = {
      'Next-Poll-Configuration-Token': encodeToken(next),
      'Next-Poll-Interval-In-Seconds': String(token.i),
      'Content-Type': served.version.contentType,
    };
    const unchanged = token.v !== null && sameVersion(token.v, key);
    // AppConfigData leaves VersionLabel empty, like the body, when the client has the version already.
    if (served.version.versionLabel !== undefined && !unchanged) headers['Version-Label'] = served.version.versionLabel;
    return { status: 200, headers, body: unchanged ? Buffer.alloc(0) : Buffer.from(served.version.content, 'base64') };
  }

  return [
    route('POST', '/configurationsessions', 'StartConfigurationSession', 'data', startSession),
    route('GET', '/configuration', 'GetLatestConfiguration', 'data', latest),
  ];
}

/** Two served configurations are the same when they are the same hosted version (redeploying it changes nothing). */
function sameVersion(a: string, b: string): boolean {
  return a.split(':')[1] === b.split(':')[1];
}
