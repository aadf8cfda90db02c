/**
 * Swaps under continuous evaluation. Every version v of the configuration sends the marker
 * request to its own tier and names itself in flags.rulesVersion, so a result that mixed two
 * versions would show. Readers take one snapshot per request and evaluate several times while
 * swaps (good, bad, and halves of a change: rules without their flags) land in between.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadBaked, PushSource, RuntimeConfigProvider, type ConfigSnapshot, type ProviderLogger, type RawDocument } from '../../src/appconfig/index.js';

const serviceTier = JSON.parse(readFileSync('rules/service_tier.json', 'utf8')) as Record<string, unknown>;
const flags = JSON.parse(readFileSync('rules/flags.json', 'utf8')) as Record<string, unknown>;
const TIERS = ['P100', 'P90', 'P75', 'P50', 'P25', 'P10', 'P5'];
const marker = { serviceTier: 'DEFAULT', classification: 'ON_DEMAND', requestType: 'ON_DEMAND', accountId: '123456789012' };
const baked = loadBaked();
const quiet: ProviderLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const rulesText = (v: number) => JSON.stringify({ ...serviceTier, version: `tiered-${v}`, rules: [{ id: `v${v}`, precedence: 1, when: {}, then: { tier: TIERS[v], preemptable: false } }] });
const flagsText = (v: number) => JSON.stringify({ ...flags, rulesVersion: `tiered-${v}` });
const doc = (profile: RawDocument['profile'], text: string | null, label: string): RawDocument => ({ profile, text, label, file: `memory:${profile}` });


type Op =
  | { kind: 'deploy'; version: number } // rules and flags of one version together
  | { kind: 'rulesOnly'; version: number } // half a change: refused unless the flags already name it
  | { kind: 'flagsOnly'; version: number }
  | { kind: 'bad' } // a rule set naming a tier that does not exist
  | { kind: 'begin'; reader: number }
  | { kind: 'evaluate'; reader: number }
  | { kind: 'end'; reader: number };

const version = fc.integer({ min: 0, max: TIERS.length - 1 });
const reader = fc.integer({ min: 0, max: 3 });
const op: fc.Arbitrary<Op> = fc.oneof(
  version.map((v) => ({ kind: 'deploy' as const, version: v })),
  version.map((v) => ({ kind: 'rulesOnly' as const, version: v })),
  version.map((v) => ({ kind: 'flagsOnly' as const, version: v })),
  fc.constant({ kind: 'bad' as const }),
  reader.map((r) => ({ kind: 'begin' as const, reader: r })),
  reader.map((r) => ({ kind: 'evaluate' as const, reader: r })),
  reader.map((r) => ({ kind: 'evaluate' as const, reader: r })),
  reader.map((r) => ({ kind: 'end' as const, reader: r })),
);

describe('provider swaps under continuous evaluation', () => {
  it('every evaluation comes wholly from the one version its request took; bad and half changes never show', async () => {
    await fc.assert(
      fc.asyncProperty(version, fc.array(op, { minLength: 1, maxLength: 60 }), async (initial, ops) => {
        const source = new PushSource();
        const provider = new RuntimeConfigProvider({ sources: [source], baked, startTimeoutMs: 1_000, logger: quiet, now: () => 0 });
        const starting = provider.start();
        source.push([doc('rules', rulesText(initial), `r${initial}`), doc('overrides', null, 'none'), doc('flags', flagsText(initial), `f${initial}`)]);
        await starting;

        // The model: which rules and flags the source last handed over, and the version in force.
        let rulesAt: number | 'bad' = initial;
        let flagsAt = initial;
        let inForce = initial;
        let refused = 0;
        const settle = () => {
          if (rulesAt !== 'bad' && rulesAt === flagsAt) inForce = rulesAt;
          else refused++;
        };
        const readers = new Map<number, { snapshot: ConfigSnapshot; version: number }>();
        let badLabel = 0;

        for (const o of ops) {
          switch (o.kind) {
            case 'deploy':
              source.push([doc('rules', rulesText(o.version), `r${o.version}`), doc('flags', flagsText(o.version), `f${o.version}`)]);
              if (rulesAt !== o.version || flagsAt !== o.version) {
                rulesAt = o.version;
                flagsAt = o.version;
                settle();
              }
              break;
            case 'rulesOnly':
              source.push([doc('rules', rulesText(o.version), `r${o.version}`)]);
              if (rulesAt !== o.version) {
                rulesAt = o.version;
                settle();
              }
              break;
            case 'flagsOnly':
              source.push([doc('flags', flagsText(o.version), `f${o.version}`)]);
              if (flagsAt !== o.version) {
                flagsAt = o.version;
                settle();
              }
              break;
            case 'bad': {
              const text = JSON.stringify({ ...serviceTier, version: `tiered-${flagsAt}`, rules: [{ id: 'x', precedence: 1, when: {}, then: { tier: 'P42', preemptable: false } }] });
              source.push([doc('rules', text, `bad${badLabel++}`)]);
              rulesAt = 'bad';
              settle();
              break;
            }
            case 'begin': {
              const snapshot = provider.current() as ConfigSnapshot;
              readers.set(o.reader, { snapshot, version: inForce });
              break;
            }
            case 'evaluate':
            case 'end': {
              const r = readers.get(o.reader);
              if (r === undefined) break;
              // The reader's snapshot is the one it took, whatever has been swapped in since.
              expect(r.snapshot.tiered.evaluate(marker).tier.name).toBe(TIERS[r.version]);
              expect(r.snapshot.flags.rulesVersion).toBe(`tiered-${r.version}`);
              expect(r.snapshot.version).toBe(`rules:r${r.version} overrides:none flags:f${r.version}`);
              expect(r.snapshot.legacy.evaluate(marker).legacyLevel).toBe(2);
              if (o.kind === 'end') readers.delete(o.reader);
              break;
            }
          }
          // A new request always sees the version the model says is in force.
          const now = provider.current() as ConfigSnapshot;
          expect(now.tiered.evaluate(marker).tier.name).toBe(TIERS[inForce]);
          expect(now.flags.rulesVersion).toBe(`tiered-${inForce}`);
          expect(provider.status().refused).toBe(refused);
        }
        await provider.close();
      }),
      { numRuns: 150 },
    );
  });
});
