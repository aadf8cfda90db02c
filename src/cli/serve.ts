/**
 * `prio serve`: runs the live scheduler as an HTTP service until SIGTERM or SIGINT, then drains
 * (see src/service and docs/service.md).
 */
import { join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { createConfigProvider, type ConfigProviderOptions, type ProfileIdentifiers } from '../appconfig/index.js';
import { DEFAULT_RULES_DIR, loadDomain, loadTokenKeyring, readJsonFile } from '../config/index.js';
import { isLocalEndpoint } from '../eventstore/index.js';
import { parseCapacity } from '../scheduler/index.js';
import {
  fileRequestLog,
  kafkaRequestLog,
  noRequestLog,
  SERVICE_TIME_DISTRIBUTIONS,
  startService,
  startSimUpstream,
  type RequestLog,
  type ServiceTimeDistribution,
  type SimUpstream,
} from '../service/index.js';
import { parseBrokers } from '../shadow/index.js';
import type { Register } from './main.js';
import { addKafkaSecurityOptions, givenKafkaSecurityOption, kafkaSecurityFromOptions } from './shadow-kafka.js';
import { ExitCode, UsageError, type Io } from './output.js';

const DEFAULT_CAPACITY_FILE = join(DEFAULT_RULES_DIR, 'capacity.json');

interface ServeOptions {
  json?: boolean;
  host: string;
  port: number;
  upstream?: string;
  simMeanMs: number;
  simDistribution: ServiceTimeDistribution;
  simSeed: number;
  simStreamChunks: number;
  config?: string;
  configPollMs: number;
  appconfig?: string;
  appconfigApp?: string;
  appconfigEnv?: string;
  appconfigProfiles: string;
  appconfigOverrides?: boolean;
  appconfigEndpoint?: string;
  appconfigRegion?: string;
  appconfigPollSeconds?: number;
  appconfigPollScale?: number;
  appconfigAgent?: string;
  rulesDir?: string;
  capacity: string;
  keyFile?: string;
  devKeys?: boolean;
  queueTimeoutMs: number;
  sessionTtlMs: number;
  tokenClockOffsetMs: number;
  region: string;
  requestLog?: string;
  requestLogKafka?: string;
  requestLogTopic: string;
  graceMs: number;
  logLevel: string;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be an integer (negative: behind the wall clock)');
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

export const registerServe: Register = (program, io, setExit) => {
  // The request log's Kafka TLS and SASL options, defined once with shadow replay's and produce's.
  addKafkaSecurityOptions(program.command('serve'))
    .summary('Run the live scheduler as an HTTP service: gateway to a model server, or decisions only.')
    .description(
      [
        'Run the scheduler as an HTTP service. With --upstream, requests under /v1/ are ranked by the rules and session tokens,',
        'queued by the dispatch loop and forwarded when it grants a slot (--upstream sim: runs a built-in simulated model server).',
        'POST /v1/decide answers the ranking alone. Configuration comes from AWS AppConfig (--appconfig-*), a watched --config,',
        'or the rules baked into the package, and is swapped without dropping or re-ranking a request; /metrics, /healthz and /readyz',
        'report on it. SIGTERM drains within --grace-ms and exits 0.',
      ].join(' '),
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', nonNegativeInt, 8080)
    .option('--upstream <url>', 'model server to forward to (gateway mode), or sim: for the simulated one; without it, decision mode only')
    .option('--sim-mean-ms <ms>', 'simulated model server: mean service time', nonNegativeNumber, 50)
    .addOption(new Option('--sim-distribution <name>', 'simulated model server: service time distribution').choices(SERVICE_TIME_DISTRIBUTIONS).default('exponential'))
    .option('--sim-seed <n>', 'simulated model server: seed of the service times', nonNegativeInt, 1)
    .option('--sim-stream-chunks <n>', 'simulated model server: events per streamed answer', positiveInt, 8)
    .option('--config <path>', 'configuration directory (rules.json, flags.json, overrides.json) or one rules file, watched for changes (default: the baked rules)')
    .option('--config-poll-ms <ms>', 'how often --config is re-read besides file-change events', positiveInt, 1000)
    .option('--appconfig <app/env>', 'take the configuration from AWS AppConfig: APPLICATION/ENVIRONMENT (or --appconfig-app and --appconfig-env)')
    .option('--appconfig-app <name>', 'AWS AppConfig application')
    .option('--appconfig-env <name>', 'AWS AppConfig environment')
    .option('--appconfig-profiles <list>', 'configuration profiles as rules=ID,flags=ID[,overrides=ID]', 'rules=rules,flags=flags')
    .option('--appconfig-overrides', 'also read the account overrides from the profile named overrides (deploy it to the environment first)')
    .addOption(new Option('--appconfig-endpoint <url>', "AppConfigData endpoint (default: the region's; e.g. prio appconfig local, which takes any credentials)").env('AWS_ENDPOINT_URL_APPCONFIGDATA'))
    .option('--appconfig-region <region>', 'AWS region (default: $AWS_REGION, else us-east-1)')
    .option('--appconfig-poll-seconds <s>', 'least poll interval asked of AppConfigData', positiveInt)
    .addOption(new Option('--appconfig-poll-scale <x>', 'multiply the poll interval AppConfig asks for (rehearsals on a compressed time scale)').argParser(nonNegativeNumber).hideHelp())
    .option('--appconfig-agent <url>', 'read through the AppConfig Agent at this URL (e.g. http://localhost:2772) instead of AppConfigData')
    .option('--rules-dir <dir>', 'directory with catalog.json and priorities.json (default: the packaged rules/)')
    .addOption(new Option('--capacity <file>', 'capacity file: per-model concurrency, queue bounds, reserved units, account throttles').default(DEFAULT_CAPACITY_FILE, 'rules/capacity.json'))
    .option('--key-file <file>', `session token keys (default: $PRIO_TOKEN_KEYS)`)
    .option('--dev-keys', 'without keys, sign tokens with the public development key (demos only)')
    .option('--queue-timeout-ms <ms>', 'longest wait in the queue before a request expires (503)', positiveInt, 30_000)
    .option('--session-ttl-ms <ms>', "lifetime of a new session's token", positiveInt, 3_600_000)
    .option('--token-clock-offset-ms <ms>', 'shift the clock session tokens are issued and checked by (ms, may be negative; clock-skew drills)', integer, 0)
    .option('--region <name>', 'region recorded for requests that name none', 'local')
    .option('--request-log <file>', 'append every finished request as a request record (NDJSON)')
    .option('--request-log-kafka <brokers>', 'write the request log to Kafka instead (host:port[,host:port])')
    .option('--request-log-topic <topic>', 'Kafka topic of the request log', 'prio-requests')
    .option('--json', 'print the listening and stopped lines as JSON objects (one per line), for scripts that start prio serve')
    .option('--grace-ms <ms>', 'on SIGTERM, how long queued and running requests may take to finish', nonNegativeInt, 30_000)
    .addOption(new Option('--log-level <level>', 'structured log level (JSON on stderr)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'))
    .addHelpText(
      'after',
      '\nExamples:\n  PRIO_TOKEN_KEYS=k1:$(openssl rand -base64 32) prio serve --upstream sim: --sim-mean-ms 20 --port 8080\n' +
        '  prio serve --dev-keys --config ./deploy/config --capacity ./deploy/capacity.json --upstream http://127.0.0.1:9000\n' +
        '  curl -s localhost:8080/v1/decide -d \'{"accountId":"a1","classification":"ON_DEMAND","modelId":"m"}\'\n',
    )
    .action(async (options: ServeOptions) => {
      setExit(await runServe(options, io));
    });
};

/** Parses `rules=ID,flags=ID[,overrides=ID]`. */
function parseProfiles(text: string): ProfileIdentifiers {
  const ids: Record<string, string> = {};
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [name, id, ...rest] = entry.split('=');
    if (name === undefined || id === undefined || id === '' || rest.length > 0 || !['rules', 'flags', 'overrides'].includes(name) || name in ids) {
      throw new UsageError(`--appconfig-profiles: bad entry ${JSON.stringify(entry)} (expected rules=ID,flags=ID[,overrides=ID])`);
    }
    ids[name] = id;
  }
  if (ids.rules === undefined || ids.flags === undefined) throw new UsageError('--appconfig-profiles must name the rules and flags profiles');
  return { rules: ids.rules, flags: ids.flags, ...(ids.overrides === undefined ? {} : { overrides: ids.overrides }) };
}

function appConfigSources(options: ServeOptions): Pick<ConfigProviderOptions, 'appConfig' | 'agent'> {
  let { appconfigApp: application, appconfigEnv: environment } = options;
  if (options.appconfig !== undefined) {
    const [app, env, ...rest] = options.appconfig.split('/');
    if (app === undefined || app === '' || env === undefined || env === '' || rest.length > 0) throw new UsageError(`--appconfig takes APPLICATION/ENVIRONMENT, got "${options.appconfig}"`);
    if (application !== undefined || environment !== undefined) throw new UsageError('give --appconfig or --appconfig-app and --appconfig-env, not both');
    application = app;
    environment = env;
  }
  if (application === undefined && environment === undefined) {
    if (options.appconfigAgent !== undefined || options.appconfigEndpoint !== undefined) throw new UsageError('--appconfig-agent and --appconfig-endpoint need --appconfig-app and --appconfig-env');
    return {};
  }
  if (application === undefined || environment === undefined) throw new UsageError('give --appconfig-app and --appconfig-env together');
  const named = parseProfiles(options.appconfigProfiles);
  const profiles: ProfileIdentifiers = options.appconfigOverrides === true && named.overrides === undefined ? { ...named, overrides: 'overrides' } : named;
  const endpoint = options.appconfigEndpoint;
  if (options.appconfigAgent !== undefined) return { agent: { baseUrl: options.appconfigAgent, application, environment, profiles } };
  return {
    appConfig: {
      application,
      environment,
      profiles,
      clientConfig: {
        region: options.appconfigRegion ?? process.env.AWS_REGION ?? 'us-east-1',
        ...(endpoint === undefined ? {} : { endpoint }),
        // An endpoint on this machine (prio appconfig local) checks no signature: any credentials do.
        ...(isLocalEndpoint(endpoint) && process.env.AWS_ACCESS_KEY_ID === undefined ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
      },
      ...(options.appconfigPollSeconds === undefined ? {} : { minimumPollIntervalSeconds: options.appconfigPollSeconds }),
      ...(options.appconfigPollScale === undefined ? {} : { pollIntervalScale: options.appconfigPollScale }),
    },
  };
}

async function runServe(options: ServeOptions, io: Io): Promise<number> {
  if (options.requestLog !== undefined && options.requestLogKafka !== undefined) throw new UsageError('give --request-log or --request-log-kafka, not both');
  const logger = pino({ name: 'prio-serve', level: options.logLevel }, pino.destination(2));
  const domain = loadDomain(options.rulesDir);
  const capacity = parseCapacity(readJsonFile(options.capacity), options.capacity);
  const { keyring, origin } = loadTokenKeyring({ ...(options.keyFile === undefined ? {} : { keyFile: options.keyFile }), allowDevelopmentKey: options.devKeys === true });
  let brokers: string[] | undefined;
  const securityOption = givenKafkaSecurityOption(options as unknown as Readonly<Record<string, unknown>>);
  if (options.requestLogKafka === undefined && securityOption !== undefined) throw new UsageError(`${securityOption} needs --request-log-kafka`);
  const security = kafkaSecurityFromOptions(options as unknown as Readonly<Record<string, unknown>>);
  const kafkaSecurity = security === undefined ? {} : { security };
  if (options.requestLogKafka !== undefined) {
    try {
      brokers = parseBrokers(options.requestLogKafka);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const provider = createConfigProvider({
    ...appConfigSources(options),
    ...(options.config === undefined ? {} : { file: { path: options.config, pollIntervalMs: options.configPollMs } }),
    ...(options.rulesDir === undefined ? {} : { rulesDir: options.rulesDir }),
    logger: logger.child({ part: 'config' }),
  });
  await provider.start();

  const counts = {
    onError: (message: string) => logger.error({ requestLog: true }, message),
  };
  let requestLog: RequestLog = noRequestLog;
  let sim: SimUpstream | undefined;
  let upstream = options.upstream;
  if (upstream !== undefined && upstream.startsWith('sim:')) {
    sim = await startSimUpstream({ meanMs: options.simMeanMs, distribution: options.simDistribution, seed: options.simSeed, streamChunks: options.simStreamChunks });
    upstream = sim.url;
    logger.info({ url: sim.url, meanMs: options.simMeanMs, distribution: options.simDistribution }, 'simulated model server started');
  } else if (upstream !== undefined) {
    try {
      const parsed = new URL(upstream);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new UsageError(`--upstream must be an http(s) URL or sim:, got ${upstream}`);
    }
  }
  // Counted through the service's metrics once it exists: the log is made first so the service owns it.
  const counter: { into?: (event: 'written' | 'dropped', count: number) => void } = {};
  const onCount = (event: 'written' | 'dropped', count: number) => counter.into?.(event, count);
  if (options.requestLog !== undefined) requestLog = fileRequestLog({ file: options.requestLog, onCount, ...counts });
  if (brokers !== undefined) requestLog = kafkaRequestLog({ brokers, topic: options.requestLogTopic, ...kafkaSecurity, onCount, ...counts });

  const service = await startService({
    provider,
    domain,
    capacity,
    keyring,
    ...(upstream === undefined ? {} : { upstream }),
    host: options.host,
    port: options.port,
    queueTimeoutMs: options.queueTimeoutMs,
    sessionTtlMs: options.sessionTtlMs,
    tokenClockOffsetMs: options.tokenClockOffsetMs,
    region: options.region,
    requestLog,
    logger,
  });
  counter.into = (event, count) => service.metrics.requestLog(event, count);
  logger.info({ keys: origin }, 'session token keys');
  const mode = upstream === undefined ? 'decision' : 'gateway';
  const config = provider.current()?.version ?? null;
  if (options.json === true) io.out(JSON.stringify({ event: 'listening', url: service.url, mode, upstream: sim === undefined ? (upstream ?? null) : 'sim:', config }));
  else io.out(`prio serve listening on ${service.url} (${upstream === undefined ? 'decision mode' : `gateway to ${sim === undefined ? upstream : 'sim:'}`}; config ${config ?? 'none'})`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'stopping');
  const report = await service.close(options.graceMs);
  await provider.close();
  await sim?.close();
  if (options.json === true) io.out(JSON.stringify({ event: 'stopped', signal, finished: report.finished, cancelled: report.cancelled }));
  else io.out(`prio serve stopped: ${report.finished} in-flight requests finished, ${report.cancelled} answered 503 at the end of the grace period`);
  return ExitCode.ok;
}
