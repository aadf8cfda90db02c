/**
 * `prio store …`: create the DynamoDB table, verify and (explicitly) repair file streams.
 * Also the one place that turns `--store` options into an event store, for every command
 * that needs one (see migrate.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import {
  CorruptStream,
  DynamoDbEventStore,
  FileEventStore,
  StoreUnavailable,
  createEventTable,
  dynamoDbClient,
  isLocalEndpoint,
  type EventStore,
} from '../eventstore/index.js';
import { TooManyConflicts } from '../migration/index.js';
import type { Register } from './main.js';
import { ExitCode, printJson, table, UsageError, type Io } from './output.js';

const DEFAULT_TABLE = 'prio-events';

export interface StoreOptions {
  store?: string;
  storeDir?: string;
  table?: string;
  endpoint?: string;
  region?: string;
}

/** The file store's directory when neither --store-dir nor PRIO_STORE_DIR names one. */
const DEFAULT_STORE_DIR = '.prio';

const storeDirOption = () => new Option('--store-dir <dir>', `file store directory (default ${DEFAULT_STORE_DIR} under the current directory)`).env('PRIO_STORE_DIR');

function storeDirOf(storeDir: string | undefined): string {
  return storeDir ?? DEFAULT_STORE_DIR;
}

/** The file store of a command that only reads or repairs: its directory must exist (exit 2 otherwise). */
function existingFileStore(storeDir: string | undefined): FileEventStore {
  const dir = storeDirOf(storeDir);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: no such directory (no file store there; see --store-dir)`);
  return fileStoreAt(storeDir);
}

function fileStoreAt(storeDir: string | undefined): FileEventStore {
  return new FileEventStore({ dir: resolve(storeDir ?? DEFAULT_STORE_DIR) });
}

/** Declares the options that choose an event store (on any command that uses one). */
export function addStoreOptions(command: Command): Command {
  return command
    .addOption(new Option('--store <kind>', 'event store: file (embedded, no setup) or dynamodb').choices(['file', 'dynamodb']).env('PRIO_STORE'))
    .addOption(storeDirOption())
    .addOption(new Option('--table <name>', `DynamoDB table (default ${DEFAULT_TABLE})`).env('PRIO_DYNAMODB_TABLE'))
    .addOption(new Option('--endpoint <url>', 'DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local').env('DYNAMODB_ENDPOINT'))
    .addOption(new Option('--region <region>', 'AWS region (default us-east-1)').env('AWS_REGION'));
}

function storeKind(options: StoreOptions): 'file' | 'dynamodb' {
  return options.store === 'dynamodb' ? 'dynamodb' : 'file';
}

/** Where the store lives, for messages: `file:.prio` or `dynamodb:prio-events@http://…`. */
export function describeStore(options: StoreOptions): string {
  return storeKind(options) === 'dynamodb'
    ? `dynamodb:${options.table ?? DEFAULT_TABLE}${options.endpoint ? `@${options.endpoint}` : ''}`
    : `file:${options.storeDir ?? DEFAULT_STORE_DIR}`;
}

function checkEndpoint(options: StoreOptions): void {
  if (options.endpoint === undefined) return;
  try {
    new URL(options.endpoint);
  } catch {
    throw new UsageError(`--endpoint must be a URL such as http://127.0.0.1:8000, got "${options.endpoint}"`);
  }
}

/**
 * The AWS SDK prints a multi-line notice about the Node versions its *future* releases will
 * need on every first call; in a CLI whose output people read and scripts parse it is noise
 * (the installed SDK works on this Node). A user who sets the variable keeps their choice.
 */
function quietSdkNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

export function openStore(options: StoreOptions): EventStore {
  if (storeKind(options) === 'dynamodb') {
    quietSdkNotice();
    checkEndpoint(options);
    return new DynamoDbEventStore({
      table: options.table ?? DEFAULT_TABLE,
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.region !== undefined ? { region: options.region } : {}),
    });
  }
  return fileStoreAt(options.storeDir);
}

const DYNAMODB_THROTTLING = new Set(['ProvisionedThroughputExceededException', 'RequestLimitExceeded']);

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

/** Messages for store failures a user can act on; anything else is rethrown. */
export function reportStoreError(err: unknown, io: Io): ExitCode | undefined {
  if (err instanceof StoreUnavailable) {
    io.err(`error: ${err.message}`);
    return ExitCode.usage;
  }
  if (err instanceof CorruptStream) {
    io.err(`error: ${err.message}\n(nothing was changed; \`prio store verify\` lists damage, \`prio store repair STREAM\` quarantines a torn last line)`);
    return ExitCode.findings;
  }
  if (err instanceof TooManyConflicts) {
    io.err(`error: ${err.message}; other writers keep changing this migration, try again`);
    return ExitCode.findings;
  }
  const name = err instanceof Error ? err.name : '';
  // Names only DynamoDB uses: without this a throttled store call, caught by a command that also
  // talks to AppConfig (prio rollout), would be reported as AppConfig's.
  if (DYNAMODB_THROTTLING.has(name)) {
    io.err(`error: DynamoDB throttled the request (${name}): ${firstLine(err)}; retry later, or raise the table's capacity`);
    return ExitCode.usage;
  }
  if (['CredentialsProviderError', 'UnrecognizedClientException', 'ECONNREFUSED'].includes(name) || (err instanceof Error && /ECONNREFUSED|connect/.test(err.message))) {
    io.err(`error: cannot reach DynamoDB: ${(err as Error).message}`);
    return ExitCode.usage;
  }
  return undefined;
}

