/**
 * Documents → one immutable {@link ConfigSnapshot}. Everything is validated and compiled here,
 * before a provider swaps the result in, so a snapshot that exists is a snapshot that works.
 *
 * How `flags.rulesVersion` selects the tiered mapping: every rule set carries a `version` label
 * (rules/legacy.json is `legacy-4`, rules/service_tier.json `tiered-7.1`). rulesVersion must name
 * either a tier rule set offered (that one becomes `tiered`) or the legacy rule set (the migration
 * has not switched yet: `tiered` is then the first tier rule set offered, kept compiled so that
 * dual readers can compare and a flag flip needs no new rules document). Any other label is
 * refused, never defaulted.
 */
import type { Domain } from '../../catalog/index.js';
import { compileRuleSet, type CompiledRuleSet } from '../../rules/index.js';
import { ConfigError, type ConfigIssue } from '../../validation/index.js';
import type { ConfigSnapshot, ConfigSource } from '../snapshot.js';
import { compileComposed } from './compose.js';
import { parseFlagsDocument } from './flags.js';
import { parseOverridesDocument } from './overrides.js';

/** A parsed JSON document and the name it is reported under (a path, or `appconfig:<profile>`). */
export interface DocumentInput {
  readonly file: string;
  readonly doc: unknown;
}

export interface SnapshotInputs {
  /** The legacy rule set, as a document or already compiled by {@link compileLegacy} (it rarely changes; callers keep it). */
  readonly legacyRules: DocumentInput | LegacyMapping;
  /** The tier rule sets offered, each with a `version` label; the first is the default under a legacy rulesVersion. */
  readonly rulesDocs: readonly DocumentInput[];
  /** The overrides profile; null when there is none (each rule set's own accountOverrides apply). */
  readonly overrides: DocumentInput | null;
  readonly flags: DocumentInput;
  readonly domain: Domain;
}

export interface SnapshotMeta {
  readonly version: string;
  readonly source: ConfigSource;
  readonly loadedAt: number;
}

/**
 * The tier rule set compiled last, by the document objects it came from, so that a snapshot
 * whose rules and overrides documents are the very same objects as before (a flags-only change)
 * reuses the compiled rule set instead of compiling it again. Keyed by identity: a caller that
 * passes a cache must not mutate a document after handing it over.
 */
export interface CompileCache {
  get(domain: Domain, rules: DocumentInput, overrides: DocumentInput | null): CompiledRuleSet | undefined;
  set(domain: Domain, rules: DocumentInput, overrides: DocumentInput | null, compiled: CompiledRuleSet): void;
}

/**
 * One entry, held strongly: the last compile (the one in force, or the one just refused for
 * its flags). Not WeakMaps keyed by the documents: V8's minor collections keep a WeakMap's value
 * alive while its key is young, so every replaced rule set stayed reachable until the next full
 * collection and each minor collection promoted megabytes of them (docs/appconfig.md).
 */
export function createCompileCache(): CompileCache {
  let last: { domain: Domain; rules: unknown; overrides: unknown; compiled: CompiledRuleSet } | undefined;
  const key = (input: DocumentInput | null): unknown => (input === null ? null : input.doc);
  return {
    get(domain, rules, overrides) {
      if (last === undefined || last.domain !== domain || typeof rules.doc !== 'object' || rules.doc === null) return undefined;
      return last.rules === key(rules) && last.overrides === key(overrides) ? last.compiled : undefined;
    },
    set(domain, rules, overrides, compiled) {
      if (typeof rules.doc !== 'object' || rules.doc === null) return;
      last = { domain, rules: key(rules), overrides: key(overrides), compiled };
    },
  };
}

/** The legacy rule set compiled, with its version label. */
export interface LegacyMapping {
  readonly version: string;
  readonly rules: CompiledRuleSet;
}

const isCompiled = (x: DocumentInput | LegacyMapping): x is LegacyMapping => 'rules' in x && 'version' in x;

/** The `version` label of a rule-set document (the schema checks its format), or an issue when it has none. */
function versionLabel(input: DocumentInput): string | ConfigIssue {
  const v = typeof input.doc === 'object' && input.doc !== null ? (input.doc as { version?: unknown }).version : undefined;
  if (typeof v === 'string' && v.length > 0) return v;
  return { file: input.file, pointer: '', message: 'missing required property "version" (the label a deployment\'s flags.rulesVersion names, e.g. "tiered-7.1")' };
}

/**
 * Validates, composes and compiles the documents into a frozen snapshot.
 * @throws ConfigError listing the problems (file, JSON pointer, message); nothing is half-built.
 */
export function buildSnapshot(inputs: SnapshotInputs, meta: SnapshotMeta, cache?: CompileCache): ConfigSnapshot {
  const { domain } = inputs;
  const flags = parseFlagsDocument(inputs.flags.doc, inputs.flags.file);
  const overrides = inputs.overrides === null ? null : parseOverridesDocument(inputs.overrides.doc, inputs.overrides.file);

  const { rules: legacy, version: legacyVersion } = isCompiled(inputs.legacyRules) ? inputs.legacyRules : compileLegacy(inputs.legacyRules, domain);
  const issues: ConfigIssue[] = [];

  const labelled: { input: DocumentInput; version: string }[] = [];
  for (const input of inputs.rulesDocs) {
    const v = versionLabel(input);
    if (typeof v !== 'string') issues.push(v);
    else if (labelled.some((l) => l.version === v)) issues.push({ file: input.file, pointer: '/version', message: `version "${v}" is offered twice (also by ${labelled.find((l) => l.version === v)?.input.file})` });
    else labelled.push({ input, version: v });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  if (labelled.length === 0) throw new ConfigError([{ file: inputs.flags.file, pointer: '/rulesVersion', message: 'no tier rule set is offered (the rules profile is empty)' }]);

  const chosen = flags.rulesVersion === legacyVersion ? labelled[0] : labelled.find((l) => l.version === flags.rulesVersion);
  if (chosen === undefined) {
    const known = [legacyVersion, ...labelled.map((l) => l.version)].map((v) => `"${v}"`).join(', ');
    throw new ConfigError([{ file: inputs.flags.file, pointer: '/rulesVersion', message: `rulesVersion "${flags.rulesVersion}" names no rule set in force (known: ${known})` }]);
  }
  const tiered = cache?.get(domain, chosen.input, inputs.overrides) ?? compileComposed(chosen.input.doc, chosen.input.file, overrides, domain);
  cache?.set(domain, chosen.input, inputs.overrides, tiered);
  if (tiered.scheme !== 'tier') {
    throw new ConfigError([{ file: chosen.input.file, pointer: '/scheme', message: 'the rules profile serves tier rule sets ("scheme": "tier"); the legacy mapping is baked into the package' }]);
  }
  return Object.freeze({ version: meta.version, source: meta.source, loadedAt: meta.loadedAt, flags, legacy, tiered });
}

/**
 * Compiles the legacy rule set and takes its version label, for callers that keep it across
 * snapshots (it is the old build's mapping and rarely changes).
 * @throws ConfigError when it is invalid, unlabelled or not a legacy rule set.
 */
export function compileLegacy(input: DocumentInput, domain: Domain): LegacyMapping {
  const version = versionLabel(input);
  if (typeof version !== 'string') throw new ConfigError([version]);
  const rules = compileRuleSet(input.doc, input.file, domain);
  if (rules.scheme !== 'legacy') throw new ConfigError([{ file: input.file, pointer: '/scheme', message: 'the legacy mapping must be a legacy rule set ("scheme": "legacy")' }]);
  return Object.freeze({ version, rules });
}
