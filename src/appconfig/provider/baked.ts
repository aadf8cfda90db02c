/**
 * The configuration shipped inside the package (rules/legacy.json, rules/service_tier.json,
 * rules/flags.json, no account overrides): what a provider runs on when nothing else answers
 * at start, and the legacy mapping every snapshot carries.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Domain } from '../../catalog/index.js';
import { DEFAULT_RULES_DIR, FileReadError, loadDomain } from '../../config/index.js';
import { buildSnapshot, compileLegacy, type CompileCache, type DocumentInput, type LegacyMapping } from '../documents/index.js';
import type { ConfigSnapshot } from '../snapshot.js';
import { parseDocument } from './parse.js';
import type { RawDocument } from './source.js';

export const BAKED_VERSION = 'baked';

export interface BakedConfig {
  readonly domain: Domain;
  /** The legacy mapping, compiled once and shared by every snapshot. */
  readonly legacy: LegacyMapping;
  /** The tier rule set, no overrides, and the flags, as a source would hand them over. */
  readonly documents: readonly RawDocument[];
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileReadError(file, err);
  }
}

/**
 * Reads and compiles the packaged configuration.
 * @throws FileReadError or ConfigError: a package whose own rules do not load is broken.
 */
export function loadBaked(rulesDir: string = DEFAULT_RULES_DIR): BakedConfig {
  const domain = loadDomain(rulesDir);
  const legacyFile = join(rulesDir, 'legacy.json');
  const legacy = compileLegacy({ file: legacyFile, doc: parseDocument(readText(legacyFile), legacyFile) }, domain);
  const rulesFile = join(rulesDir, 'service_tier.json');
  const flagsFile = join(rulesDir, 'flags.json');
  const documents: RawDocument[] = [
    { profile: 'rules', file: rulesFile, text: readText(rulesFile), label: BAKED_VERSION },
    { profile: 'overrides', file: join(rulesDir, '(no overrides)'), text: null, label: 'none' },
    { profile: 'flags', file: flagsFile, text: readText(flagsFile), label: BAKED_VERSION },
  ];
  return Object.freeze({ domain, legacy, documents: Object.freeze(documents) });
}

/**
 * The document parsed last per profile, by the raw document it came from: a provider keeps the
 * raw documents of unchanged profiles, so their parsed form (and with a {@link CompileCache}, the
 * compiled rule set) is reused when only another profile changed. Held strongly, one per
 * profile, rather than in a WeakMap keyed by the raw documents: V8's minor collections keep a
 * WeakMap's value alive while its key is young, which kept every replaced document reachable
 * until the next full collection (docs/appconfig.md).
 */
const lastParsed = new Map<RawDocument['profile'], { readonly raw: RawDocument; readonly input: DocumentInput }>();
function inputOf(raw: RawDocument): DocumentInput {
  const hit = lastParsed.get(raw.profile);
  if (hit !== undefined && hit.raw === raw) return hit.input;
  const input = { file: raw.file, doc: parseDocument(raw.text, raw.file) };
  lastParsed.set(raw.profile, { raw, input });
  return input;
}

/** Builds a snapshot from a complete set of raw documents (one per profile). */
export function snapshotOf(baked: BakedConfig, documents: readonly RawDocument[], meta: { version: string; source: ConfigSnapshot['source']; loadedAt: number }, cache?: CompileCache): ConfigSnapshot {
  const of = (profile: RawDocument['profile']): RawDocument => {
    const d = documents.find((x) => x.profile === profile);
    if (d === undefined) throw new Error(`no ${profile} document`); // callers only pass complete sets
    return d;
  };
  const rules = of('rules');
  const overrides = of('overrides');
  const flags = of('flags');
  return buildSnapshot(
    {
      legacyRules: baked.legacy,
      rulesDocs: [inputOf(rules)],
      overrides: overrides.text === null ? null : inputOf(overrides),
      flags: inputOf(flags),
      domain: baked.domain,
    },
    meta,
    cache,
  );
}

/** The snapshot of the packaged configuration alone (source `baked`). */
export function bakedSnapshot(options: { rulesDir?: string; now?: () => number } = {}): ConfigSnapshot {
  const baked = loadBaked(options.rulesDir);
  return snapshotOf(baked, baked.documents, { version: BAKED_VERSION, source: 'baked', loadedAt: (options.now ?? Date.now)() });
}
