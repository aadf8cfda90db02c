/**
 * `prio` — wiring only. Each command group lives in its own file and is loaded when it runs:
 * `prio shadow replay` imports src/cli/shadow.ts (and what it needs) and nothing else, so
 * `prio --help` never loads the AWS SDK, kafkajs or the HTTP stack. A command's action returns
 * its exit code, which `main` hands back to the process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
// Only light modules here: output.ts and config/ load the validators, which --help never needs.
import { ExitCode, processIo, UsageError, type Io } from './io.js';

/** Every command group: `(program, io, setExit) => void`. Add one line per group. */
export type Register = (program: Command, io: Io, setExit: (code: number) => void) => void;

/** A top-level command and how to load the module that registers it. */
interface Group {
  readonly name: string;
  readonly load: () => Promise<Register>;
}

const groups: readonly Group[] = [
  // command groups are added below, one per line, in the order --help lists them
  { name: 'token', load: async () => (await import('./token.js')).registerToken },
  { name: 'rules', load: async () => (await import('./rules.js')).registerRules },
  { name: 'demo', load: async () => (await import('./demo.js')).registerDemo },
  { name: 'sched', load: async () => (await import('./sched.js')).registerSched },
  { name: 'shadow', load: async () => (await import('./shadow.js')).registerShadow },
  { name: 'migrate', load: async () => (await import('./migrate.js')).registerMigrate },
  { name: 'store', load: async () => (await import('./store.js')).registerStore },
  {
    name: 'appconfig',
    load: async () => {
      const { appconfigCommand } = await import('./appconfig.js');
      return (program, io, setExit) => program.addCommand(appconfigCommand(io, setExit));
    },
  },
  { name: 'serve', load: async () => (await import('./serve.js')).registerServe },
  { name: 'load', load: async () => (await import('./load.js')).registerLoad },
  { name: 'rollout', load: async () => (await import('./rollout.js')).registerRollout },
];

/**
 * What `prio --help` shows of each group without loading it: written by `npm run build`
 * (scripts/build-commands.mjs) beside the compiled main.js. Run from the sources there is none,
 * and every group is loaded instead.
 */
export interface CommandManifestEntry {
  readonly name: string;
  /** As the help shows it: `demo [options]`. */
  readonly term: string;
  readonly description: string;
}
const MANIFEST_FILE = join(dirname(fileURLToPath(import.meta.url)), 'commands.json');

function readManifest(): readonly CommandManifestEntry[] | undefined {
  try {
    const entries = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as CommandManifestEntry[];
    // A manifest that does not name exactly these groups (a stale build) is not trusted.
    const names = new Set(entries.map((e) => e.name));
    return names.size === groups.length && groups.every((g) => names.has(g.name)) ? entries : undefined;
  } catch {
    return undefined;
  }
}

/** The version of the installed package, from the nearest package.json above this module. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : '0.0.0';
  }
  return '0.0.0';
}

/**
 * The groups `argv` runs: the one its first word names (`prio help X …` runs X's help), or —
 * for no command, an unknown one, or plain --help — none, then the help lists them all.
 */
function groupsFor(argv: readonly string[]): readonly Group[] {
  // The command is the first argument: anything before it is prio's own (`prio --help demo`
  // shows prio's help, which lists every group).
  const [first, ...rest] = argv.slice(2);
  const name = first === 'help' ? rest.find((a) => !a.startsWith('-')) : first;
  const group = groups.find((g) => g.name === name);
  return group === undefined ? [] : [group];
}

/**
 * The command tree for `argv` (only the group it runs), or without argv the whole tree (for
 * tests that check every command alike).
 */
export async function buildProgram(io: Io, setExit: (code: number) => void, argv?: readonly string[]): Promise<Command> {
  let selected = argv === undefined ? groups : groupsFor(argv);
  // No group to run: the help lists them from the manifest, or, without one (run from the
  // sources), from every group loaded.
  const manifest = selected.length === 0 ? readManifest() : undefined;
  if (selected.length === 0 && manifest === undefined) selected = groups;
  const registers = await Promise.all(selected.map((g) => g.load()));
  const program = new Command('prio')
    .description('Migrate a live request scheduler from one priority system to another, proving each step safe first.')
    .version(packageVersion())
    // prio's own options (--version) only before a command, so a command may take --version
    // for something else (`prio appconfig deploy --version 3`, a configuration version).
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    // Our own help command: commander's looks one level deep, so `prio help rules check` showed the rules group.
    .helpCommand(false)
    .addHelpText(
      'after',
      `
Examples:
  $ prio demo                                   # the main job on embedded defaults
  $ prio rules check rules/legacy.json rules/service_tier.json
  $ prio shadow replay --file /tmp/requests.ndjson --out /tmp/shadow --gate shadow/gates/default.json
  $ prio help shadow replay                     # any command's help

Every command prints a table by default and JSON with --json (errors too). Exit codes: 0 ok,
1 error or findings, 2 usage or I/O error, 3 gate failed.`,
    );
  if (registers.length > 0) {
    for (const register of registers) register(program, io, setExit);
  } else if (manifest !== undefined) {
    // Stand-ins that only describe: a run that gets past the help loads the group itself.
    const terms = new Map<Command, string>();
    for (const entry of manifest) terms.set(program.command(entry.name).description(entry.description), entry.term);
    const help = program.createHelp();
    program.configureHelp({ subcommandTerm: (c) => terms.get(c) ?? help.subcommandTerm(c) });
  }
  program
    .command('help')
    .description('Show the help of a command: prio help shadow replay')
    .argument('[command...]', 'the command, e.g. rules check')
    .option('--json', 'accepted for consistency; help is text')
    .addHelpText('after', '\nExample:\n  $ prio help rules check')
    .action((path: string[]) => {
      let target: Command = program;
      for (const name of path) {
        const next = target.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (next === undefined) throw new UsageError(`no command "${[...path.slice(0, path.indexOf(name)), name].join(' ')}" (prio --help lists them)`);
        target = next;
      }
      target.outputHelp();
      setExit(ExitCode.ok);
    });
  return program;
}

/** Runs the CLI with `argv` (as process.argv) and resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = ExitCode.ok;
  // Under --json an error is also one JSON document on stdout ({"error", "exitCode"}), so a
  // machine reading stdout learns of it too; the human line still goes to stderr.
  const json = argv.slice(2).includes('--json');
  let errors = '';
  const errIo: Io = json ? { out: io.out, err: (t) => ((errors += t.endsWith('\n') ? t : `${t}\n`), io.err(t)) } : io;
  const program = await buildProgram(errIo, (c) => {
    code = c;
  }, argv);
  const asJson = async (exitCode: number): Promise<number> => {
    if (json && exitCode !== ExitCode.ok && errors !== '') (await import('./output.js')).printJson(io, { error: errors.trim().replace(/^error: /, ''), exitCode });
    return exitCode;
  };
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other parser complaint is a usage error.
      return err.exitCode === 0 ? ExitCode.ok : asJson(ExitCode.usage);
    }
    return asJson((await import('./output.js')).reportError(err, errIo));
  }
}
