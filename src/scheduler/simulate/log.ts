/**
 * Reads a request log (NDJSON, the record format in ARCHITECTURE.md) into simulator requests.
 * A line that is not a usable record is quarantined with its line number and reason, never
 * dropped silently. Pure: the caller reads the file.
 */
import type { SimRequest } from './simulator.js';

/** The record fields the rules read, as they appear in the log. */
export interface LoggedAttributes {
  readonly classification: string;
  readonly serviceTier: string | null;
  readonly requestType: string | null;
  readonly modelId: string;
  readonly region: string;
  readonly accountId: string;
}

export interface QuarantinedLine {
  readonly line: number;
  readonly reason: string;
}

export interface ParsedLog {
  readonly requests: SimRequest<LoggedAttributes>[];
  readonly quarantined: QuarantinedLine[];
}

const REQUIRED = ['requestId', 'accountId', 'modelId', 'region', 'classification'] as const;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function parseLog(text: string): ParsedLog {
  return parseLogLines(text.split('\n').map((raw, i) => ({ line: i + 1, text: raw })));
}

/** One log line with its number, as a source hands it out (`problem` when the source could not read it whole). */
export interface LogLine {
  readonly line: number;
  readonly text: string;
  readonly problem?: string;
}

/** {@link parseLog} over lines already split (by the shadow file source: NDJSON, .gz or stdin alike). */
export function parseLogLines(lines: Iterable<LogLine>): ParsedLog {
  const requests: SimRequest<LoggedAttributes>[] = [];
  const quarantined: QuarantinedLine[] = [];
  for (const { line: number, text, problem } of lines) {
    if (problem !== undefined) {
      quarantined.push({ line: number, reason: problem });
      continue;
    }
    const line = text.trim();
    if (line === '') continue;
    const result = parseLine(line);
    if (typeof result === 'string') quarantined.push({ line: number, reason: result });
    else requests.push(result);
  }
  return { requests, quarantined };
}

function parseLine(line: string): SimRequest<LoggedAttributes> | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  for (const field of REQUIRED) {
    if (typeof r[field] !== 'string' || r[field] === '') return `field "${field}" must be a non-empty string`;
  }
  const arrivalMs = timestampMs(r.timestamp);
  if (arrivalMs === undefined) return 'field "timestamp" must be ISO-8601 with a zone or epoch milliseconds';
  for (const field of ['serviceTier', 'requestType'] as const) {
    if (r[field] !== undefined && r[field] !== null && typeof r[field] !== 'string') return `field "${field}" must be a string or null`;
  }
  for (const field of ['serviceTimeMs', 'deadlineMs'] as const) {
    const v = r[field];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) return `field "${field}" must be a number >= 0`;
  }
  const attributes: LoggedAttributes = {
    classification: r.classification as string,
    serviceTier: (r.serviceTier as string | null | undefined) ?? null,
    requestType: (r.requestType as string | null | undefined) ?? null,
    modelId: r.modelId as string,
    region: r.region as string,
    accountId: r.accountId as string,
  };
  return {
    requestId: r.requestId as string,
    arrivalMs,
    accountId: attributes.accountId,
    modelId: attributes.modelId,
    ...(typeof r.serviceTimeMs === 'number' ? { serviceTimeMs: r.serviceTimeMs } : {}),
    ...(typeof r.deadlineMs === 'number' ? { deadlineMs: r.deadlineMs } : {}),
    attributes,
  };
}

function timestampMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || !ISO_WITH_ZONE.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