export const registerStore: Register = (program, io, setExit) => {
  const store = program
    .command('store')
    .description('Set up and check event stores (the file store needs no setup).')
    .addHelpText('after', '\nExamples:\n  prio store init --dynamodb prio-events --endpoint http://127.0.0.1:8000\n  prio store verify\n  prio store repair migration-001-legacy-4-to-7-tier');

  addStoreOptions(
    store
      .command('init')
      .description('Create the DynamoDB events table (partition key stream, sort key version; on-demand billing). Safe to re-run.')
      .requiredOption('--dynamodb <table>', 'table to create')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', '\nExample:\n  prio store init --dynamodb prio-events --endpoint http://127.0.0.1:8000'),
  ).action(async (options: StoreOptions & { dynamodb: string; json?: boolean }) => {
    checkEndpoint(options);
    if (options.endpoint === undefined && process.env.AWS_ACCESS_KEY_ID === undefined && process.env.AWS_PROFILE === undefined) {
      io.err('note: no --endpoint: using the AWS default credential chain against the real service');
    }
    quietSdkNotice();
    const client = dynamoDbClient({ ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}), ...(options.region !== undefined ? { region: options.region } : {}) });
    try {
      const outcome = await createEventTable(client, options.dynamodb);
      if (options.json === true) printJson(io, { table: options.dynamodb, outcome, local: isLocalEndpoint(options.endpoint) });
      else io.out(outcome === 'created' ? `created table ${options.dynamodb}` : `table ${options.dynamodb} already exists`);
      setExit(ExitCode.ok);
    } catch (err) {
      setExit(reportStoreError(err, io) ?? rethrow(err));
    } finally {
      client.destroy();
    }
  });

  store
    .command('verify')
    .description('Check every line of every file-store stream: checksums, versions, torn last writes.')
    .addOption(storeDirOption())
    .option('--json', 'print findings as JSON')
    .addHelpText('after', '\nExits 1 when a stream is damaged.\nExample:\n  prio store verify --store-dir .prio')
    .action(async (options: { storeDir?: string; json?: boolean }) => {
      const files = existingFileStore(options.storeDir);
      const streams = await files.listStreams();
      const rows = [];
      for (const s of streams) {
        const damage = await files.verify(s);
        rows.push({ stream: s, ok: damage === undefined, ...(damage ? { line: damage.line, offset: damage.offset, reason: damage.reason } : {}) });
      }
      if (options.json === true) printJson(io, rows);
      else if (rows.length === 0) io.out('no streams');
      else io.out(table(['stream', 'state', 'detail'], rows.map((r) => [r.stream, r.ok ? 'ok' : 'DAMAGED', r.ok ? '' : `line ${r.line}, byte ${r.offset}: ${r.reason}`])));
      setExit(rows.every((r) => r.ok) ? ExitCode.ok : ExitCode.findings);
    });

  store
    .command('repair')
    .description('Move a torn last line of a file-store stream into a quarantine file beside it. Any other damage is refused.')
    .argument('<stream>', 'stream name (see prio store verify)')
    .addOption(storeDirOption())
    .option('--json', 'print {"stream", "repaired", "quarantine"} as JSON')
    .addHelpText('after', '\nNothing is deleted: the torn bytes are kept in STREAM.ndjson.torn-<time>.\nExample:\n  prio store repair migration-001-legacy-4-to-7-tier')
    .action(async (stream: string, options: { storeDir?: string; json?: boolean }) => {
      const files = existingFileStore(options.storeDir);
      // A stream that does not exist is not "intact": it is a typo or the wrong --store-dir.
      if (!(await files.listStreams()).includes(stream)) {
        throw new UsageError(`${stream}: no such stream in ${storeDirOf(options.storeDir)} (prio store verify lists the streams)`);
      }
      try {
        const quarantine = await files.repairTornTail(stream);
        if (options.json === true) printJson(io, { stream, repaired: quarantine !== undefined, quarantine: quarantine ?? null });
        else io.out(quarantine === undefined ? `${stream}: intact, nothing to repair` : `${stream}: torn last line moved to ${quarantine}`);
        setExit(ExitCode.ok);
      } catch (err) {
        if (err instanceof CorruptStream) {
          // Not the generic hint, which points back at this very command.
          io.err(
            `error: ${err.message}\n(repair only moves a torn last line aside; this damage is elsewhere, so nothing was changed: ` +
              `restore ${stream} from a backup, or inspect the line named above)`,
          );
          setExit(ExitCode.findings);
          return;
        }
        setExit(reportStoreError(err, io) ?? rethrow(err));
      }
    });
};

function rethrow(err: unknown): never {
  throw err;
}
