/**
 * `prio appconfig local`: runs the AppConfig-compatible endpoint until SIGINT/SIGTERM.
 * Thin: parses options, starts src/appconfig/local, prints where it listens.
 */
import { Command, Option } from 'commander';
import { startLocalAppConfig, StateFileError, type LocalAppConfig } from '../appconfig/index.js';
import { ExitCode, printJson, processIo, UsageError, type Io } from './output.js';

interface LocalOptions {
  host: string;
  port: string;
  stateDir?: string;
  timeScale: string;
  minPollInterval: string;
  log?: boolean;
  json?: boolean;
}

function parseNumber(text: string, option: string, check: (n: number) => boolean, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`${option} must be ${what}, got "${text}"`);
  return n;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function localCommand(io: Io = processIo, setExit: (code: number) => void = () => undefined): Command {
  return new Command('local')
    .description('Run an AppConfig-compatible endpoint (control plane + AppConfigData) for rehearsals and tests.')
    .addOption(new Option('--host <host>', 'interface to bind').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port; 0 picks a free one').default('0'))
    .addOption(new Option('--state-dir <dir>', 'keep state in <dir>/appconfig-local.json across restarts (default: in memory)'))
    .addOption(new Option('--time-scale <x>', 'strategy minutes pass in 60/x seconds (e.g. 60: a minute per second)').default('1'))
    .addOption(new Option('--min-poll-interval <s>', 'smallest RequiredMinimumPollIntervalInSeconds accepted (AWS: 15)').default('1'))
    .option('--log', 'print one line per request to stderr: method, path, status, operation, time')
    .option('--json', 'print {"url", ...} as JSON instead of a sentence')
    .addHelpText(
      'after',
      `
Point the AWS SDK or CLI at it with --endpoint-url (any credentials and region: signatures are
not checked). The admin API under /_local/ sets alarm states and injects faults; see
docs/appconfig-local.md. Stops cleanly on Ctrl-C or SIGTERM (exit 0).

Example:
  prio appconfig local --port 4567 --time-scale 60 --state-dir .prio/appconfig &
  aws appconfig list-deployment-strategies --endpoint-url http://127.0.0.1:4567
  curl -X PUT http://127.0.0.1:4567/_local/alarms -d '{"arn":"arn:aws:cloudwatch:us-east-1:111122223333:alarm:errors","state":"ALARM"}'`,
    )
    .action(async (options: LocalOptions) => {
      const port = parseNumber(options.port, '--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'an integer 0-65535');
      const timeScale = parseNumber(options.timeScale, '--time-scale', (n) => n > 0, 'a positive number');
      const minPollIntervalSeconds = parseNumber(options.minPollInterval, '--min-poll-interval', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
      let local: LocalAppConfig;
      try {
        local = await startLocalAppConfig({
          host: options.host,
          port,
          timeScale,
          minPollIntervalSeconds,
          ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
          onInternalError: (line) => io.err(`internal error: ${line}`),
          ...(options.log === true ? { onRequest: (line: string) => io.err(line) } : {}),
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (err instanceof StateFileError) io.err(`error: ${err.message}`);
        else if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') io.err(`error: cannot listen on ${options.host}:${port}: ${(err as Error).message}`);
        else throw err;
        setExit(ExitCode.usage);
        return;
      }
      if (options.json === true) {
        printJson(io, { url: local.url, host: local.host, port: local.port, timeScale: local.timeScale, state: local.stateLocation });
      } else {
        io.out(`prio appconfig local listening on ${local.url} (state: ${local.stateLocation}, time scale ${local.timeScale})`);
      }
      const signal = await untilSignal();
      await local.close();
      if (options.json !== true) io.err(`stopped on ${signal}`);
      setExit(ExitCode.ok);
    });
}
