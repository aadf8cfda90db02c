/** Reads rule-set files to compile or lint them (the I/O edge for src/rules). */
import type { Domain } from '../catalog/index.js';
import { compileRuleSet, lintRuleSet, type CompileOptions, type CompiledRuleSet, type Finding, type ServiceTierMode } from '../rules/index.js';
import { ConfigError } from '../validation/index.js';
import { readJsonFile } from './index.js';

/**
 * @throws FileReadError when the file cannot be read; ConfigError when it is not a valid rule set.
 */
export function loadRuleSet(file: string, domain: Domain, options?: CompileOptions): CompiledRuleSet {
  return compileRuleSet(readJsonFile(file), file, domain, options);
}

export interface FileFindings {
  readonly file: string;
  readonly rules: number | null;
  readonly accountOverrides?: number;
  readonly findings: readonly Finding[];
}

/** Lints one file; unreadable files throw FileReadError, malformed JSON becomes a schema finding. */
export function lintRuleSetFile(file: string, domain: Domain, mode?: ServiceTierMode): FileFindings {
  let doc: unknown;
  try {
    doc = readJsonFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { file, rules: null, findings: err.issues.map((i) => ({ kind: 'schema', ...i })) };
  }
  const findings = lintRuleSet(doc, file, domain, mode === undefined ? {} : { mode });
  const d = doc as { rules?: unknown[]; accountOverrides?: unknown[] };
  return { file, rules: d.rules?.length ?? null, accountOverrides: d.accountOverrides?.length ?? 0, findings };
}
