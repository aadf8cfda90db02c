/**
 * Rule-set documents → {@link RuleSetModel}: JSON Schema first, then everything a schema
 * cannot know (catalog values, tiers, QoS levels, unique ids), each problem with its pointer.
 */
import picomatch from 'picomatch';
import ruleSetSchema from '../../rules/schema/ruleset.schema.json' with { type: 'json' };
import type { Domain, LegacyLevel, Tier } from '../catalog/index.js';
import { pointerTo, schemaValidator, type ConfigIssue } from '../validation/index.js';
import type { Condition, Conditions, Glob, Outcome, RuleDef, RuleSetModel, Scheme, ServiceTierMode } from './model.js';

const validateSchema = schemaValidator(ruleSetSchema);

/** Problems that stop a rule set from compiling. Lint reports them next to its own findings. */
export type ParseIssueKind = 'schema' | 'unknown-reference' | 'duplicate-id';
export interface ParseIssue extends ConfigIssue {
  readonly kind: ParseIssueKind;
}

type ValueSpec = string | null | readonly (string | null)[];
interface ConditionsDoc {
  serviceTier?: ValueSpec;
  classification?: string | readonly string[];
  provisioned?: boolean;
  requestType?: ValueSpec;
  modelId?: ValueSpec;
  region?: ValueSpec;
  accountId?: ValueSpec;
}
interface OutcomeDoc {
  tier?: string;
  level?: number;
  qos?: number;
  preemptable: boolean;
}
interface RuleDoc {
  id: string;
  description?: string;
  precedence: number;
  when: ConditionsDoc;
  then: OutcomeDoc;
}
interface OverrideDoc {
  id: string;
  accountId: string;
  reason?: string;
  when?: ConditionsDoc;
  then: OutcomeDoc;
}
interface RuleSetDoc {
  name: string;
  description?: string;
  scheme: Scheme;
  mode: ServiceTierMode;
  rules: RuleDoc[];
  accountOverrides?: OverrideDoc[];
}

/** picomatch options: `*` crosses `/` (model ids may contain slashes) and dots are ordinary characters. */
const GLOB_OPTIONS = { dot: true, bash: true } as const;

function isGlob(value: string): boolean {
  return picomatch.scan(value).isGlob;
}

/**
 * picomatch reads the shell's negated class `[!a]` as a class of `!` and `a` (`[!a]bc` matches
 * `abc`, not `xbc`); rule authors write it as a shell reads it, so it becomes `[^a]` first. An
 * escaped bracket (`\\[!`) is left alone.
 */
