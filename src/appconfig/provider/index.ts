/**
 * The runtime configuration provider (the I/O shell around ../documents): sources in order of
 * preference — AppConfigData, the AppConfig Agent, a watched local file — and the rules baked
 * into the package when nothing answers at start. See docs/appconfig.md, "Runtime provider".
 */
import { pino } from 'pino';
import { AgentSource, type AgentSourceOptions } from './agent-source.js';
import { AppConfigDataSource, type AppConfigDataSourceOptions } from './appconfigdata-source.js';
import { loadBaked } from './baked.js';
import { FileSource, type FileSourceOptions } from './file-source.js';
import { RuntimeConfigProvider, type ProviderLogger } from './provider.js';
import type { Backoff, DocumentSource } from './source.js';
import type { ConfigProvider } from '../snapshot.js';

export { AgentSource, DEFAULT_AGENT_URL, type AgentSourceOptions } from './agent-source.js';
export { AppConfigDataSource, type AppConfigDataSourceOptions, type ProfileIdentifiers } from './appconfigdata-source.js';
export { BAKED_VERSION, bakedSnapshot, loadBaked, type BakedConfig } from './baked.js';
export { FILE_PROFILE_NAMES, FileSource, type FileSourceOptions } from './file-source.js';
export { RuntimeConfigProvider, staticProvider, type ProviderLogger } from './provider.js';
export { backoffDelay, contentLabel, DEFAULT_BACKOFF, PROFILES, PushSource, type Backoff, type DocumentSource, type ProfileName, type RawDocument, type SourceSink } from './source.js';

export interface ConfigProviderOptions {
  /** AWS AppConfigData (the real SDK client): the preferred source. */
  readonly appConfig?: AppConfigDataSourceOptions;
  /** The AppConfig Agent's local endpoint. */
  readonly agent?: AgentSourceOptions;
  /** A watched directory (rules.json, flags.json, overrides.json) or a single rules file. */
  readonly file?: FileSourceOptions;
  /** Delays between retries after a source fails, unless a source's own options say (default 1 s doubling to 60 s, jittered). */
  readonly backoff?: Backoff;
  /** How long `start` waits for a source before running on the baked rules, in ms (default 5000). */
  readonly startTimeoutMs?: number;
  /** Where the packaged configuration lives (default: the package's rules/). */
  readonly rulesDir?: string;
  /** Default: pino on stderr, named prio-config. */
  readonly logger?: ProviderLogger;
  /** Clock for snapshot ages (default Date.now). */
  readonly now?: () => number;
}

export const DEFAULT_START_TIMEOUT_MS = 5_000;

/**
 * A provider over the sources the options name. Nothing runs until `start()`.
 * @throws FileReadError or ConfigError when the packaged rules themselves do not load.
 */
export function createConfigProvider(options: ConfigProviderOptions = {}): ConfigProvider {
  const baked = loadBaked(options.rulesDir);
  const packagedFlags = baked.documents.find((d) => d.profile === 'flags');
  const sources: DocumentSource[] = [];
  const backoff = options.backoff === undefined ? {} : { backoff: options.backoff };
  if (options.appConfig !== undefined) sources.push(new AppConfigDataSource({ ...backoff, ...options.appConfig }));
  if (options.agent !== undefined) sources.push(new AgentSource({ ...backoff, ...options.agent }));
  if (options.file !== undefined && packagedFlags !== undefined) sources.push(new FileSource(options.file, packagedFlags));
  return new RuntimeConfigProvider({
    sources,
    baked,
    startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    logger: options.logger ?? pino({ name: 'prio-config' }, pino.destination(2)),
    now: options.now ?? Date.now,
  });
}
