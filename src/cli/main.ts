/**
 * `prio` — wiring only. Each command group lives in its own file and registers itself here;
 * a command's action returns its exit code, which `main` hands back to the process.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, processIo, reportError, type Io } from './output.js';
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

function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('prio')
    .description('Migrate a live request scheduler from one priority system to another, proving each step safe first.')
    .version('0.1.0')
    // prio's own options (--version) only before a command, so a command may take --version
    // for something else (`prio appconfig deploy --version 3`, a configuration version).
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  for (const register of groups) register(program, io, setExit);
  return program;
}

/** Runs the CLI with `argv` (as process.argv) and resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other parser complaint is a usage error.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    return reportError(err, io);
  }
}
