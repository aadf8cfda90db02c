/**
 * Large account-override tables for the rules benchmark and for timing `prio rules check`:
 * a base rule set plus `count` account overrides, one account each. Deterministic, so every
 * run measures the same document.
 *
 *   node --import tsx bench/rules/override-table.ts 20000 > /tmp/overrides-20000.json
 *
 * writes the minimal base (one catch-all rule) with 20,000 overrides: 20,001 rules.
 */
import { pathToFileURL } from 'node:url';

const SERVICE_TIERS = ['RESERVED', 'PRIORITY', 'DEFAULT', 'FLEX'] as const;
const TIERS = ['P100', 'P90', 'P75', 'P50', 'P25', 'P10', 'P5'] as const;

export const accountOf = (i: number): string => String(300_000_000_000 + i * 7_919);

/** `count` overrides; every fifth applies to one service tier only, the rest to the whole account. */
export function accountOverrides(count: number, tiers: readonly string[] = TIERS): unknown[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `account-${i}`,
    accountId: accountOf(i),
    reason: 'benchmark contract',
    ...(i % 5 === 0 ? { when: { serviceTier: SERVICE_TIERS[i % 4] } } : {}),
    then: { tier: tiers[i % tiers.length], preemptable: i % 3 === 0 },
  }));
}

/** `doc` (a rule-set document) with `count` account overrides added. */
export function withOverrides(doc: { rules: unknown[] }, count: number, tiers?: readonly string[]): unknown {
  return { ...doc, accountOverrides: accountOverrides(count, tiers) };
}

/** One catch-all rule and `count` overrides: the smallest lint-clean rule set of `count + 1` rules. */
export function overrideTable(count: number): unknown {
  return withOverrides(
    {
      name: `override-table-${count}`,
      scheme: 'tier',
      mode: 'service-tier-with-fallback',
      rules: [{ id: 'everything-else', precedence: 0, when: {}, then: { tier: 'P50', preemptable: false } }],
    } as { rules: unknown[] },
    count,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const count = Number(process.argv[2] ?? '20000');
  if (!Number.isInteger(count) || count < 0) {
    process.stderr.write('usage: node --import tsx bench/rules/override-table.ts <overrides>\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(overrideTable(count), null, 1)}\n`);
}
