/**
 * The request record (shadow/schema/request-record.schema.json) and its validation.
 *
 * The JSON Schema is the documented contract; the checks below are the same rules written by
 * hand because they run once per replayed record and a generic validator would dominate the
 * replay's cost. A test runs both over generated and mutated records and requires them to agree.
 * Pure: no I/O.
 */

export interface ObservedOutcome {
  /** 0-3 a legacy level, 4-150 a P-scale value, or a tier name such as "P75". */
  readonly priority: number | string;
  readonly qos?: number;
}

export interface RequestRecord {
  readonly requestId: string;
  /** ISO-8601 with a zone, or epoch milliseconds. */
  readonly timestamp: string | number;
  readonly accountId: string;
  readonly modelId: string;
  readonly region: string;
  readonly classification: string;
  readonly serviceTier?: string | null;
  readonly requestType?: string | null;
  readonly sessionToken?: string | null;
  readonly observed?: ObservedOutcome | null;
}

/** Records above this size are quarantined unread (a log line or message value of 1 MiB is not a request). */
export const MAX_RECORD_BYTES = 1024 * 1024;

const ISO_TIMESTAMP =
  /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$/;
const TIER_NAME = /^P[0-9]{1,3}$/;
const MAX_EPOCH_MS = 8_640_000_000_000_000;

const REQUIRED_STRINGS = ['requestId', 'accountId', 'modelId', 'region', 'classification'] as const;
const OPTIONAL_STRINGS = ['serviceTier', 'requestType'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed JSON value against the record schema. Returns `undefined` when it is a valid
 * {@link RequestRecord}, otherwise one sentence naming the first offending field. Returning a
 * string instead of an issue object keeps the valid path free of allocation.
 */
export function checkRecord(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'not a JSON object';
  for (const field of REQUIRED_STRINGS) {
    const v = value[field];
    if (v === undefined) return `missing required field "${field}"`;
    if (typeof v !== 'string' || v.length === 0) return `field "${field}" must be a non-empty string`;
  }
  const ts = value.timestamp;
  if (ts === undefined) return 'missing required field "timestamp"';
  if (typeof ts === 'string') {
    if (!ISO_TIMESTAMP.test(ts)) return 'field "timestamp" must be ISO-8601 with a zone or epoch milliseconds';
  } else if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0 || ts > MAX_EPOCH_MS) {
    return 'field "timestamp" must be ISO-8601 with a zone or epoch milliseconds';
  }
  for (const field of OPTIONAL_STRINGS) {
    const v = value[field];
    if (v !== undefined && v !== null && typeof v !== 'string') return `field "${field}" must be a string`;
  }
  const token = value.sessionToken;
  if (token !== undefined && token !== null && (typeof token !== 'string' || token.length === 0)) {
    return 'field "sessionToken" must be a non-empty string';
  }
  const observed = value.observed;
  if (observed !== undefined && observed !== null) {
    if (!isPlainObject(observed)) return 'field "observed" must be an object';
    const p = observed.priority;
    if (p === undefined) return 'missing required field "observed.priority"';
    if (typeof p === 'number') {
      if (!Number.isInteger(p) || p < 0 || p > 150) return 'field "observed.priority" must be an integer 0-150 or a tier name';
    } else if (typeof p !== 'string' || !TIER_NAME.test(p)) {
      return 'field "observed.priority" must be an integer 0-150 or a tier name';
    }
    const q = observed.qos;
    if (q !== undefined && (typeof q !== 'number' || !Number.isInteger(q) || q < 0)) {
      return 'field "observed.qos" must be a non-negative integer';
    }
  }
  return undefined;
}

/** The record's arrival time in epoch milliseconds (validated records only). */
export function recordTimeMs(record: RequestRecord): number {
  return typeof record.timestamp === 'number' ? record.timestamp : Date.parse(record.timestamp);
}
