/**
 * The three configuration profiles the pipeline manages and how a candidate document for one
 * of them is judged before anything is published: its schema, the rule lint, and whether the
 * whole configuration it would make (rules + overrides + flags, composed and compiled exactly
 * as the runtime provider does) builds. Pure: documents come in parsed, issues go out.
 */
import type { Domain } from '../../catalog/index.js';
import { lintRuleSet, type CompiledRuleSet } from '../../rules/index.js';
import { ConfigError, type ConfigIssue } from '../../validation/index.js';
import type { ConfigSnapshot } from '../snapshot.js';
import { buildSnapshot, composeRuleSet, parseFlagsDocument, parseOverridesDocument, type DocumentInput } from '../documents/index.js';

export const PROFILE_NAMES = ['rules', 'overrides', 'flags'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** The schema (under rules/schema/) each profile's AppConfig validator carries. */
export const PROFILE_SCHEMA_FILES: Readonly<Record<ProfileName, string>> = {
  rules: 'ruleset.schema.json',
  overrides: 'overrides.schema.json',
  flags: 'flags.schema.json',
};

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/** One configuration as the runtime would assemble it: the baked legacy rules and the three profiles. */
export interface ConfigurationDocuments {
  readonly legacy: DocumentInput;
  readonly rules: DocumentInput;
  /** null: no overrides profile (the rule set's own accountOverrides apply). */
  readonly overrides: DocumentInput | null;
  readonly flags: DocumentInput;
}

export type IssueStage = 'schema' | 'lint' | 'compose';

export interface DocumentIssue extends ConfigIssue {
  readonly stage: IssueStage;
}

export type Judgement =
  | { readonly valid: true; readonly snapshot: ConfigSnapshot }
  | { readonly valid: false; readonly issues: readonly DocumentIssue[] };

/** `documents` with `candidate` in the place of `profile`. */
export function withCandidate(documents: ConfigurationDocuments, profile: ProfileName, candidate: DocumentInput): ConfigurationDocuments {
  return { ...documents, [profile]: candidate };
}

const staged = (stage: IssueStage, issues: readonly ConfigIssue[]): DocumentIssue[] => issues.map((i) => ({ file: i.file, pointer: i.pointer, message: i.message, stage }));

function issuesOf(err: unknown): readonly ConfigIssue[] {
  if (err instanceof ConfigError) return err.issues;
  throw err;
}

/** The candidate's own schema: the issues its profile's format finds in it. */
function schemaIssues(profile: ProfileName, candidate: DocumentInput, domain: Domain): DocumentIssue[] {
  try {
    if (profile === 'overrides') parseOverridesDocument(candidate.doc, candidate.file);
    else if (profile === 'flags') parseFlagsDocument(candidate.doc, candidate.file);
    else {
      // The rule-set parser knows the catalog too: its schema and reference findings come first.
      const findings = lintRuleSet(candidate.doc, candidate.file, domain).filter((f) => f.kind !== 'unreachable' && f.kind !== 'ambiguous' && f.kind !== 'gap');
      return staged('schema', findings);
    }
    return [];
  } catch (err) {
    return staged('schema', issuesOf(err));
  }
}

/**
 * The lint of the rule set the runtime would evaluate (rules with the overrides as its
 * accountOverrides). Findings under /accountOverrides are the overrides document's.
 */
function lintIssues(documents: ConfigurationDocuments, domain: Domain): DocumentIssue[] {
  let composed: unknown;
  try {
    const overrides = documents.overrides === null ? null : parseOverridesDocument(documents.overrides.doc, documents.overrides.file);
    composed = composeRuleSet(documents.rules.doc, documents.rules.file, overrides);
  } catch (err) {
    return staged('compose', issuesOf(err));
  }
  const overridesFile = documents.overrides?.file;
  return lintRuleSet(composed, documents.rules.file, domain).map((f) => ({
    file: overridesFile !== undefined && f.pointer.startsWith('/accountOverrides') ? overridesFile : f.file,
    pointer: f.pointer,
    message: `${f.kind}: ${f.message}`,
    stage: f.kind === 'unreachable' || f.kind === 'ambiguous' || f.kind === 'gap' ? 'lint' : 'schema',
  }));
}

/**
 * Judges `candidate` as the new document of `profile`, the other profiles taken from
 * `documents`. Stops at the first stage that finds anything: later stages would only repeat it.
 */
export function judgeCandidate(profile: ProfileName, candidate: DocumentInput, documents: ConfigurationDocuments, domain: Domain): Judgement {
  const own = schemaIssues(profile, candidate, domain);
  if (own.length > 0) return { valid: false, issues: own };
  const next = withCandidate(documents, profile, candidate);
  if (profile !== 'flags') {
    const lint = lintIssues(next, domain);
    if (lint.length > 0) return { valid: false, issues: lint };
  }
  return assemble(next, domain);
}

/** Builds the snapshot the runtime would build from these documents. */
export function assemble(documents: ConfigurationDocuments, domain: Domain, version = 'candidate'): Judgement {
  try {
    const snapshot = buildSnapshot(
      { legacyRules: documents.legacy, rulesDocs: [documents.rules], overrides: documents.overrides, flags: documents.flags, domain },
      { version, source: 'file', loadedAt: 0 },
    );
    return { valid: true, snapshot };
  } catch (err) {
    return { valid: false, issues: staged('compose', issuesOf(err)) };
  }
}

/** The mapping the flags of a configuration put in force: the legacy rule set or the tier one. */
function mappingInForce(snapshot: ConfigSnapshot, legacyVersion: string): CompiledRuleSet {
  return snapshot.flags.rulesVersion === legacyVersion ? snapshot.legacy : snapshot.tiered;
}

/**
 * What a shadow replay compares: the mapping in force where the configuration is deployed (it
 * produced the observed outcomes in the log), against the mapping the candidate brings — the
 * tier mapping for a rules or overrides document (what the migration will switch to), the
 * mapping its flags put in force for a flags document.
 */
export function shadowPair(profile: ProfileName, deployed: ConfigSnapshot, candidate: ConfigSnapshot, legacyVersion: string): { baseline: CompiledRuleSet; candidate: CompiledRuleSet } {
  return {
    baseline: mappingInForce(deployed, legacyVersion),
    candidate: profile === 'flags' ? mappingInForce(candidate, legacyVersion) : candidate.tiered,
  };
}

/** The `version` label of a rule-set document, if it has one. */
export function versionLabelOf(doc: unknown): string | undefined {
  const v = typeof doc === 'object' && doc !== null ? (doc as { version?: unknown }).version : undefined;
  return typeof v === 'string' ? v : undefined;
}
