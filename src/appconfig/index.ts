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
  FLAGS_SCHEMA_VERSION,
  parseFlagsDocument,
  parseOverridesDocument,
  patchFlagsDocument,
  type DocumentInput,
  type LegacyMapping,
  type OverridesDocument,
  type SnapshotInputs,
  type SnapshotMeta,
} from './documents/index.js';
export {
  BAKED_VERSION,
  bakedSnapshot,
  createConfigProvider,
  DEFAULT_START_TIMEOUT_MS,
  FILE_PROFILE_NAMES,
  staticProvider,
  type ConfigProviderOptions,
  type FileSourceOptions,
  type ProviderLogger,
} from './provider/index.js';
// --- end of documents and runtime provider ----------------------------------------------------
