/**
 * `prio appconfig …`: the deploy pipeline that takes a rule set, the account overrides and the
 * rollout flags to a live fleet through AWS AppConfig. Thin: parses options, calls
 * src/appconfig/pipeline, prints (tables by default, JSON with --json), returns an exit code.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import type { Domain } from '../catalog/index.js';
import { DEFAULT_RULES_DIR, loadDomain } from '../config/index.js';
import {
  connect,
  currentCommit,
  deploy,
  deployedDocuments,
  describeAction,
  describeAwsError,
  describeDeployment,
  diffVersions,
  documentFrom,
  followDeployment,
  formatWatchLine,
  history,
  init,
  PipelineError,
  PROFILE_NAMES,
  publish,
  resolveTarget,
  rollback,
  shippedDocuments,
  status,
  validate,
  watchTarget,
  type ConfigurationDocuments,
  type Connection,
  type DeploymentRecord,
  type DocumentIssue,
  type EnvironmentStatus,
  type ProfileName,
  type ValidateResult,
} from '../appconfig/index.js';
import { createProgress } from '../shadow/index.js';
import { localCommand } from './appconfig-local.js';
import { formatIssue } from '../validation/index.js';
import { ExitCode, printJson, processIo, table, UsageError, type Io } from './output.js';

interface ConnectionCliOptions {
  region?: string;
  endpointUrl?: string;
  json?: boolean;
}

type SetExit = (code: number) => void;

const DOCS = 'Pipeline, CI workflow, IAM policy and rollback: docs/appconfig.md.';

function withConnectionOptions(command: Command): Command {
  return command
    .option('--region <region>', 'AWS region (default: the SDK chain: AWS_REGION, the profile)')
    .option('--endpoint-url <url>', 'AppConfig endpoint (default: $AWS_ENDPOINT_URL_APPCONFIG, $AWS_ENDPOINT_URL, else AWS)')
    .option('--json', 'print the result as JSON');
}

function profileOption(description = 'configuration profile'): Option {
  return new Option('--profile <profile>', description).choices(PROFILE_NAMES);
}

function positiveInt(what: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got "${text}"`);
    return n;
  };
}

function seconds(text: string): number {
  const n = Number(text);
  if (!(n > 0 && n <= 3600)) throw new UsageError(`--interval must be a number of seconds in (0, 3600], got "${text}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `env=ARN` pairs → ARNs per environment. */
function parseAlarms(pairs: readonly string[]): Map<string, string[]> {
  const alarms = new Map<string, string[]>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw new UsageError(`--alarm takes env=ARN, got "${pair}"`);
    const env = pair.slice(0, at);
    alarms.set(env, [...(alarms.get(env) ?? []), pair.slice(at + 1)]);
  }
  return alarms;
}

