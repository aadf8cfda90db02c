/**
 * Rule set + overrides profile → one compiled rule set. The composition is the rule-set document
 * with the overrides document's entries as its `accountOverrides`, handed to the one parser and
 * compiler in src/rules: an override from the profile evaluates exactly as the same entry written
 * into the rule set would.
 */
import type { Domain } from '../../catalog/index.js';
import { compileRuleSet, type CompiledRuleSet } from '../../rules/index.js';
import { ConfigError, pointerTo, type ConfigIssue } from '../../validation/index.js';
import type { OverridesDocument } from './overrides.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The rule-set document the two profiles make together. Without an overrides document the rule
 * set is used as it is (its own accountOverrides, if any, apply).
 * @throws ConfigError when both documents carry account overrides (they belong in one place).
 */
export function composeRuleSet(ruleSet: unknown, ruleSetFile: string, overrides: OverridesDocument | null): unknown {
  if (overrides === null || !isObject(ruleSet)) return ruleSet;
  const inFile = ruleSet.accountOverrides;
  if (Array.isArray(inFile) && inFile.length > 0) {
    throw new ConfigError([
      {
        file: ruleSetFile,
        pointer: '/accountOverrides',
        message: `the rule set carries ${inFile.length} account overrides of its own while the overrides profile (${overrides.file}) is in force; keep them in one place, the overrides profile`,
      },
    ]);
  }
  return { ...ruleSet, accountOverrides: overrides.accountOverrides };
}

/**
 * Composes and compiles. Problems found in an override are reported against the overrides
 * document (same index: its entries become the composed accountOverrides one for one).
 * @throws ConfigError listing every problem, each with file, JSON pointer and message.
 */
export function compileComposed(ruleSet: unknown, ruleSetFile: string, overrides: OverridesDocument | null, domain: Domain): CompiledRuleSet {
  const composed = composeRuleSet(ruleSet, ruleSetFile, overrides);
  try {
    return compileRuleSet(composed, ruleSetFile, domain);
  } catch (err) {
    if (!(err instanceof ConfigError) || overrides === null) throw err;
    throw new ConfigError(err.issues.map((i) => attribute(i, overrides.file)));
  }
}

const OVERRIDES_POINTER = pointerTo('', 'accountOverrides');

function attribute(issue: ConfigIssue, overridesFile: string): ConfigIssue {
  const fromOverrides = issue.pointer === OVERRIDES_POINTER || issue.pointer.startsWith(`${OVERRIDES_POINTER}/`);
  return fromOverrides ? { ...issue, file: overridesFile } : issue;
}
