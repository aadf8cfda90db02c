/**
 * The account-overrides profile (rules/schema/overrides.schema.json). Its entries have exactly
 * the shape of a rule set's in-file `accountOverrides`; what a schema cannot check (catalog
 * values, tiers) is checked when they are composed with a rule set and compiled (compose.ts).
 */
import overridesSchema from '../../../rules/schema/overrides.schema.json' with { type: 'json' };
import ruleSetSchema from '../../../rules/schema/ruleset.schema.json' with { type: 'json' };
import { ConfigError, schemaValidator } from '../../validation/index.js';

// The overrides schema refers to the rule-set schema's accountOverride by $id, so the rule-set
// schema must be known to ajv first (schemaValidator caches per schema object: no double compile).
schemaValidator(ruleSetSchema);
const validateOverrides = schemaValidator(overridesSchema);

/** A schema-valid overrides document. Entries are kept as JSON so they compose as in-file overrides. */
export interface OverridesDocument {
  readonly file: string;
  readonly accountOverrides: readonly unknown[];
}

/** @throws ConfigError with file, JSON pointer and message for every problem. */
export function parseOverridesDocument(doc: unknown, file: string): OverridesDocument {
  const issues = validateOverrides(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({ file, accountOverrides: Object.freeze([...(doc as { accountOverrides: unknown[] }).accountOverrides]) });
}
