/**
 * `prio` — wiring only. Each command group lives in its own file and registers itself here;
 * a command's action returns its exit code, which `main` hands back to the process.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, printJson, processIo, reportError, UsageError, type Io } from './output.js';
import { registerToken } from './token.js';
import { registerRules } from './rules.js';
import { registerDemo } from './demo.js';
import { registerSched } from './sched.js';
import { registerShadow } from './shadow.js';
import { registerMigrate } from './migrate.js';
import { registerStore } from './store.js';
import { appconfigCommand } from './appconfig.js';
import { registerServe } from './serve.js';
import { registerLoad } from './load.js';
import { registerRollout } from './rollout.js';

/** Every command group: `(program, io, setExit) => void`. Add one line per group. */
export type Register = (program: Command, io: Io, setExit: (code: number) => void) => void;

const groups: Register[] = [
  // command groups are added below, one per line
  registerToken,
  registerRules,
  registerDemo,
  registerSched,
  registerShadow,
  registerMigrate,
  registerStore,
  (program, io, setExit) => program.addCommand(appconfigCommand(io, setExit)),
  registerServe,
  registerLoad,
  registerRollout,
];

/** The whole command tree (exported for tests that check every command alike). */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('prio')
    .description('Migrate a live request scheduler from one priority system to another, proving each step safe first.')
    .version('0.1.0')
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
  for (const register of groups) register(program, io, setExit);
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
  const program = buildProgram(errIo, (c) => {
    code = c;
  });
  const asJson = (exitCode: number): number => {
    if (json && exitCode !== ExitCode.ok && errors !== '') printJson(io, { error: errors.trim().replace(/^error: /, ''), exitCode });
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
    return asJson(reportError(err, errIo));
  }
}
