// Lint runs inside `npm test`; type-aware rules catch floating promises and unsafe `any`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The functional core: folders and files that decide, compute and render, and import no I/O.
 * Paths relative to src/; a folder covers everything under it. Globs for parts that do not
 * exist yet (appconfig/documents, service/decide.ts) hold them to the rule from their first line.
 *
 * migration/ is core as a whole, service.ts and controller.ts included: they are the
 * application service and controller loop, and do their I/O through ports they are handed
 * (an EventStore, a LeaseManager, a clock, a sleep), importing those ports by type only. They
 * need no I/O module, so the rule keeps them that way.
 *
 * shadow/ and scheduler/ are core in core/ only: shadow's shell is its sources, sinks, worker
 * threads, runner and merge; scheduler's is runtime.ts, which puts the core on the event loop.
 * shadow/source.ts is the port its sources implement and the core consumes.
 */
const CORE_FOLDERS = ['catalog', 'rules', 'tokens', 'scheduler/core', 'shadow/core', 'migration', 'random', 'validation', 'appconfig/documents'];
const CORE_FILES = [
  'shadow/source.ts',
  // The shadow port: the record functions other parts (the simulator) share, re-exported from the core.
  'shadow/port.ts',
  'appconfig/snapshot.ts',
  'service/decide.ts',
  // The event-store port: types and typed errors the core imports by value, kept free of I/O.
  'eventstore/port.ts',
];

/** Modules that reach outside the process (files, network, threads, processes) or are clients of something that does. */
const IO_MODULES = [
  { regex: '^(node:)?(fs|net|http|https|http2|tls|dgram|dns|cluster|worker_threads|child_process|process)(/.*)?$', message: 'core code does no I/O: take what it needs as an argument (a port) and do the I/O in the shell' },
  { regex: '^(kafkajs|pino|undici|prom-client)(/.*)?$', message: 'core code does no I/O: clients, loggers and metrics belong to the shell, passed in as ports' },
  { regex: '^@aws-sdk/', message: 'core code does no I/O: AWS clients belong to the shell, passed in as ports' },
];

/**
 * Parts import each other only through their index.ts. For a file `depth` folders below src/,
 * `../` repeated `depth` times leads to src/, and the next segment names another part; any
 * path into it other than its index.js is refused. (Imports within a part, and of JSON schemas
 * outside src/, never take that shape.) A part's port.ts is public too: a port without its
 * adapters, so the core can take the port without loading the adapters' I/O.
 */
function partBoundary(depth) {
  const up = '\\.\\./'.repeat(depth);
  return { regex: `^${up}[^./][^/]*/(?!(?:index|port)\\.js$).+`, message: "import another part through its index.ts (its public surface) or its port.ts, not a file inside it" };
}

const DEPTHS = [1, 2, 3, 4];
const globAt = (depth) => `src/${'*/'.repeat(depth)}*.ts`;
const segments = (path) => path.split('/').length;

/** The globs matching core files exactly `depth` folders below src/. */
function coreGlobsAt(depth) {
  const folders = CORE_FOLDERS.filter((f) => segments(f) <= depth).map((f) => `src/${f}/${'*/'.repeat(depth - segments(f))}*.ts`);
  const files = CORE_FILES.filter((f) => segments(f) - 1 === depth).map((f) => `src/${f}`);
  return [...folders, ...files];
}

const restricted = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.prio/', 'out/', 'reports/', '.stryker-tmp/', 'scripts/kafka/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // One rule option set per file (a later block replaces an earlier one's options, it does not
  // add to them), so core blocks repeat the part boundary next to the I/O ban.
  ...DEPTHS.map((depth) => ({ files: [globAt(depth)], rules: restricted([partBoundary(depth)]) })),
  ...DEPTHS.map((depth) => ({ files: coreGlobsAt(depth), rules: restricted([...IO_MODULES, partBoundary(depth)]) })).filter((block) => block.files.length > 0),
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
