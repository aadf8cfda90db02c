/** Reads a rule-set file and compiles it (the I/O edge for src/rules). */
import type { Domain } from '../catalog/index.js';
import { compileRuleSet, type CompileOptions, type CompiledRuleSet } from '../rules/index.js';
import { readJsonFile } from './index.js';

/**
 * @throws FileReadError when the file cannot be read; ConfigError when it is not a valid rule set.
 */
export function loadRuleSet(file: string, domain: Domain, options?: CompileOptions): CompiledRuleSet {
  return compileRuleSet(readJsonFile(file), file, domain, options);
}
