/**
 * The rules engine: rule sets are data (rules/*.json, described by
 * rules/schema/ruleset.schema.json), validated and compiled once into a decision table whose
 * evaluation allocates nothing and fails closed on anything outside the catalog. Pure: callers
 * read the files (see `loadRuleSet` in src/config).
 */
import type { Domain } from '../catalog/index.js';
import { ConfigError } from '../validation/index.js';
import { compileModel, type CompiledRuleSet } from './compile.js';
import type { ServiceTierMode } from './model.js';
import { parseRuleSet } from './parse.js';

export type { CompiledRuleSet } from './compile.js';
export type { CheckedRequest, ConsideredRule, Explanation } from './interpret.js';
export { checkRequest, explainRequest, interpret } from './interpret.js';
export type { AttributeName, Condition, Conditions, FailClosedCode, Outcome, RequestAttributes, RuleDef, RuleSetModel, Scheme, ServiceTierMode } from './model.js';
export { ATTRIBUTES, FailClosedError, SERVICE_TIER_MODES } from './model.js';
export type { ParseIssue, ParseIssueKind } from './parse.js';
export { parseRuleSet } from './parse.js';

export interface CompileOptions {
  /** Overrides the mode the file declares (the migration flips it step by step). */
  readonly mode?: ServiceTierMode;
}

/**
 * Validates a parsed rule-set document against the domain and compiles it.
 * @throws ConfigError listing every problem, each with file, JSON pointer and message.
 */
export function compileRuleSet(doc: unknown, file: string, domain: Domain, options?: CompileOptions): CompiledRuleSet {
  const { model, issues } = parseRuleSet(doc, file, domain);
  if (model === null) throw new ConfigError(issues.map(({ file: f, pointer, message }) => ({ file: f, pointer, message })));
  return compileModel(model, domain, options?.mode ?? model.declaredMode);
}

export type { Finding, FindingKind, LintOptions, LintReport, LintStats } from './lint.js';
export { describeOutcome, lintRuleSet, lintRuleSetReport } from './lint.js';
export type { DiffRow, Direction, NormalizedOutcome, RuleSetRef, StaticDiff } from './diff.js';
export { diffRuleSets, normalize } from './diff.js';
export { catalogCells, globWitness, UNLISTED } from './space.js';
