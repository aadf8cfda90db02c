/**
 * `prio demo`: the main job on embedded defaults (what `npm start` runs). Checks both shipped
 * rule sets, summarizes their static diff over the catalog, then replays a request log (the
 * bundled sample, generated on the spot if it is missing) against both in shadow mode, applies
 * the default gate, writes report.json/.md/.html and prints a short summary with the path of
 * report.html.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Option } from 'commander';
import { developmentTokenKeyring, lintRuleSetFile, loadDomain, loadRuleSet, PACKAGE_ROOT, readJsonFile } from '../config/index.js';
import type { Domain } from '../catalog/index.js';
import type { CompiledRuleSet } from '../rules/index.js';
import { diffRuleSets } from '../rules/index.js';
import { createProgress, fileSource, generateRecords, parseGate, runReplay, writeNdjson } from '../shadow/index.js';
import { createTokenReader, createTokenWriter } from '../tokens/index.js';
import type { Register } from './main.js';
import { deprecatedAlias, ExitCode, gateExitCode, printJson, table, UsageError } from './output.js';
import { formatFindings } from './rules.js';
import { DEFAULT_BASELINE, DEFAULT_CANDIDATE, DEFAULT_GATE, summarize } from './shadow.js';

const DEFAULT_SAMPLE_LOG = join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson');
/** Size and seed of the log generated when the bundled sample is missing. */
const GENERATED_SAMPLE = { count: 2000, seed: 1 };

const shown = (file: string) => relative(process.cwd(), file) || file;

interface DemoOptions {
  baseline: string;
  candidate: string;
  log?: string;
  out: string;
  gate: string;
  quiet?: boolean;
  json?: boolean;
}

/**
 * The log the demo replays: `log` when it exists, else a generated sample (signed with the
 * public development key) written into `outDir`, so the demo works even without the bundled file.
 */
export async function ensureSampleLog(log: string, domain: Domain, baseline: CompiledRuleSet, outDir: string): Promise<{ log: string; generated: boolean }> {
  if (existsSync(log)) return { log, generated: false };
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'generated-sample.ndjson');
  const tokenWriter = createTokenWriter({ domain, keyring: developmentTokenKeyring(), mode: 'legacy' });
  await writeNdjson(generateRecords(GENERATED_SAMPLE, { domain, baseline, tokenWriter }), file);
  return { log: file, generated: true };
}

export const registerDemo: Register = (program, io, setExit) => {
  const demo = program
    .command('demo')
    .description('Run the main job on embedded defaults: check both rule sets, diff them, replay a request log against both in shadow mode, gate, and write the reports.')
    .addOption(new Option('--baseline <file>', 'rule set in force (what production runs)').default(DEFAULT_BASELINE, 'rules/legacy.json'))
    .addOption(new Option('--candidate <file>', 'rule set to roll out').default(DEFAULT_CANDIDATE, 'rules/service_tier.json'))
    .option('--log <file>', 'request log to replay (NDJSON or .gz); default the bundled sample, generated if missing')
    .option('--out <dir>', 'directory for report.json/.md/.html', 'reports/shadow')
    .addOption(new Option('--gate <file>', 'gate to apply').default(DEFAULT_GATE, 'shadow/gates/default.json'))
    .option('--quiet', 'no progress output')
    .option('--json', 'print everything as one JSON document')
    .addHelpText(
      'after',
      `
Session tokens in the bundled sample are signed with the public development key, which the
demo uses to verify them.

Exit status: 0 rule sets clean and gate passed, 3 gate failed, 1 rule-set findings or error, 2 unreadable input.

Example:
  $ npm start
  $ prio demo --out /tmp/shadow && open /tmp/shadow/report.html`,
    )
    .action(async (options: DemoOptions) => {
      const domain = loadDomain();
      const checks = [options.baseline, options.candidate].map((f) => ({ ...lintRuleSetFile(f, domain), file: shown(f) }));
      if (checks.some((c) => c.findings.length > 0)) {
        io.out(formatFindings(checks));
        setExit(ExitCode.findings);
        return;
      }
      const oldSet = loadRuleSet(shown(options.baseline), domain);
      const newSet = loadRuleSet(shown(options.candidate), domain);
      const diff = diffRuleSets(oldSet, newSet);
      const gate = parseGate(readJsonFile(options.gate), options.gate);

      // An explicitly named log must exist; only the embedded default is generated when missing.
      if (options.log !== undefined && !existsSync(options.log)) throw new UsageError(`${options.log}: no such request log`);
      const { log, generated } = await ensureSampleLog(options.log ?? DEFAULT_SAMPLE_LOG, domain, oldSet, options.out);
      const keyring = developmentTokenKeyring();
      const result = await runReplay({
        source: fileSource(log),
        domain,
        baseline: oldSet,
        candidate: newSet,
        tokens: { legacy: createTokenReader({ domain, keyring, mode: 'legacy' }), dual: createTokenReader({ domain, keyring, mode: 'dual' }) },
        outDir: options.out,
        gate,
        sampleSize: 50,
        sampleSeed: 1,
        progress: createProgress({ stream: process.stderr, quiet: options.quiet === true || options.json === true, label: 'replay' }),
        runInfo: { baselineFile: shown(options.baseline), candidateFile: shown(options.candidate), log: shown(log), generatedLog: generated },
      });
      if (result.kind === 'interrupted') {
        // A file source is not interrupted in practice; report it like the replay command would.
        io.err(`error: replay interrupted: ${result.error.message} (checkpoint ${shown(result.checkpointFile)})`);
        setExit(ExitCode.findings);
        return;
      }
      const verdict = result.verdict;
      const exit = gateExitCode(verdict);
      if (options.json === true) {
        printJson(io, {
          check: checks,
          staticDiff: { inputs: diff.inputs, same: diff.same, changed: diff.changed, rows: diff.rows },
          log: shown(log),
          generatedLog: generated,
          report: result.report,
          gate: verdict ?? null,
          files: result.files,
        });
        setExit(exit);
        return;
      }
      const topRows = diff.rows.slice(0, 5).map((r) => [r.count, r.direction, r.from, r.to]);
      io.out(
        [
          `1. Rule sets\n${formatFindings(checks)}`,
          `2. Static diff over the catalog: ${diff.inputs} inputs, ${diff.same} same, ${diff.changed} changed; largest groups:\n` +
            table(['inputs', 'change', oldSet.name, newSet.name], topRows),
          `3. Shadow replay of ${shown(log)}${generated ? ' (generated: the bundled sample was missing)' : ''}\n${summarize(result.report, verdict)}`,
          `Reports: ${shown(result.files.json)}, ${shown(result.files.markdown)}\nOpen ${resolve(result.files.html)}`,
        ].join('\n\n'),
      );
      setExit(exit);
    });
  // The names shadow replay uses; the demo's first names still work.
  deprecatedAlias(demo, io, '--old <file>', '--baseline');
  deprecatedAlias(demo, io, '--new <file>', '--candidate');
};