const shown = (d: Date | undefined) => (d === undefined ? '-' : d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

/**
 * Runs an action against AppConfig; every failure a person can act on becomes one line and an
 * exit code (2; 1 for a document that is invalid), never a stack trace.
 */
async function withConnection(options: ConnectionCliOptions, io: Io, setExit: SetExit, action: (conn: Connection) => Promise<number>): Promise<void> {
  const conn = connect({ ...(options.region === undefined ? {} : { region: options.region }), ...(options.endpointUrl === undefined ? {} : { endpointUrl: options.endpointUrl }) });
  try {
    setExit(await action(conn));
  } catch (err) {
    const failure = err instanceof PipelineError ? err : describeAwsError(err, conn.endpointLabel);
    if (failure === undefined) throw err;
    io.err(`error: ${failure.message}`);
    if (options.json === true) printJson(io, { error: failure.message, kind: failure.kind });
    setExit(failure.kind === 'invalid' ? ExitCode.findings : ExitCode.usage);
  } finally {
    conn.close();
  }
}

/** Runs an action that may not need AppConfig at all (validate without --app). */
async function offline(options: { json?: boolean }, io: Io, setExit: SetExit, action: () => Promise<number>): Promise<void> {
  try {
    setExit(await action());
  } catch (err) {
    if (!(err instanceof PipelineError)) throw err;
    io.err(`error: ${err.message}`);
    if (options.json === true) printJson(io, { error: err.message, kind: err.kind });
    setExit(err.kind === 'invalid' ? ExitCode.findings : ExitCode.usage);
  }
}

// ---------------------------------------------------------------------------------------------

function registerInit(group: Command, io: Io, setExit: SetExit): void {
  withConnectionOptions(
    group
      .command('init')
      .description('Create, idempotently, the application, its environments, the rules/overrides/flags profiles with their JSON Schema validators, and the shipped deployment strategies.')
      .requiredOption('--app <name>', 'application name')
      .requiredOption('--envs <names>', 'comma-separated environment names, e.g. beta,preprod,prod')
      .option('--alarm <env=ARN>', 'CloudWatch alarm that rolls a deployment to ENV back (repeatable)', collect, [])
      .option('--alarm-role <arn>', 'IAM role AppConfig assumes to read the alarms'),
  )
    .addHelpText(
      'after',
      `
Re-running changes nothing and says so. Alarms are set only for the environments --alarm names.
Strategies are created as <prefix>-<name>-v<version> from rules/deployment-strategies.json; one
that exists with other parameters is reported (raise its version instead of changing it).

Exit status: 0 done, 1 a strategy differs from the file, 2 usage or AppConfig error.

Example:
  $ prio appconfig init --app prio --envs beta,preprod,prod \\
      --alarm prod=arn:aws:cloudwatch:us-east-1:123456789012:alarm:prio-dispatch-errors`,
    )
    .action((options: ConnectionCliOptions & { app: string; envs: string; alarm: string[]; alarmRole?: string }) =>
      withConnection(options, io, setExit, async ({ client }) => {
        const envs = options.envs.split(',').map((e) => e.trim()).filter((e) => e !== '');
        if (envs.length === 0) throw new UsageError('--envs names no environment');
        const result = await init(client, { app: options.app, envs, alarms: parseAlarms(options.alarm), ...(options.alarmRole === undefined ? {} : { alarmRoleArn: options.alarmRole }) });
        const { plan } = result;
        if (options.json === true) printJson(io, { app: options.app, changed: result.applied, actions: plan.actions.map(describeAction), unchanged: plan.unchanged, problems: plan.problems });
        else if (plan.problems.length > 0) io.out(plan.problems.map((p) => `refused: ${p}`).join('\n'));
        else if (plan.actions.length === 0) io.out(`${options.app}: nothing to change (${plan.unchanged.length} resources already as wanted)`);
        else io.out([...plan.actions.map((a) => `${describeAction(a)}: done`), `${options.app}: ${plan.actions.length} change${plan.actions.length === 1 ? '' : 's'}, ${plan.unchanged.length} already as wanted`].join('\n'));
        return plan.problems.length > 0 ? ExitCode.findings : ExitCode.ok;
      }),
    );
}

// ---------------------------------------------------------------------------------------------

interface DocumentCliOptions extends ConnectionCliOptions {
  rules?: string;
  overrides?: string;
  flags?: string;
  app?: string;
  env?: string;
  shadow?: string;
  gate?: string;
  shadowOut?: string;
  quiet?: boolean;
}

function withDocumentOptions(command: Command): Command {
  return command
    .option('--rules <file>', 'rules document to compose with (default: what --env runs, else rules/service_tier.json)')
    .option('--overrides <file>', 'overrides document to compose with (default: what --env runs, else none)')
    .option('--flags <file>', 'flags document to compose with (default: what --env runs, else rules/flags.json)')
    .option('--shadow <log>', 'replay this NDJSON request log against what is deployed and the candidate')
    .option('--gate <file>', 'with --shadow: gate file judging the replay (exit 3 when it fails)')
    .option('--shadow-out <dir>', 'with --shadow: where the replay reports go (default: a new temporary directory)')
    .option('--quiet', 'no replay progress');
}

/** The documents a candidate is composed with: options first, then what runs in --env, then the shipped ones. */
async function compositionFor(options: DocumentCliOptions, connection: Connection | undefined): Promise<{ documents: ConfigurationDocuments; deployed: ConfigurationDocuments | undefined }> {
  const shipped = shippedDocuments();
  let base = shipped;
  let deployed: ConfigurationDocuments | undefined;
  if (connection !== undefined && options.app !== undefined && options.env !== undefined) {
    const target = await resolveTarget(connection.client, options.app, options.env);
    deployed = (await deployedDocuments(connection.client, target, shipped)).documents;
    base = deployed;
  }
  const documents: ConfigurationDocuments = {
    ...base,
    ...(options.rules === undefined ? {} : { rules: documentFrom(options.rules) }),
    ...(options.overrides === undefined ? {} : { overrides: documentFrom(options.overrides) }),
    ...(options.flags === undefined ? {} : { flags: documentFrom(options.flags) }),
  };
  return { documents, deployed };
}

function printIssues(issues: readonly DocumentIssue[], io: Io): void {
  for (const issue of issues) io.err(`${issue.stage}: ${formatIssue(issue)}`);
}

async function validateWith(profile: ProfileName, file: string, options: DocumentCliOptions, connection: Connection | undefined, domain: Domain): Promise<ValidateResult> {
  if (options.gate !== undefined && options.shadow === undefined) throw new UsageError('--gate needs --shadow');
  const { documents, deployed } = await compositionFor(options, connection);
  const shadow =
    options.shadow === undefined
      ? undefined
      : {
          log: options.shadow,
          ...(options.gate === undefined ? {} : { gate: options.gate }),
          outDir: options.shadowOut ?? mkdtempSync(join(tmpdir(), 'prio-appconfig-shadow-')),
          progress: createProgress({ stream: process.stderr, quiet: options.quiet === true || options.json === true, label: 'shadow' }),
        };
  return validate({ profile, file, documents, ...(deployed === undefined ? {} : { deployed }), ...(shadow === undefined ? {} : { shadow }), domain });
}

/** Prints a verdict; the exit code it means (0 valid, 1 invalid, 3 shadow gate failed). */
function reportValidation(file: string, profile: ProfileName, result: ValidateResult, io: Io, json: boolean): number {
  if (!result.valid) {
    printIssues(result.issues, io);
    if (json) printJson(io, { file, profile, valid: false, issues: result.issues });
    else io.out(`${file}: invalid ${profile} document, ${result.issues.length} problem${result.issues.length === 1 ? '' : 's'}; nothing published`);
    return ExitCode.findings;
  }
  const shadow = result.shadow;
  const gateFailed = shadow?.verdict !== undefined && !shadow.verdict.passed;
  if (json) {
    printJson(io, {
      file,
      profile,
      valid: true,
      ...(shadow === undefined ? {} : { shadow: { report: shadow.files.json, totals: shadow.report.totals, outcomes: shadow.report.outcomes, gate: shadow.verdict ?? null } }),
    });
  } else {
    io.out(`${file}: valid ${profile} document (${profile === 'flags' ? 'schema' : 'schema, lint'}, the configuration it makes compiles)`);
    if (shadow !== undefined) {
      const o = shadow.report.outcomes;
      io.out(`shadow: ${shadow.report.totals.compared} compared, ${o.changed} changed, ${o.candidateError} candidate errors; report ${shadow.files.json}`);
      if (shadow.verdict !== undefined) {
        io.out(`gate: ${shadow.verdict.passed ? 'passed' : 'FAILED'}`);
        for (const c of shadow.verdict.checks.filter((c) => !c.passed)) io.out(`  ${c.threshold}: ${c.detail}`);
      }
    }
  }
  return gateFailed ? ExitCode.gateFailed : ExitCode.ok;
}

function registerValidate(group: Command, io: Io, setExit: SetExit): void {
  withDocumentOptions(
    withConnectionOptions(
      group
        .command('validate')
        .description('Check a document before it is published: its schema, the rule lint, that the configuration it makes compiles, and optionally a shadow replay judged by a gate.')
        .addOption(profileOption('which profile the document is for').makeOptionMandatory())
        .argument('<file>', 'the candidate document (JSON)')
        .option('--app <name>', 'with --env: compose with, and replay against, what runs there')
        .option('--env <name>', 'environment whose deployed documents are the baseline'),
    ),
  )
    .addHelpText(
      'after',
      `
Every problem is printed as "<stage>: <file>#<JSON pointer>: <message>" on stderr.
Without --app/--env the candidate is composed with the shipped documents (or --rules,
--overrides, --flags) and needs no AppConfig at all.

Exit status: 0 valid, 1 invalid, 3 shadow gate failed, 2 usage, unreadable file or AppConfig error.

Examples:
  $ prio appconfig validate --profile rules rules/service_tier.json
  $ prio appconfig validate --profile overrides rules/overrides.example.json
  $ prio appconfig validate --profile rules candidate.json --app prio --env beta \\
      --shadow shadow/samples/requests.ndjson --gate shadow/gates/default.json`,
    )
    .action(async (file: string, options: DocumentCliOptions & { profile: ProfileName }) => {
      if ((options.app === undefined) !== (options.env === undefined)) throw new UsageError('give --app and --env together');
      const domain = loadDomain(DEFAULT_RULES_DIR);
      if (options.app === undefined) {
        await offline(options, io, setExit, async () => reportValidation(file, options.profile, await validateWith(options.profile, file, options, undefined, domain), io, options.json === true));
        return;
      }
      await withConnection(options, io, setExit, async (conn) => reportValidation(file, options.profile, await validateWith(options.profile, file, options, conn, domain), io, options.json === true));
    });
}

function registerPublish(group: Command, io: Io, setExit: SetExit): void {
  withDocumentOptions(
    withConnectionOptions(
      group
        .command('publish')
        .description('Validate a document, then publish it as a hosted configuration version (identical content returns the existing version).')
        .requiredOption('--app <name>', 'application name')
        .addOption(profileOption().makeOptionMandatory())
        .argument('<file>', 'the document to publish (JSON)')
        .option('--env <name>', 'validate against the documents this environment runs')
        .option('--label <label>', 'version label to attach'),
    ),
  )
    .addHelpText(
      'after',
      `
The version's description records "prio sha256:<content digest> commit:<git HEAD>", which is how
publishing the same bytes again finds the existing version instead of creating another.
Nothing invalid is ever published: the checks of "validate" run first.

Exit status: 0 published or already there, 1 invalid, 3 shadow gate failed, 2 usage or AppConfig error.

Example:
  $ prio appconfig publish --app prio --profile rules rules/service_tier.json`,
    )
    .action((file: string, options: DocumentCliOptions & { profile: ProfileName; label?: string }) =>
      withConnection(options, io, setExit, async (conn) => {
        const domain = loadDomain(DEFAULT_RULES_DIR);
        const checked = await validateWith(options.profile, file, options, conn, domain);
        if (!checked.valid || (checked.shadow?.verdict !== undefined && !checked.shadow.verdict.passed)) return reportValidation(file, options.profile, checked, io, options.json === true);
        const commit = currentCommit();
        const result = await publish(conn.client, {
          app: options.app ?? '',
          profile: options.profile,
          content: checked.content,
          ...(commit === undefined ? {} : { commit }),
          ...(options.label === undefined ? {} : { label: options.label }),
        });
        if (options.json === true) printJson(io, { app: result.app, profile: result.profile, version: result.version, created: result.created, sha256: result.sha256, commit: commit ?? null });
        else if (result.created) io.out(`published ${result.app}/${result.profile} version ${result.version} (sha256 ${result.sha256.slice(0, 12)})`);
        else io.out(`${result.app}/${result.profile} version ${result.version} already holds this content (sha256 ${result.sha256.slice(0, 12)}); nothing published`);
        return ExitCode.ok;
      }),
    );
}

// ---------------------------------------------------------------------------------------------

function registerDeploy(group: Command, io: Io, setExit: SetExit): void {
  withConnectionOptions(
    group
      .command('deploy')
      .description('Start deploying a hosted version of a profile to an environment with a deployment strategy.')
      .requiredOption('--app <name>', 'application name')
      .requiredOption('--env <name>', 'environment name')
      .addOption(profileOption().makeOptionMandatory())
      .requiredOption('--strategy <name>', 'all-at-once, linear, exponential (rules/deployment-strategies.json), or any strategy name or id')
      .option('--version <n>', 'hosted version to deploy (default: the latest)', positiveInt('--version'))
      .option('--description <text>', 'deployment description'),
  )
    .addHelpText(
      'after',
      `
One deployment runs per environment at a time: while one is in progress the command is refused
with what is running and since when.

Exit status: 0 started, 2 refused, usage or AppConfig error.

Example:
  $ prio appconfig deploy --app prio --env beta --profile rules --strategy linear
  $ prio appconfig watch --app prio --env beta`,
    )
    .action((options: ConnectionCliOptions & { app: string; env: string; profile: ProfileName; strategy: string; version?: number; description?: string }) =>
      withConnection(options, io, setExit, async ({ client }) => {
        const d = await deploy(client, {
          app: options.app,
          env: options.env,
          profile: options.profile,
          strategy: options.strategy,
          ...(options.version === undefined ? {} : { version: options.version }),
          ...(options.description === undefined ? {} : { description: options.description }),
        });
        if (options.json === true) printJson(io, { app: options.app, env: options.env, deployment: deploymentJson(d) });
        else io.out(`started deployment #${d.number}: ${options.profile} v${d.version} to ${options.env} (${d.state})\nfollow it: prio appconfig watch --app ${options.app} --env ${options.env} --deployment ${d.number}`);
        return ExitCode.ok;
      }),
    );
}

function deploymentJson(d: DeploymentRecord): Record<string, unknown> {
  return { number: d.number, profile: d.profile, version: d.version, state: d.state, percentage: d.percentage, startedAt: d.startedAt?.toISOString() ?? null, completedAt: d.completedAt?.toISOString() ?? null };
}

function registerWatch(group: Command, io: Io, setExit: SetExit): void {
  withConnectionOptions(
    group
      .command('watch')
      .description('Follow a deployment to COMPLETE or ROLLED_BACK: state, percentage and the event log.')
      .requiredOption('--app <name>', 'application name')
      .requiredOption('--env <name>', 'environment name')
      .option('--deployment <n>', 'deployment number (default: the newest in the environment)', positiveInt('--deployment'))
      .option('--interval <seconds>', 'seconds between polls', seconds, 5),
  )
    .addHelpText(
      'after',
      `
On a terminal a progress bar, otherwise one line per change; --json prints one JSON object per
change. Ctrl-C stops watching, not the deployment, and prints how to resume.

Exit status: 0 COMPLETE, 3 ROLLED_BACK (or reverted), 1 stopped watching, 2 usage or AppConfig error.

Example:
  $ prio appconfig watch --app prio --env beta --deployment 4`,
    )
    .action((options: ConnectionCliOptions & { app: string; env: string; deployment?: number; interval: number }) =>
      withConnection(options, io, setExit, async ({ client }) => {
        const target = await watchTarget(client, options.app, options.env, options.deployment);
        const json = options.json === true;
        const bar = !json && io === processIo && process.stderr.isTTY === true ? new cliProgress.MultiBar({ stream: process.stderr, format: '#{number} {profile} v{version} [{bar}] {percentage}% {state}', hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic) : undefined;
        const progress = bar?.create(100, 0, { number: target.deployment, profile: '', version: '', state: '' });
        const controller = new AbortController();
        const onSigint = () => controller.abort();
        process.once('SIGINT', onSigint);
        try {
          const result = await followDeployment(client, {
            app: target.app,
            env: target.env,
            deployment: target.deployment,
            names: target.names,
            intervalMs: options.interval * 1000,
            signal: controller.signal,
            onLines: (lines, rec) => {
              for (const line of lines) {
                if (json) io.out(JSON.stringify(line));
                else if (bar !== undefined) bar.log(`${formatWatchLine(line)}\n`);
                else io.out(formatWatchLine(line));
              }
              progress?.update(rec.percentage, { profile: rec.profile, version: rec.version, state: rec.state });
            },
          });
          bar?.stop();
          if (result.kind === 'stopped') {
            io.err(`stopped watching; deployment #${target.deployment} goes on. Resume with: prio appconfig watch --app ${options.app} --env ${options.env} --deployment ${target.deployment}`);
            return ExitCode.findings;
          }
          if (!json) io.out(`deployment #${result.record.number} ${result.record.state}: ${result.record.profile} v${result.record.version} in ${options.env}${result.exitCode === 0 ? ' is live' : ', the previous version is back'}`);
          return result.exitCode;
        } finally {
          bar?.stop();
          process.removeListener('SIGINT', onSigint);
        }
      }),
    );
}

function statusRows(s: EnvironmentStatus): (string | number)[][] {
  return s.profiles.map((p) => [s.env, p.profile, p.live === undefined ? '-' : `v${p.live.version}`, p.live === undefined ? '-' : shown(p.live.completedAt), p.running === undefined ? '-' : describeDeployment(p.running)]);
}

function statusJson(s: EnvironmentStatus): Record<string, unknown> {
  return {
    env: s.env,
    state: s.state ?? null,
    profiles: s.profiles.map((p) => ({ profile: p.profile, live: p.live === undefined ? null : deploymentJson(p.live), running: p.running === undefined ? null : deploymentJson(p.running) })),
  };
}

const STATUS_HEADERS = ['environment', 'profile', 'live', 'since', 'in progress'];

function registerRollback(group: Command, io: Io, setExit: SetExit): void {
  withConnectionOptions(
    group
      .command('rollback')
      .description('Stop the deployment in progress (AppConfig returns the previous version), or after COMPLETE redeploy the previous version all at once.')
      .requiredOption('--app <name>', 'application name')
      .requiredOption('--env <name>', 'environment name')
      .addOption(profileOption('roll back this profile (default: the one deployed last)')),
  )
    .addHelpText(
      'after',
      `
Prints what is live afterwards. A redeploy uses the all-at-once strategy of
rules/deployment-strategies.json; follow it with "prio appconfig watch".

Exit status: 0 rolled back (or rolling back), 2 nothing to roll back, usage or AppConfig error.

Example:
  $ prio appconfig rollback --app prio --env prod --profile rules`,
    )
    .action((options: ConnectionCliOptions & { app: string; env: string; profile?: ProfileName }) =>
      withConnection(options, io, setExit, async ({ client }) => {
        const r = await rollback(client, { app: options.app, env: options.env, ...(options.profile === undefined ? {} : { profile: options.profile }) });
        if (options.json === true) {
          printJson(io, { action: r.action, deployment: deploymentJson(r.deployment), from: r.from === undefined ? null : deploymentJson(r.from), after: statusJson(r.after) });
          return ExitCode.ok;
        }
        if (r.action === 'stopped') io.out(`stopped deployment #${r.deployment.number} (${r.deployment.profile} v${r.deployment.version}): ${r.deployment.state}`);
        else io.out(`redeploying ${r.deployment.profile} v${r.deployment.version} all at once as deployment #${r.deployment.number} (replacing v${r.from?.version ?? '?'})`);
        io.out(table(STATUS_HEADERS, statusRows(r.after)));
        return ExitCode.ok;
      }),
    );
}

function registerStatus(group: Command, io: Io, setExit: SetExit): void {
  withConnectionOptions(
    group
      .command('status')
      .description('Which version of each profile is live in each environment, and what is deploying.')
      .requiredOption('--app <name>', 'application name'),
  )
    .addHelpText('after', '\nExample:\n  $ prio appconfig status --app prio')
    .action((options: ConnectionCliOptions & { app: string }) =>
      withConnection(options, io, setExit, async ({ client }) => {
        const s = await status(client, options.app);
        if (options.json === true) printJson(io, { app: s.app, environments: s.environments.map(statusJson) });
        else io.out(table(STATUS_HEADERS, s.environments.flatMap(statusRows)));
        return ExitCode.ok;
      }),
    );
}

function registerHistory(group: Command, io: Io, setExit: SetExit): void {
  withConnectionOptions(
    group
      .command('history')
      .description('Every deployment to an environment, newest first.')
      .requiredOption('--app <name>', 'application name')
      .requiredOption('--env <name>', 'environment name'),
  )
    .addHelpText('after', '\nExample:\n  $ prio appconfig history --app prio --env prod')
    .action((options: ConnectionCliOptions & { app: string; env: string }) =>
      withConnection(options, io, setExit, async ({ client }) => {
        const h = await history(client, options.app, options.env);
        if (options.json === true) printJson(io, { app: h.app, env: h.env, deployments: h.deployments.map(deploymentJson) });
        else io.out(table(['#', 'profile', 'version', 'state', '%', 'started', 'completed'], h.deployments.map((d) => [d.number, d.profile, d.version, d.state, Math.round(d.percentage), shown(d.startedAt), shown(d.completedAt)])));
        return ExitCode.ok;
      }),
    );
}

function registerDiff(group: Command, io: Io, setExit: SetExit): void {
  withConnectionOptions(
    group
      .command('diff')
      .description('The static rules diff (as prio rules diff) between two hosted versions of the rules or overrides profile, over the whole catalog.')
      .requiredOption('--app <name>', 'application name')
      .addOption(new Option('--profile <profile>', 'rules or overrides').choices(['rules', 'overrides']).makeOptionMandatory())
      .requiredOption('--from <n>', 'older version', positiveInt('--from'))
      .requiredOption('--to <n>', 'newer version', positiveInt('--to'))
      .option('--rules <file>', 'for an overrides diff: the rule set they compose with (default rules/service_tier.json)')
      .option('--overrides <file>', 'for a rules diff: the overrides to compose with (default none)'),
  )
    .addHelpText('after', '\nExit status: 0 (disagreements are information), 2 usage or AppConfig error.\n\nExample:\n  $ prio appconfig diff --app prio --profile rules --from 1 --to 2')
    .action((options: ConnectionCliOptions & { app: string; profile: 'rules' | 'overrides'; from: number; to: number; rules?: string; overrides?: string }) =>
      withConnection(options, io, setExit, async ({ client }) => {
        const shipped = shippedDocuments();
        const documents = {
          ...shipped,
          ...(options.rules === undefined ? {} : { rules: documentFrom(options.rules) }),
          ...(options.overrides === undefined ? {} : { overrides: documentFrom(options.overrides) }),
        };
        const diff = await diffVersions(client, { app: options.app, profile: options.profile, from: options.from, to: options.to, documents, domain: loadDomain(DEFAULT_RULES_DIR) });
        if (options.json === true) printJson(io, diff);
        else {
          io.out(`${options.app}/${options.profile} v${options.from} → v${options.to}: ${diff.inputs} inputs, ${diff.same} same, ${diff.changed} changed`);
          if (diff.rows.length > 0) io.out(table(['count', 'change', 'old', 'new'], diff.rows.map((r) => [r.count, r.direction, r.from, r.to])));
        }
        return ExitCode.ok;
      }),
    );
}

/**
 * The `appconfig` command group. `io` and `setExit` are how `prio` prints and ends; the
 * defaults let the group run on its own.
 */
export function appconfigCommand(io: Io = processIo, setExit: SetExit = (code) => (process.exitCode = code)): Command {
  const group = new Command('appconfig')
    .description('Take rule sets, account overrides and rollout flags to a live fleet through AWS AppConfig: init, validate, publish, deploy, watch, rollback.')
    // Set before the subcommands are made: they copy these settings from their parent.
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
${DOCS}

Example session (AWS, or a local endpoint with --endpoint-url):
  $ prio appconfig init --app prio --envs beta,prod
  $ prio appconfig publish --app prio --profile rules rules/service_tier.json
  $ prio appconfig deploy --app prio --env beta --profile rules --strategy linear
  $ prio appconfig watch --app prio --env beta
  $ prio appconfig rollback --app prio --env beta`,
    );
  registerInit(group, io, setExit);
  registerValidate(group, io, setExit);
  registerPublish(group, io, setExit);
  registerDeploy(group, io, setExit);
  registerWatch(group, io, setExit);
  registerRollback(group, io, setExit);
  registerStatus(group, io, setExit);
  registerHistory(group, io, setExit);
  registerDiff(group, io, setExit);
  group.addCommand(localCommand(io, setExit).copyInheritedSettings(group));
  return group;
}
