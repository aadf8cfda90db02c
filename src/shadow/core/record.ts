/**
 * The request record (shadow/schema/request-record.schema.json) and its validation: the one
 * validator of request-log records, used by the shadow replay, `sched simulate` (which adds
 * its own optional fields) and `shadow produce` (which reads the key and time by its rules).
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


function isNonEmptyString(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0;
}

function stringProblem(value: Record<string, unknown>, field: string): string {
  return value[field] === undefined ? `missing required field "${field}"` : `field "${field}" must be a non-empty string`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed JSON value against the record schema. Returns `undefined` when it is a valid
 * {@link RequestRecord}, otherwise one sentence naming the first offending field. Returning a
 * string instead of an issue object keeps the valid path free of allocation.
 */
export function checkRecord(value: unknown): string | undefined {
  const checked = validateRecord(value);
  return typeof checked === 'string' ? checked : undefined;
}

/**
 * Validates a parsed JSON value as a request record: the record (in the fixed shape of
 * {@link shapeRecord}, its time already read, so {@link recordTimeMs} costs nothing), or one
 * sentence naming the first offending field.
 */
export function validateRecord(value: unknown): RequestRecord | string {
  if (!isPlainObject(value)) return 'not a JSON object';
  const shaped = shapeRecord(value);
  const problem = checkShaped(shaped);
  return problem === undefined ? (shaped as unknown as RequestRecord) : problem;
}

/**
 * The epoch milliseconds of a `timestamp` value under the schema's rule (ISO-8601 with a zone,
 * or integer epoch milliseconds within Date's range), or undefined when the value breaks it.
 */
export function timestampMs(ts: unknown): number | undefined {
  const ms = timestampField(ts);
  return ms !== undefined && Number.isNaN(ms) ? Date.parse(ts as string) : ms;
}

/** {@link timestampMs} without the Date.parse: NaN for a valid string only Date.parse can read. */
function timestampField(ts: unknown): number | undefined {
  if (typeof ts === 'string') {
    const ms = canonicalUtcMs(ts);
    return Number.isNaN(ms) && !ISO_TIMESTAMP.test(ts) ? undefined : ms;
  }
  return typeof ts === 'number' && Number.isInteger(ts) && ts >= 0 && ts <= MAX_EPOCH_MS ? ts : undefined;
}

/**
 * Where {@link checkShaped} leaves a valid record's time in epoch milliseconds (NaN when only
 * Date.parse can read it), so the token check does not parse the timestamp a second time.
 * Symbol-keyed: no field of a record can collide with it, and it never reaches any JSON.
 */
const TIME_MS: unique symbol = Symbol('prio.shadow.timeMs');

/** A record as {@link shapeRecord} lays it out: its fields in one fixed shape, plus its time once checked. */
type ShapedRecord = Record<keyof RequestRecord, unknown> & { [TIME_MS]: number };

/**
 * The record's fields copied into one fixed object shape (extra properties dropped).
 *
 * Why: JSON.parse gives every combination of present optional fields its own hidden class,
 * so each property read downstream (validation, both rule sets, the judge) would be a slow
 * megamorphic lookup; measured, those reads cost more than the parse itself. Reading each field
 * once here and handing out a same-shaped object keeps every later read monomorphic.
 */
function shapeRecord(value: Record<string, unknown>): ShapedRecord {
  return {
    requestId: value.requestId,
    timestamp: value.timestamp,
    accountId: value.accountId,
    modelId: value.modelId,
    region: value.region,
    classification: value.classification,
    serviceTier: value.serviceTier,
    requestType: value.requestType,
    sessionToken: value.sessionToken,
    observed: value.observed,
    [TIME_MS]: Number.NaN,
  };
}