function shellGlob(pattern: string): string {
  return pattern.replace(/(?<!\\)\[!/g, '[^');
}

function compileGlob(pattern: string): Glob {
  const matcher = picomatch(shellGlob(pattern), GLOB_OPTIONS);
  return Object.freeze({ pattern, test: (value: string) => matcher(value) });
}

/** Validates a parsed rule-set document against the domain. `model` is null when any issue was found. */
export function parseRuleSet(doc: unknown, file: string, domain: Domain): { model: RuleSetModel | null; issues: ParseIssue[] } {
  const schemaIssues = validateSchema(doc, file);
  if (schemaIssues.length > 0) return { model: null, issues: schemaIssues.map((i) => ({ ...i, kind: 'schema' })) };
  const d = doc as RuleSetDoc;
  const issues: ParseIssue[] = [];
  const { catalog, scale } = domain;
  const provisioned = new Set(catalog.provisionedClassifications);

  const catalogCondition = (spec: ValueSpec | undefined, known: readonly string[], what: string, rule: string, key: string): Condition | undefined => {
    if (spec === undefined) return undefined;
    const list = Array.isArray(spec) ? (spec as readonly (string | null)[]) : [spec as string | null];
    const values = new Set<string>();
    let missing = false;
    list.forEach((v, i) => {
      if (v === null) {
        missing = true;
      } else if (!known.includes(v)) {
        issues.push({ kind: 'unknown-reference', file, pointer: Array.isArray(spec) ? pointerTo(rule, 'when', key, i) : pointerTo(rule, 'when', key), message: `unknown ${what} "${v}" (the catalog has ${known.join(', ')})` });
      } else {
        values.add(v);
      }
    });
    return Object.freeze({ values, missing, globs: [] });
  };

  const freeCondition = (spec: ValueSpec | undefined, allowGlobs: boolean, rule: string, key: string): Condition | undefined => {
    if (spec === undefined) return undefined;
    const list = Array.isArray(spec) ? (spec as readonly (string | null)[]) : [spec as string | null];
    const values = new Set<string>();
    const globs: Glob[] = [];
    let missing = false;
    list.forEach((v, i) => {
      if (v === null) missing = true;
      else if (allowGlobs && isGlob(v)) globs.push(compileGlob(v));
      else values.add(v);
      // A pattern where only exact values are allowed would silently match nothing.
      if (v !== null && !allowGlobs && isGlob(v)) {
        issues.push({ kind: 'schema', file, pointer: Array.isArray(spec) ? pointerTo(rule, 'when', key, i) : pointerTo(rule, 'when', key), message: `"${v}" looks like a glob, but only modelId takes globs; this attribute matches exact values` });
      }
    });
    return Object.freeze({ values, missing, globs: Object.freeze(globs) });
  };

  // Pointers are worked out only for the issues found (`rule` is the rule's own pointer): most
  // documents have none, and building six pointer strings per rule was a fifth of a swap's garbage.
  const conditions = (w: ConditionsDoc, rule: string, accountId?: string): Conditions => {
    // Checked in the order the keys are documented, so findings come out in that order.
    const serviceTier = catalogCondition(w.serviceTier, catalog.serviceTiers, 'service tier', rule, 'serviceTier');
    let classification = catalogCondition(w.classification, catalog.classifications, 'classification', rule, 'classification');
    if (w.provisioned !== undefined) {
      // The derived attribute narrows the classification condition; it never widens it.
      const base = classification?.values ?? new Set(catalog.classifications);
      const values = new Set([...base].filter((c) => provisioned.has(c) === w.provisioned));
      classification = Object.freeze({ values, missing: false, globs: [] });
    }
    const out: { -readonly [K in keyof Conditions]: Conditions[K] } = {
      serviceTier,
      classification,
      requestType: catalogCondition(w.requestType, catalog.requestTypes, 'request type', rule, 'requestType'),
      modelId: freeCondition(w.modelId, true, rule, 'modelId'),
      region: freeCondition(w.region, false, rule, 'region'),
      accountId: accountId === undefined ? freeCondition(w.accountId, false, rule, 'accountId') : Object.freeze({ values: new Set([accountId]), missing: false, globs: [] }),
    };
    for (const k of Object.keys(out) as (keyof Conditions)[]) if (out[k] === undefined) delete out[k];
    return Object.freeze(out);
  };

  const outcome = (t: OutcomeDoc, ruleId: string, rule: string): Outcome | undefined => {
    let tier: Tier | undefined;
    let legacyLevel: LegacyLevel | null = null;
    if (d.scheme === 'legacy') {
      if (t.tier !== undefined) issues.push({ kind: 'schema', file, pointer: pointerTo(rule, 'then', 'tier'), message: 'a legacy rule set assigns a legacy level ("level": 0-3), not a tier' });
      if (t.level === undefined) {
        issues.push({ kind: 'schema', file, pointer: pointerTo(rule, 'then'), message: 'missing required property "level" (legacy rule sets assign a legacy level 0-3)' });
      } else if (!scale.legacyLevels.some((l) => l.level === t.level)) {
        issues.push({ kind: 'unknown-reference', file, pointer: pointerTo(rule, 'then', 'level'), message: `unknown legacy level ${t.level} (priorities.json has ${scale.legacyLevels.map((l) => l.level).join(', ')})` });
      } else {
        legacyLevel = t.level as LegacyLevel;
        tier = scale.tierOfLegacy(legacyLevel);
      }
    } else {
      if (t.level !== undefined) issues.push({ kind: 'schema', file, pointer: pointerTo(rule, 'then', 'level'), message: 'a tier rule set assigns a tier ("tier": "P50"), not a legacy level' });
      if (t.tier === undefined) {
        issues.push({ kind: 'schema', file, pointer: pointerTo(rule, 'then'), message: 'missing required property "tier" (tier rule sets assign a tier)' });
      } else {
        tier = scale.tier(t.tier);
        if (tier === undefined) {
          issues.push({ kind: 'unknown-reference', file, pointer: pointerTo(rule, 'then', 'tier'), message: `unknown tier "${t.tier}" (priorities.json has ${scale.tiers.map((x) => x.name).join(', ')})` });
        }
      }
    }
    if (t.qos !== undefined && !catalog.qosLevels.includes(t.qos)) {
      issues.push({ kind: 'unknown-reference', file, pointer: pointerTo(rule, 'then', 'qos'), message: `QoS ${t.qos} is not in the catalog (${catalog.qosLevels.join(', ')})` });
    }
    if (tier === undefined) return undefined;
    return Object.freeze({ ruleId, tier, legacyLevel, qos: t.qos ?? tier.defaultQos, preemptable: t.preemptable });
  };

  const seen = new Map<string, string>();
  const checkId = (id: string, at: string) => {
    const first = seen.get(id);
    if (first !== undefined) issues.push({ kind: 'duplicate-id', file, pointer: pointerTo(at, 'id'), message: `rule id "${id}" is already used at ${first}` });
    else seen.set(id, at);
  };

  const defs: RuleDef[] = [];
  (d.accountOverrides ?? []).forEach((o, i) => {
    const at = pointerTo('/accountOverrides', i);
    checkId(o.id, at);
    if (o.when?.accountId !== undefined) {
      issues.push({ kind: 'schema', file, pointer: pointerTo(at, 'when', 'accountId'), message: 'an account override takes its account from "accountId"; remove "when.accountId"' });
    }
    const when = conditions(o.when ?? {}, at, o.accountId);
    const out = outcome(o.then, o.id, at);
    if (out !== undefined) {
      defs.push(Object.freeze({ id: o.id, pointer: at, fileOrder: defs.length, precedence: Number.POSITIVE_INFINITY, isOverride: true, when, outcome: out, ...(o.reason === undefined ? {} : { description: o.reason }) }));
    }
  });
  d.rules.forEach((r, i) => {
    const at = pointerTo('/rules', i);
    checkId(r.id, at);
    const when = conditions(r.when, at);
    const out = outcome(r.then, r.id, at);
    if (out !== undefined) {
      defs.push(Object.freeze({ id: r.id, pointer: at, fileOrder: defs.length, precedence: r.precedence, isOverride: false, when, outcome: out, ...(r.description === undefined ? {} : { description: r.description }) }));
    }
  });
  if (issues.length > 0) return { model: null, issues };

  // Evaluation order: higher precedence first; among equals, file order (Array.prototype.sort is stable).
  const ordered = [...defs].sort((a, b) => (a.precedence === b.precedence ? a.fileOrder - b.fileOrder : b.precedence > a.precedence ? 1 : -1));
  return {
    model: Object.freeze({
      file,
      name: d.name,
      ...(d.description === undefined ? {} : { description: d.description }),
      scheme: d.scheme,
      declaredMode: d.mode,
      rules: Object.freeze(ordered),
    }),
    issues,
  };
}
