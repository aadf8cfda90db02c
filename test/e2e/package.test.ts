/**
 * The package as a user gets it (issue 16.1): `npm pack`, the tarball installed into an empty
 * directory, then `npx prio demo` runs from there and a plain .mjs file — and a TypeScript file,
 * through the exports map's types — imports the core ('prio') and the adapters ('prio/adapters').
 *
 * The install is offline, from npm's local cache (the one `npm ci` filled), so the test needs no
 * network. `npm pack --ignore-scripts`: the global setup has just built dist/ from the current
 * sources, so `prepare` would only build it a second time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/index.js';
import { runCli } from '../support/cli.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir = '';
let app = '';
let packed: { filename: string; files: { path: string }[] } | undefined;

function run(command: string, args: readonly string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the packed tarball, installed into an empty directory', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'prio-package-'));
    app = join(dir, 'app');
    mkdirSync(app);
    const json = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    packed = (JSON.parse(json) as (typeof packed)[])[0];
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    const install = run(npm, ['install', '--offline', '--no-audit', '--no-fund', join(dir, packed?.filename ?? 'missing.tgz')], app);
    if (install.code !== 0) throw new Error(`npm install of the tarball failed (exit ${install.code}):\n${install.err}`);
  }, 240_000);

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('holds the compiled code, its types and the data the CLI reads, and no TypeScript sources', () => {
    const files = new Set(packed?.files.map((f) => f.path));
    for (const f of ['bin/prio.js', 'dist/src/cli/main.js', 'dist/src/cli/commands.json', 'dist/src/core.js', 'dist/src/core.d.ts', 'dist/src/adapters.d.ts', 'dist/src/shadow/parallel/worker.js', 'rules/legacy.json', 'rules/capacity.json', 'shadow/gates/default.json', 'shadow/samples/requests.ndjson', 'migrations/001-legacy-4-to-7-tier.json']) {
      expect([f, files.has(f)]).toEqual([f, true]);
    }
    expect([...files].filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it('npx prio demo runs there, on the data shipped in the package, and prio --version is the package version', () => {
    const demo = run(npm, ['exec', '--offline', '--', 'prio', 'demo'], app);
    expect(demo.err).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.out).toMatch(/gate: PASSED/);
    // The bundled sample log, read from inside the package: all 400 observed records checked.
    const report = JSON.parse(readFileSync(join(app, 'reports', 'shadow', 'report.json'), 'utf8')) as { format: string; fidelity: { checked: number } };
    expect([report.format, report.fidelity.checked]).toEqual(['prio.shadow-report/1', 400]);
    const version = run(join(app, 'node_modules', '.bin', 'prio'), ['--version'], app);
    expect(version.out.trim()).toBe((JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  }, 60_000);

  it("a plain .mjs file imports the core from 'prio' and the adapters from 'prio/adapters'", () => {
    writeFileSync(
      join(app, 'use.mjs'),
      `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { compileRuleSet, parseCatalog, parsePriorities, decide } from 'prio';
import { loadDomain, DEFAULT_RULES_DIR } from 'prio/adapters';
const rulesDir = join(dirname(createRequire(import.meta.url).resolve('prio/package.json')), 'rules');
const read = (f) => JSON.parse(readFileSync(join(rulesDir, f), 'utf8'));
const catalog = parseCatalog(read('catalog.json'), 'catalog.json');
const scale = parsePriorities(read('priorities.json'), 'priorities.json', catalog);
const rules = compileRuleSet(read('service_tier.json'), 'service_tier.json', { catalog, scale });
const outcome = rules.evaluate({ classification: 'PTV1', serviceTier: 'PRIORITY', requestType: 'ON_DEMAND' });
console.log(JSON.stringify({ tier: outcome.tier.name, decide: typeof decide, rulesDir: DEFAULT_RULES_DIR === rulesDir, tiers: loadDomain().scale.tiers.length }));
`,
    );
    const r = run(process.execPath, ['use.mjs'], app);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ tier: expect.stringMatching(/^P\d+$/) as unknown, decide: 'function', rulesDir: true, tiers: 7 });
  });

  it('TypeScript resolves both entries with their types, and refuses a wrong use of them', () => {
    const source = (tierType: string) => `import { compileRuleSet, type CompiledRuleSet, type Outcome } from 'prio';
import { loadDomain, type EventStore } from 'prio/adapters';
const rules: CompiledRuleSet = compileRuleSet({}, 'x.json', loadDomain());
const outcome: Outcome = rules.evaluate({ classification: 'PTV1' });
export const tier: ${tierType} = outcome.tier.name;
export type Store = EventStore;
`;
    const tsc = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const check = (file: string) =>
      run(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(PACKAGE_ROOT, 'node_modules', '@types'), file], app);
    writeFileSync(join(app, 'good.ts'), source('string'));
    writeFileSync(join(app, 'bad.ts'), source('number'));
    const good = check('good.ts');
    expect(good.out + good.err).toBe('');
    expect(good.code).toBe(0);
    const bad = check('bad.ts');
    expect(bad.out).toMatch(/bad\.ts.*Type 'string' is not assignable to type 'number'/);
  }, 120_000);
});

/** Every package the compiled module `file` reaches through its static and dynamic imports (JSON aside). */
function reachedPackages(file: string, seen = new Set<string>(), found = new Set<string>()): Set<string> {
  if (seen.has(file)) return found;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|import\('([^']+)'\)/g)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? '';
    if (!spec.startsWith('.')) found.add(spec);
    else if (!spec.endsWith('.json')) reachedPackages(resolve(dirname(file), spec), seen, found);
  }
  return found;
}

describe("the entries' import graphs (compiled dist/)", () => {
  // The modules the purity rule (eslint.config.js) keeps out of the core folders.
  const io = /^(node:)?(fs|net|http|https|http2|tls|dgram|dns|cluster|worker_threads|child_process|process)(\/.*)?$|^(kafkajs|pino|undici|prom-client)(\/.*)?$|^@aws-sdk\//;

  it("'prio' (the core) reaches no I/O module, while 'prio/adapters' does", () => {
    const core = [...reachedPackages(join(PACKAGE_ROOT, 'dist', 'src', 'core.js'))];
    expect(core.filter((p) => io.test(p))).toEqual([]);
    expect(core).toContain('ajv');
    const adapters = [...reachedPackages(join(PACKAGE_ROOT, 'dist', 'src', 'adapters.js'))];
    expect(adapters.filter((p) => io.test(p))).toEqual(expect.arrayContaining(['node:fs', 'kafkajs', '@aws-sdk/client-dynamodb']));
  });
});

describe('prio --help from the build', () => {
  it('lists every command as the whole command tree does, though it loads no command group', async () => {
    // The built bin lists the groups from dist/src/cli/commands.json; in-process, run from the
    // sources, there is no manifest and every group is loaded.
    const built = run(process.execPath, [join(PACKAGE_ROOT, 'bin', 'prio.js'), '--help'], PACKAGE_ROOT);
    const full = await runCli('--help');
    expect(built.code).toBe(0);
    expect(built.out).toBe(full.out);
    expect(built.out).toMatch(/\n {2}appconfig +Take rule sets/);
  });
});
