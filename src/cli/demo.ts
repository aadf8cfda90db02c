/**
 * `prio demo`: the main job on embedded defaults (what `npm start` runs). Checks both shipped
 * rule sets, evaluates the bundled sample requests under both, and prints the static diff.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Option } from 'commander';
import { DEFAULT_RULES_DIR, FileReadError, loadDomain, loadRuleSet, PACKAGE_ROOT } from '../config/index.js';
import { diffRuleSets, normalize, type NormalizedOutcome, type RequestAttributes } from '../rules/index.js';
import type { Register } from './main.js';
import { ExitCode, printJson, table } from './output.js';
import { checkFile, formatDiff, formatFindings } from './rules.js';

const DEFAULT_REQUESTS = join(PACKAGE_ROOT, 'test', 'fixtures', 'rules', 'sample-requests.ndjson');

const shown = (file: string) => relative(process.cwd(), file) || file;

function changeOf(a: NormalizedOutcome | null, b: NormalizedOutcome | null): string {
  if (a === null || b === null) return '';
  if (a.value === null || b.value === null) return a.value === b.value ? 'both fail closed' : 'fail-closed';
  if (a.label === b.label) return 'same';
  return b.value > a.value ? 'raised' : b.value < a.value ? 'lowered' : 'qos/preempt';
}

export const registerDemo: Register = (program, io, setExit) => {
  program
    .command('demo')
    .description('Run the main job on embedded defaults: check both rule sets, evaluate sample requests under both, print the static diff.')
    .addOption(new Option('--old <file>', 'rule set in force').default(join(DEFAULT_RULES_DIR, 'legacy.json'), 'rules/legacy.json'))
    .addOption(new Option('--new <file>', 'candidate rule set').default(join(DEFAULT_RULES_DIR, 'service_tier.json'), 'rules/service_tier.json'))
    .addOption(new Option('--requests <file>', 'NDJSON request records').default(DEFAULT_REQUESTS, 'the bundled sample'))
    .option('--json', 'print everything as one JSON document')
    .addHelpText('after', '\nExit status: 0 when both rule sets are lint-clean, 1 when either has findings, 2 on unreadable input.\n\nExample:\n  $ prio demo\n  $ npm start')
    .action((options: { old: string; new: string; requests: string; json?: boolean }) => {
      const domain = loadDomain();
      const checks = [options.old, options.new].map((f) => ({ ...checkFile(f, domain), file: shown(f) }));
      const findings = checks.reduce((n, c) => n + c.findings.length, 0);
      if (findings > 0) {
        io.out(formatFindings(checks));
        setExit(ExitCode.findings);
        return;
      }
      const oldSet = loadRuleSet(shown(options.old), domain);
      const newSet = loadRuleSet(shown(options.new), domain);

      let text: string;
      try {
        text = readFileSync(options.requests, 'utf8');
      } catch (err) {
        throw new FileReadError(options.requests, err);
      }
      const samples = text
        .split('\n')
        .map((line, i) => ({ line: i + 1, text: line.trim() }))
        .filter((l) => l.text !== '')
        .map(({ line, text: t }) => {
          let request: RequestAttributes & { requestId?: string };
          try {
            request = JSON.parse(t) as RequestAttributes & { requestId?: string };
          } catch (err) {
            return { line, requestId: null, request: null, old: null, new: null, error: `not JSON: ${(err as Error).message}` };
          }
          return { line, requestId: request.requestId ?? null, request, old: normalize(oldSet, request), new: normalize(newSet, request), error: null };
        });
      const diff = diffRuleSets(oldSet, newSet);

      if (options.json === true) {
        printJson(io, { check: checks, samples, diff });
        setExit(ExitCode.ok);
        return;
      }
      const rows = samples.map((s) => {
        if (s.request === null) return [String(s.line), '', '', '', s.error ?? '', '', ''];
        const change = changeOf(s.old, s.new);
        const legacy = s.old?.legacyLevel === null || s.old?.legacyLevel === undefined ? (s.old?.label ?? '') : `L${s.old.legacyLevel} = ${s.old.label}`;
        return [s.requestId ?? String(s.line), s.request.serviceTier ?? '-', String(s.request.classification), s.request.requestType ?? '-', legacy, s.new?.label ?? '', change];
      });
      const failed = samples.filter((s) => s.old?.value === null || s.new?.value === null || s.request === null).length;
      io.out(
        [
          `1. Rule sets\n${formatFindings(checks)}`,
          `2. Sample requests (${shown(options.requests)}): ${samples.length} read, ${failed} failed closed under at least one rule set\n` +
            table(['request', 'serviceTier', 'classification', 'requestType', oldSet.name, newSet.name, 'change'], rows),
          `3. Static diff over the whole catalog\n${formatDiff(diff)}`,
        ].join('\n\n'),
      );
      setExit(ExitCode.ok);
    });
};
