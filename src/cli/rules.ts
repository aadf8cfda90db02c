/**
 * `prio rules …`: lint rule sets, diff two of them over the whole catalog, evaluate requests.
 * Thin: reads files at the edge, calls src/rules, prints (tables by default, JSON on request).
 */
import { Option, type Command } from 'commander';
import { FileReadError, lintRuleSetFile, loadDomain, loadRuleSet, type FileFindings } from '../config/index.js';
import {
  diffRuleSets,
  FailClosedError,
  SERVICE_TIER_MODES,
  type CompiledRuleSet,
  type Explanation,
  type Outcome,
  type RequestAttributes,
  type ServiceTierMode,
  type StaticDiff,
} from '../rules/index.js';
import { ndjsonLines, STDIN_PATH } from '../shadow/index.js';
import type { Register } from './main.js';
import { aliasRulesDir, ExitCode, noteStdinAtTerminal, printJson, rulesDirOption, table, UsageError, type Io } from './output.js';

const modeOption = (flags: string, what: string) => new Option(flags, what).choices(SERVICE_TIER_MODES);

export function formatFindings(results: readonly FileFindings[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.findings.length === 0) {
      const overrides = r.accountOverrides === undefined || r.accountOverrides === 0 ? '' : `, ${r.accountOverrides} account overrides`;
      lines.push(`${r.file}: clean (${r.rules ?? 0} rules${overrides})`);
      continue;
    }
    lines.push(`${r.file}: ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}`);
    lines.push(table(['kind', 'where', 'finding'], r.findings.map((f) => [f.kind, f.pointer === '' ? '(document)' : f.pointer, f.message])));
  }
  return lines.join('\n');
}

/** The outcome as a machine reads it: tier by name and value, legacy level when there is one. */
function outcomeJson(o: Outcome): Record<string, unknown> {
  return { ruleId: o.ruleId, tier: o.tier.name, tierValue: o.tier.value, legacyLevel: o.legacyLevel, qos: o.qos, preemptable: o.preemptable };
}

function explanationJson(e: Explanation): Record<string, unknown> {
  return { ...e, outcome: e.outcome === null ? null : outcomeJson(e.outcome) };
}

function failureJson(err: FailClosedError): Record<string, unknown> {
  return { code: err.code, ...(err.attribute === undefined ? {} : { attribute: err.attribute, value: err.value ?? null }), message: err.message };
}

/** `RESERVED/PTV1/-` (serviceTier/classification/requestType, `-` for missing) plus any free attributes. */
function compactRequest(r: RequestAttributes): string {
  const free = (['modelId', 'region', 'accountId'] as const).filter((a) => r[a] !== undefined && r[a] !== null).map((a) => ` ${a}=${String(r[a])}`);
  return `${r.serviceTier ?? '-'}/${r.classification}/${r.requestType ?? '-'}${free.join('')}`;
}

function formatDiff(diff: StaticDiff): string {
  const head =
    `${diff.old.name} (${diff.old.file}, ${diff.old.mode}) → ${diff.new.name} (${diff.new.file}, ${diff.new.mode}): ` +
    `${diff.inputs} inputs, ${diff.same} same, ${diff.changed} changed`;
  if (diff.rows.length === 0) return `${head}\nno disagreements`;
  const rows = diff.rows.map((r) => [r.count, r.direction, r.from, r.to, compactRequest(r.example), `${r.exampleRules.old ?? '-'} → ${r.exampleRules.new ?? '-'}`]);
  return `${head}\n${table(['count', 'change', 'old', 'new', 'example (serviceTier/classification/requestType)', 'rules of the example'], rows)}`;
}

