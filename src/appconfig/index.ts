/**
 * AppConfig: the configuration profiles as documents, the runtime provider that serves them to
 * `prio serve`, the deploy pipeline and `prio appconfig local`.
 */
export type { ConfigProvider, ConfigSnapshot, ConfigSource, ProviderStatus } from './snapshot.js';

// --- documents and runtime provider (src/appconfig/documents, src/appconfig/provider) ---------
export {
  buildSnapshot,
  compileComposed,
  compileLegacy,
  composeRuleSet,
  createCompileCache,
  FLAGS_SCHEMA_VERSION,
  parseFlagsDocument,
  parseOverridesDocument,
  patchFlagsDocument,
  type CompileCache,
  type DocumentInput,
  type LegacyMapping,
  type OverridesDocument,
  type SnapshotInputs,
  type SnapshotMeta,
} from './documents/index.js';
export {
  AgentSource,
  AppConfigDataSource,
  BAKED_VERSION,
  bakedSnapshot,
  createConfigProvider,
  DEFAULT_AGENT_URL,
  DEFAULT_BACKOFF,
  DEFAULT_START_TIMEOUT_MS,
  FILE_PROFILE_NAMES,
  FileSource,
  loadBaked,
  PushSource,
  RuntimeConfigProvider,
  staticProvider,
  type AgentSourceOptions,
  type AppConfigDataSourceOptions,
  type Backoff,
  type BakedConfig,
  type ConfigProviderOptions,
  type DocumentSource,
  type FileSourceOptions,
  type ProfileIdentifiers,
  type ProviderLogger,
  type RawDocument,
  type SourceSink,
} from './provider/index.js';
// --- end of documents and runtime provider ----------------------------------------------------

// --- the deploy pipeline (src/appconfig/pipeline) and `prio appconfig local` (src/appconfig/local) ---
export * from './pipeline/index.js';
export * from './local/index.js';