/** {@link checkRecord} for a value already passed through {@link shapeRecord}. */
function checkShaped(value: ShapedRecord): string | undefined {
  // Spelled out rather than looped over a list of names: fixed property loads stay fast.
  if (!isNonEmptyString(value.requestId)) return stringProblem(value, 'requestId');
  if (!isNonEmptyString(value.accountId)) return stringProblem(value, 'accountId');
  if (!isNonEmptyString(value.modelId)) return stringProblem(value, 'modelId');
  if (!isNonEmptyString(value.region)) return stringProblem(value, 'region');
  if (!isNonEmptyString(value.classification)) return stringProblem(value, 'classification');
  const ts = value.timestamp;
  if (ts === undefined) return 'missing required field "timestamp"';
  const ms = timestampField(ts);
  if (ms === undefined) return 'field "timestamp" must be ISO-8601 with a zone or epoch milliseconds';
  value[TIME_MS] = ms;
  const serviceTier = value.serviceTier;
  if (serviceTier !== undefined && serviceTier !== null && typeof serviceTier !== 'string') return 'field "serviceTier" must be a string or null';
  const requestType = value.requestType;
  if (requestType !== undefined && requestType !== null && typeof requestType !== 'string') return 'field "requestType" must be a string or null';
  const token = value.sessionToken;
  if (token !== undefined && token !== null && (typeof token !== 'string' || token.length === 0)) {
    return 'field "sessionToken" must be a non-empty string or null';
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

/**
 * The epoch milliseconds of a timestamp in the form loggers write (`2026-03-02T10:00:00.123Z`),
 * or NaN for any other string. One pass over the characters both validates and decodes, so the
 * hot path neither runs the general pattern nor calls Date.parse (which costs more than the rest
 * of a record's judging). Accepts only strings the general pattern accepts; days past the
 * month's end roll over exactly as JavaScript's Date does (Feb 30 = Mar 2).
 */
function canonicalUtcMs(ts: string): number {
  if (ts.length !== 24) return NaN;
  if (ts.charCodeAt(4) !== 0x2d || ts.charCodeAt(7) !== 0x2d || ts.charCodeAt(10) !== 0x54 || ts.charCodeAt(13) !== 0x3a) return NaN;
  if (ts.charCodeAt(16) !== 0x3a || ts.charCodeAt(19) !== 0x2e || ts.charCodeAt(23) !== 0x5a) return NaN;
  const century = twoDigits(ts, 0);
  const yearOfCentury = twoDigits(ts, 2);
  const month = twoDigits(ts, 5);
  const day = twoDigits(ts, 8);
  const hour = twoDigits(ts, 11);
  const minute = twoDigits(ts, 14);
  const second = twoDigits(ts, 17);
  const centiseconds = twoDigits(ts, 20);
  const lastDigit = ts.charCodeAt(22) - 48;
  // twoDigits gives -1 for a non-digit, so one OR of all fields finds any.
  if ((century | yearOfCentury | month | day | hour | minute | second | centiseconds) < 0 || lastDigit < 0 || lastDigit > 9) return NaN;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return NaN;
  const ms = hour * 3_600_000 + minute * 60_000 + second * 1000 + centiseconds * 10 + lastDigit;
  return daysFromCivil(century * 100 + yearOfCentury, month, day) * 86_400_000 + ms;
}

/** The two decimal digits at `at`, or -1 if either is not a digit. */
function twoDigits(s: string, at: number): number {
  const tens = s.charCodeAt(at) - 48;
  const ones = s.charCodeAt(at + 1) - 48;
  return tens < 0 || tens > 9 || ones < 0 || ones > 9 ? -1 : tens * 10 + ones;
}

/** The record's arrival time in epoch milliseconds (validated records only). */
export function recordTimeMs(record: RequestRecord): number {
  // Already computed when the record was validated (see TIME_MS); any other record is parsed here.
  const checked = (record as Partial<ShapedRecord>)[TIME_MS];
  if (checked !== undefined && !Number.isNaN(checked)) return checked;
  const ts = record.timestamp;
  if (typeof ts === 'number') return ts;
  const fast = canonicalUtcMs(ts);
  return Number.isNaN(fast) ? Date.parse(ts) : fast;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
 * Days past the month's end roll over exactly as JavaScript's Date does (Feb 30 = Mar 2).
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