/** Evaluates a stream of NDJSON requests; every line yields one output line, errors included. */
async function evalStream(rs: CompiledRuleSet, input: string | undefined, explain: boolean, io: Io): Promise<number> {
  let failed = 0;
  let evaluated = 0;
  try {
    if (input === undefined || input === STDIN_PATH) noteStdinAtTerminal(io, 'NDJSON requests');
    // The shared NDJSON reader: a file, .gz or stdin; blank lines skipped with their numbers kept.
    for await (const { line: lineNo, text, problem } of ndjsonLines(input ?? STDIN_PATH)) {
      evaluated++;
      if (problem !== undefined) {
        failed++;
        io.out(JSON.stringify({ line: lineNo, error: { code: 'UNREADABLE_LINE', message: problem } }));
        continue;
      }
      let request: RequestAttributes;
      try {
        request = JSON.parse(text) as RequestAttributes;
      } catch (err) {
        failed++;
        io.out(JSON.stringify({ line: lineNo, error: { code: 'INVALID_JSON', message: (err as Error).message } }));
        continue;
      }
      const id = typeof request === 'object' && request !== null && 'requestId' in request ? { requestId: (request as { requestId: unknown }).requestId } : {};
      if (explain) {
        const e = rs.explain(request);
        if (e.error !== null) failed++;
        io.out(JSON.stringify({ line: lineNo, ...id, ...explanationJson(e) }));
        continue;
      }
      try {
        io.out(JSON.stringify({ line: lineNo, ...id, ...outcomeJson(rs.evaluate(request)) }));
      } catch (err) {
        if (!(err instanceof FailClosedError)) throw err;
        failed++;
        io.out(JSON.stringify({ line: lineNo, ...id, error: failureJson(err) }));
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined) throw new UsageError(`cannot read ${input ?? 'stdin'}: ${(err as Error).message}`);
    throw err;
  }
  io.err(`evaluated ${evaluated} request${evaluated === 1 ? '' : 's'}, ${failed} failed closed or unreadable`);
  return failed > 0 ? ExitCode.findings : ExitCode.ok;
}

export const registerRules: Register = (program: Command, io, setExit) => {
  const rules = program
    .command('rules')
    .description('Lint, diff and evaluate rule sets (the mapping from what a request is to how it is ranked).')
    .addHelpText(
      'after',
      '\nRule-set format, precedence, modes and lint findings: docs/rules.md.\n\nExample:\n' +
        '  $ prio rules check rules/legacy.json rules/service_tier.json\n' +
        '  $ prio rules diff rules/legacy.json rules/service_tier.json\n' +
        '  $ prio rules eval --rules rules/service_tier.json --request \'{"serviceTier":"FLEX","classification":"ON_DEMAND"}\'',
    );

  rules
    .command('check')
    .description('Lint rule-set files: schema errors, unknown references, unreachable rules, ambiguous overlaps, gaps.')
    .argument('<file...>', 'rule-set files (JSON)')
    .addOption(modeOption('--mode <mode>', "lint as evaluated in this mode instead of the file's own"))
    .addOption(rulesDirOption())
    .option('--json', 'print findings as JSON')
    .addHelpText(
      'after',
      '\nEvery file is linted; an unreadable one is named on stderr and the others are still checked.\nExit status: 0 clean, 1 findings, 2 usage or any unreadable file.\n\nExample:\n  $ prio rules check rules/legacy.json rules/service_tier.json\n  $ prio rules check --mode service-tier --json rules/service_tier.json',
    )
    .action((files: string[], options: { mode?: ServiceTierMode; rulesDir: string; json?: boolean }) => {
      const domain = loadDomain(options.rulesDir);
      // Every file is linted even when one cannot be read, so one run reports everything.
      const results: FileFindings[] = [];
      const unreadable: FileReadError[] = [];
      for (const file of files) {
        try {
          results.push(lintRuleSetFile(file, domain, options.mode));
        } catch (err) {
          if (!(err instanceof FileReadError)) throw err;
          unreadable.push(err);
        }
      }
      const count = results.reduce((n, r) => n + r.findings.length, 0);
      if (options.json === true) printJson(io, { findings: count, files: results, unreadable: unreadable.map((e) => ({ file: e.file, message: e.message })) });
      else if (results.length > 0) io.out(formatFindings(results));
      for (const err of unreadable) io.err(`error: ${err.message}`);
      setExit(unreadable.length > 0 ? ExitCode.usage : count > 0 ? ExitCode.findings : ExitCode.ok);
    });

  rules
    .command('diff')
    .description('Enumerate every catalog combination and show where two rule sets disagree, on the common P scale.')
    .argument('<old>', 'the rule set in force (e.g. rules/legacy.json)')
    .argument('<new>', 'the candidate rule set (e.g. rules/service_tier.json)')
    .addOption(modeOption('--old-mode <mode>', "evaluate OLD in this mode instead of the file's own"))
    .addOption(modeOption('--new-mode <mode>', "evaluate NEW in this mode instead of the file's own"))
    .addOption(rulesDirOption())
    .option('--json', 'print the diff as JSON')
    .addHelpText(
      'after',
      '\nLegacy levels are read as tiers through priorities.json; an outcome is tier + QoS + preemptable.\n' +
        'Rows group inputs by (old outcome, new outcome), largest first, with one example request.\n' +
        'Exit status: 0 (disagreements are information, not errors), 2 usage or invalid rule set.\n\n' +
        'Example:\n  $ prio rules diff rules/legacy.json rules/service_tier.json\n  $ prio rules diff --new-mode service-tier rules/service_tier.json rules/service_tier.json --json',
    )
    .action((oldFile: string, newFile: string, options: { oldMode?: ServiceTierMode; newMode?: ServiceTierMode; rulesDir: string; json?: boolean }) => {
      const domain = loadDomain(options.rulesDir);
      const oldSet = loadRuleSet(oldFile, domain, options.oldMode === undefined ? {} : { mode: options.oldMode });
      const newSet = loadRuleSet(newFile, domain, options.newMode === undefined ? {} : { mode: options.newMode });
      const diff = diffRuleSets(oldSet, newSet);
      if (options.json === true) printJson(io, diff);
      else io.out(formatDiff(diff));
      setExit(ExitCode.ok);
    });

  rules
    .command('eval')
    .description('Evaluate requests against a rule set: one --request, or NDJSON lines on stdin (or --input) → NDJSON outcomes.')
    .requiredOption('--rules <file>', 'rule-set file')
    .option('--request <json>', 'a single request as JSON')
    .option('--input <file>', 'read NDJSON requests from this file instead of stdin')
    .option('--explain', 'print which rules were considered, which matched and why the winner won')
    .option('--json', 'accepted for consistency: eval always prints JSON (NDJSON in stream mode)')
    .addOption(modeOption('--mode <mode>', "evaluate in this mode instead of the file's own"))
    .addOption(rulesDirOption())
    .addHelpText(
      'after',
      '\nA single request that fails closed (unknown value, no matching rule) prints the error and exits 1.\n' +
        'In stream mode a failing line becomes {"line":n,"error":{...}} and the stream goes on; exit 1 if any line failed.\n\n' +
        'Example:\n' +
        '  $ prio rules eval --rules rules/service_tier.json --request \'{"serviceTier":"FLEX","classification":"ON_DEMAND"}\'\n' +
        '  $ prio rules eval --rules rules/legacy.json --explain --request \'{"classification":"PTV1","requestType":"ON_DEMAND"}\'\n' +
        '  $ prio rules eval --rules rules/service_tier.json < test/fixtures/rules/sample-requests.ndjson',
    )
    .action(async (options: { rules: string; request?: string; input?: string; explain?: boolean; mode?: ServiceTierMode; rulesDir: string }) => {
      const domain = loadDomain(options.rulesDir);
      const rs = loadRuleSet(options.rules, domain, options.mode === undefined ? {} : { mode: options.mode });
      if (options.request === undefined) {
        setExit(await evalStream(rs, options.input, options.explain === true, io));
        return;
      }
      if (options.input !== undefined) throw new UsageError('give either --request or --input, not both');
      let request: RequestAttributes;
      try {
        request = JSON.parse(options.request) as RequestAttributes;
      } catch (err) {
        throw new UsageError(`--request is not valid JSON: ${(err as Error).message}`);
      }
      if (options.explain === true) {
        const e = rs.explain(request);
        io.out(JSON.stringify(explanationJson(e), null, 2));
        if (e.error !== null) io.err(`error: ${e.error.message}`);
        setExit(e.error === null ? ExitCode.ok : ExitCode.findings);
        return;
      }
      try {
        io.out(JSON.stringify(outcomeJson(rs.evaluate(request))));
        setExit(ExitCode.ok);
      } catch (err) {
        if (!(err instanceof FailClosedError)) throw err;
        io.err(`error: ${err.message}`);
        setExit(ExitCode.findings);
      }
    });
  aliasRulesDir(rules, io, '--domain <dir>');
};
