/**
 * What a judge is built from, in a form that crosses a thread boundary: the parsed catalog,
 * priorities and rule-set documents (with the file names their errors cite), the compile mode,
 * and the token keys as KeyObjects (Node clones those between threads; the secrets never pass
 * through a string, a log or a JSON document). The main thread and every worker build their
 * judge from the same spec, so they judge alike. Reading the files makes this an I/O edge.
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { parseCatalog, parsePriorities, type Domain } from '../../catalog/index.js';
import { DEFAULT_RULES_DIR, readJsonFile } from '../../config/index.js';
import { compileRuleSet, type CompiledRuleSet, type CompileOptions } from '../../rules/index.js';
import { createTokenReader, Keyring, type TokenReader } from '../../tokens/index.js';

/** One configuration document as read from its file. */
export interface SpecDocument {
  readonly file: string;
  readonly doc: unknown;
}

export interface RuleSetDocument extends SpecDocument {
  readonly options?: CompileOptions;
}

/** The keys of a keyring, as the KeyObjects it holds (structured-cloneable, never printed). */
export interface TokenKeyMaterial {
  readonly currentKid: string;
  readonly keys: readonly { readonly kid: string; readonly key: KeyObject }[];
}

export interface JudgeSpec {
  readonly catalog: SpecDocument;
  readonly priorities: SpecDocument;
  readonly baseline: RuleSetDocument;
  readonly candidate: RuleSetDocument;
  /** null: session tokens are not verified (counted as unchecked). */
  readonly tokenKeys: TokenKeyMaterial | null;
}

export interface JudgeSpecFiles {
  /** Where catalog.json and priorities.json live; default the packaged rules. */
  readonly rulesDir?: string;
  readonly baselineFile: string;
  readonly candidateFile: string;
  /** Omit to replay without verifying session tokens. */
  readonly keyring?: Keyring;
}

/** Reads the documents a judge is built from. Unreadable or malformed files throw as `readJsonFile` does. */
export function readJudgeSpec(files: JudgeSpecFiles): JudgeSpec {
  const rulesDir = files.rulesDir ?? DEFAULT_RULES_DIR;
  const read = (file: string): SpecDocument => ({ file, doc: readJsonFile(file) });
  return {
    catalog: read(join(rulesDir, 'catalog.json')),
    priorities: read(join(rulesDir, 'priorities.json')),
    baseline: read(files.baselineFile),
    candidate: read(files.candidateFile),
    tokenKeys: files.keyring === undefined ? null : keyMaterialOf(files.keyring),
  };
}

/** A keyring's keys as cloneable KeyObjects. */
export function keyMaterialOf(keyring: Keyring): TokenKeyMaterial {
  const keys = keyring.kids.map((kid) => {
    const key = keyring.keyFor(kid);
    if (key === undefined) throw new Error(`keyring lists kid ${kid} but holds no key for it`);
    return { kid, key };
  });
  return { currentKid: keyring.currentKid, keys };
}

/** What the replay needs to judge, built from a spec (validated: bad documents throw ConfigError). */
export interface JudgeParts {
  readonly domain: Domain;
  readonly baseline: CompiledRuleSet;
  readonly candidate: CompiledRuleSet;
  readonly tokens?: { readonly legacy: TokenReader; readonly dual: TokenReader };
}

export function judgeParts(spec: JudgeSpec): JudgeParts {
  const catalog = parseCatalog(spec.catalog.doc, spec.catalog.file);
  const domain: Domain = { catalog, scale: parsePriorities(spec.priorities.doc, spec.priorities.file, catalog) };
  const baseline = compileRuleSet(spec.baseline.doc, spec.baseline.file, domain, spec.baseline.options);
  const candidate = compileRuleSet(spec.candidate.doc, spec.candidate.file, domain, spec.candidate.options);
  if (spec.tokenKeys === null) return { domain, baseline, candidate };
  const keyring = new Keyring(
    spec.tokenKeys.keys.map(({ kid, key }) => ({ kid, secret: key.export() })),
    spec.tokenKeys.currentKid,
  );
  return {
    domain,
    baseline,
    candidate,
    tokens: { legacy: createTokenReader({ domain, keyring, mode: 'legacy' }), dual: createTokenReader({ domain, keyring, mode: 'dual' }) },
  };
}
