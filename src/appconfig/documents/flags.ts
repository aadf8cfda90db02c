/** The rollout-flags profile (rules/schema/flags.schema.json): five flags and a format version. */
import flagsSchema from '../../../rules/schema/flags.schema.json' with { type: 'json' };
import { applyFlags, type Flags } from '../../migration/index.js';
import { ConfigError, schemaValidator } from '../../validation/index.js';

const validateFlags = schemaValidator(flagsSchema);

export const FLAGS_SCHEMA_VERSION = 1;

/**
 * Validates a flags document and returns the five flags it sets.
 * @throws ConfigError with file, JSON pointer and message for every problem.
 */
export function parseFlagsDocument(doc: unknown, file: string): Flags {
  const issues = validateFlags(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const d = doc as Flags;
  return Object.freeze({
    priorityScheme: d.priorityScheme,
    tokenReadMode: d.tokenReadMode,
    tokenWriteMode: d.tokenWriteMode,
    serviceTierMode: d.serviceTierMode,
    rulesVersion: d.rulesVersion,
  });
}

/** The flags document a migration step's patch (`steps[].flags`) turns `current` into. */
export function patchFlagsDocument(current: Flags, patch: Partial<Flags>): { schemaVersion: number } & Flags {
  return { schemaVersion: FLAGS_SCHEMA_VERSION, ...applyFlags(current, [patch]) };
}
