/**
 * `prio token …`: issue, inspect and normalize session tokens. Thin: parses options, loads
 * the domain and keyring at the edge, calls src/tokens, prints.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import type { Tier } from '../catalog/index.js';
import { loadDomain, loadTokenKeyring } from '../config/index.js';
import {
  createTokenReader,
  createTokenWriter,
  KID_PATTERN,
  normalizationTable,
  normalizeRaw,
  reverseTable,
  TOKEN_READ_MODES,
  TOKEN_WRITE_MODES,
  TokenError,
  type Keyring,
  type TokenReadMode,
  type TokenWriteMode,
} from '../tokens/index.js';
import type { Register } from './main.js';
import { aliasRulesDir, ExitCode, noteStdinAtTerminal, printJson, rulesDirOption, table, UsageError, type Io } from './output.js';

const DEFAULT_TTL_MS = 3_600_000;

interface KeyOptions {
  keyFile?: string;
  rulesDir: string;
}

function keyringFor(options: KeyOptions, io: Io): Keyring {
  const loaded = loadTokenKeyring({ keyFile: options.keyFile, allowDevelopmentKey: true });
  if (loaded.source === 'development') {
    io.err(
      `warning: no --key-file and no PRIO_TOKEN_KEYS: using ${loaded.origin}. ` +
        'Its secret is public, so anyone can forge these tokens; use it for demos only.',
    );
  }
  return loaded.keyring;
}

/** `-` (or nothing) means stdin, so tokens and JSON can be piped. */
function argumentOrStdin(value: string | undefined, io: Io, what: string): string {
  if (value !== undefined && value !== '-') return value;
  noteStdinAtTerminal(io, what);
  try {
    return readFileSync(0, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read stdin: ${(err as Error).message}`);
  }
}

/** Epoch ms or an ISO-8601 timestamp. */
function parseTime(text: string, what: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms)) throw new UsageError(`${what} must be epoch milliseconds or an ISO-8601 time, got "${text}"`);
  return ms;
}

interface SessionInput {
  sessionId?: unknown;
  accountId?: unknown;
  classification?: unknown;
  tier?: unknown;
  rawPriority?: unknown;
  issuedAt?: unknown;
  ttlMs?: unknown;
}

function parseSessionJson(text: string): SessionInput {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`session is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UsageError('session must be a JSON object');
  return doc as SessionInput;
}

function rejected(io: Io, err: TokenError, json: boolean): ExitCode {
  if (json) printJson(io, { verdict: 'rejected', reason: err.reason, message: err.message.slice(err.reason.length + 2) });
  else io.err(`rejected: ${err.message}`);
  return ExitCode.findings;
}

export const registerToken: Register = (program, io, setExit) => {
  const token = program
    .command('token')
    .description('Issue, verify and decode session tokens; show how raw priority values 0-150 normalize.')
    .addHelpText(
      'after',
      `
Keys come from --key-file or PRIO_TOKEN_KEYS (kid:base64secret[,kid:base64secret...], first is
current). With neither, a public DEVELOPMENT key is used and a warning goes to stderr.

Example:
  $ prio token encode '{"sessionId":"s-1","accountId":"123456789012","classification":"ON_DEMAND","tier":"P75"}' \\
      | prio token decode -
  $ prio token normalize --table`,
    );

  const keyFileOption = () => new Option('--key-file <file>', 'key file (kid:base64secret per line, first is current); overrides PRIO_TOKEN_KEYS');

  token
    .command('encode')
    .description('Issue a signed token for a session given as JSON; prints the token.')
    .argument('[session]', 'session JSON, or - (the default) to read it from stdin')
    .addOption(new Option('--mode <mode>', 'v2 writes the tier value; legacy writes v1 with the tier\'s legacy level').choices(TOKEN_WRITE_MODES).default('v2'))
    .addOption(keyFileOption())
    .addOption(rulesDirOption())
    .option('--json', 'print {token, kid, version} as JSON')
    .addHelpText(
      'after',
      `
Session JSON fields: sessionId, accountId, classification (from the catalog), and either
"tier" (e.g. "P75") or "rawPriority" (0-150, normalized to a tier); optional "issuedAt"
(epoch ms or ISO-8601, default now) and "ttlMs" (default ${DEFAULT_TTL_MS}).

Example:
  $ prio token encode --mode legacy '{"sessionId":"s-1","accountId":"123456789012","classification":"BATCH","tier":"P10"}'
  v1.dev-insecure.AwAB…`,
    )
    .action((sessionArg: string | undefined, options: KeyOptions & { mode: TokenWriteMode; json?: boolean }) => {
      const input = parseSessionJson(argumentOrStdin(sessionArg, io, 'the session JSON'));
      const domain = loadDomain(options.rulesDir);
      const keyring = keyringFor(options, io);
      try {
        let tier: Tier | undefined;
        if (input.tier !== undefined) {
          tier = typeof input.tier === 'string' ? domain.scale.tier(input.tier) : undefined;
          if (tier === undefined) throw new TokenError('BAD_PRIORITY', `"tier" must be one of ${domain.scale.tiers.map((t) => t.name).join(', ')}`);
        } else if (input.rawPriority !== undefined) {
          tier = normalizeRaw(domain.scale, input.rawPriority as number).tier;
        } else {
          throw new UsageError('session JSON needs "tier" or "rawPriority"');
        }
        const issuedAt = input.issuedAt === undefined ? Date.now() : parseTime(String(input.issuedAt), '"issuedAt"');
        const writer = createTokenWriter({ domain, keyring, mode: options.mode });
        const issued = writer.issue({
          sessionId: input.sessionId as string,
          accountId: input.accountId as string,
          classification: input.classification as string,
          tier,
          issuedAt,
          ttlMs: (input.ttlMs ?? DEFAULT_TTL_MS) as number,
        });
        if (options.json) printJson(io, { token: issued, version: options.mode === 'legacy' ? 1 : 2, kid: keyring.currentKid, tier: tier.name });
        else io.out(issued);
        setExit(ExitCode.ok);
      } catch (err) {
        if (err instanceof TokenError) setExit(rejected(io, err, options.json === true));
        else throw err;
      }
    });

  token
    .command('decode')
    .description('Verify a token and print its claims with the verdict; exit 1 when it is rejected.')
    .argument('[token]', 'the token, or - (the default) to read it from stdin')
    .addOption(new Option('--mode <mode>', 'dual reads v1 and v2; legacy reads v1 only, as an old build does; v2 reads v2 only, as after the migration').choices(TOKEN_READ_MODES).default('dual'))
    .option('--now <time>', 'check expiry at this time (epoch ms or ISO-8601) instead of now')
    .addOption(keyFileOption())
    .addOption(rulesDirOption())
    .option('--json', 'print the verdict and claims as JSON')
    .addHelpText(
      'after',
      `
Rejection reasons: MALFORMED, OVERSIZED, BAD_SIGNATURE, UNKNOWN_KID, EXPIRED,
UNSUPPORTED_VERSION, UNKNOWN_CLASSIFICATION, BAD_PRIORITY. A rejected token shows no claims.

Example:
  $ prio token decode --mode legacy --json v2.k2026a.SwEB….dlKr…
  {"verdict": "rejected", "reason": "UNSUPPORTED_VERSION", ...}   (exit 1)`,
    )
    .action((tokenArg: string | undefined, options: KeyOptions & { mode: TokenReadMode; now?: string; json?: boolean }) => {
      const text = argumentOrStdin(tokenArg, io, 'the token');
      const nowMs = options.now === undefined ? Date.now() : parseTime(options.now, '--now');
      const domain = loadDomain(options.rulesDir);
      const reader = createTokenReader({ domain, keyring: keyringFor(options, io), mode: options.mode });
      const result = reader.read(text, nowMs);
      if (!result.ok) {
        if (options.json) printJson(io, { verdict: 'rejected', reason: result.reason, message: result.message });
        else io.out(`verdict: REJECTED ${result.reason}: ${result.message}`);
        setExit(ExitCode.findings);
        return;
      }
      const c = result.claims;
      if (options.json) {
        printJson(io, { verdict: 'valid', claims: c, tier: result.tier.name, tierValue: result.tier.value, legacyLevel: result.legacyLevel });
      } else {
        io.out(`verdict: VALID (read in ${options.mode} mode)`);
        io.out(
          table(['field', 'value'], [
            ['version', String(c.version)],
            ['sessionId', c.sessionId],
            ['accountId', c.accountId],
            ['classification', c.classification],
            ['rawPriority', `${c.rawPriority} (${c.scheme})`],
            ['tier', `${result.tier.name} (value ${result.tier.value})`],
            ['legacyLevel', String(result.legacyLevel)],
            ['issuedAt', new Date(c.issuedAt).toISOString()],
            ['expiresAt', new Date(c.expiresAt).toISOString()],
          ]),
        );
      }
      setExit(ExitCode.ok);
    });

  token
    .command('normalize')
    .description('Show the tier and legacy level a raw priority value (0-150) reads as, or the whole table.')
    .argument('[value]', 'raw priority value, an integer 0-150')
    .option('--table', 'print the whole 0-150 table and the reverse (tier → legacy level) table')
    .addOption(rulesDirOption())
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
Raw 0-3 are legacy levels; 4-150 fall in the tier bands of rules/priorities.json (values above
the top tier's value read as the top tier). Anything else is rejected (exit 1).

Example:
  $ prio token normalize 40
  $ prio token normalize --table --json`,
    )
    .action((value: string | undefined, options: { table?: boolean; rulesDir: string; json?: boolean }) => {
      const { scale } = loadDomain(options.rulesDir);
      if (options.table) {
        if (value !== undefined) throw new UsageError('give either a VALUE or --table, not both');
        const forward = normalizationTable(scale);
        const reverse = reverseTable(scale);
        if (options.json) {
          printJson(io, { forward, reverse });
        } else {
          io.out('raw value → tier (and the legacy level it writes back as)');
          io.out(table(['raw', 'scheme', 'band', 'tier', 'legacyLevel'], forward.map((r) => [r.raw, r.scheme, r.band === undefined ? 'legacy level' : `${r.band.from}-${r.band.to}`, r.tier, r.legacyLevel])));
          io.out('\ntier → legacy level → tier it reads back as');
          io.out(table(['tier', 'value', 'legacyLevel', 'readsBackAs'], reverse.map((r) => [r.tier, r.tierValue, r.legacyLevel, r.readsBackAs])));
        }
        setExit(ExitCode.ok);
        return;
      }
      if (value === undefined) throw new UsageError('give a VALUE (0-150) or --table');
      // Number('') is 0 and Number(' 7 ') is 7: only plain decimal text counts as a value.
      const raw = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
      try {
        const n = normalizeRaw(scale, raw);
        const row = { raw, scheme: raw <= 3 ? 'legacy' : 'p-scale', tier: n.tier.name, tierValue: n.tier.value, legacyLevel: n.legacyLevel };
        if (options.json) printJson(io, row);
        else io.out(table(['raw', 'scheme', 'tier', 'tierValue', 'legacyLevel'], [[row.raw, row.scheme, row.tier, row.tierValue, row.legacyLevel]]));
        setExit(ExitCode.ok);
      } catch (err) {
        if (!(err instanceof TokenError)) throw err;
        setExit(rejected(io, new TokenError(err.reason, `"${value}": ${err.message.slice(err.reason.length + 2)}`), options.json === true));
      }
    });

  token
    .command('keygen')
    .description('Generate a random 32-byte key as kid:base64secret, ready for PRIO_TOKEN_KEYS or a key file.')
    .argument('<kid>', 'key id, 1-32 characters of A-Z a-z 0-9 _ -')
    .addHelpText(
      'after',
      `
Rotation: add the new key AFTER the current one everywhere (verify only), then move it first
(sign), then drop the old key once every token it signed has expired. See docs/tokens.md.

Example:
  $ export PRIO_TOKEN_KEYS="$PRIO_TOKEN_KEYS,$(prio token keygen k2026b)"   # step 1: verify only`,
    )
    .option('--json', 'print {"kid", "secret", "entry"} as JSON')
    .action((kid: string, options: { json?: boolean }) => {
      if (!KID_PATTERN.test(kid)) throw new UsageError(`kid "${kid}" must be 1-32 characters of A-Z a-z 0-9 _ -`);
      const secret = randomBytes(32).toString('base64');
      if (options.json === true) printJson(io, { kid, secret, entry: `${kid}:${secret}` });
      else io.out(`${kid}:${secret}`);
      setExit(ExitCode.ok);
    });
  aliasRulesDir(token, io, '--rules <dir>');
};
