/**
 * Reads a request log (NDJSON, the record format in ARCHITECTURE.md) into simulator requests.
 * A line that is not a usable record is quarantined with its line number and reason, never
 * dropped silently. Records are validated by the shadow replay's validator, so both accept and
 * refuse the same lines with the same words; the simulator's own optional fields (serviceTimeMs,
 * deadlineMs) are checked here. Pure: the caller reads the file.
 */
import { recordTimeMs, validateRecord } from '../../shadow/port.js';
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
  const record = validateRecord(value);
  if (typeof record === 'string') return record;
  const r = value as Record<string, unknown>;
  for (const field of ['serviceTimeMs', 'deadlineMs'] as const) {
    const v = r[field];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) return `field "${field}" must be a number >= 0`;
  }
  const attributes: LoggedAttributes = {
    classification: record.classification,
    serviceTier: record.serviceTier ?? null,
    requestType: record.requestType ?? null,
    modelId: record.modelId,
    region: record.region,
    accountId: record.accountId,
  };
  return {
    requestId: record.requestId,
    arrivalMs: recordTimeMs(record),
    accountId: attributes.accountId,
    modelId: attributes.modelId,
    ...(typeof r.serviceTimeMs === 'number' ? { serviceTimeMs: r.serviceTimeMs } : {}),
    ...(typeof r.deadlineMs === 'number' ? { deadlineMs: r.deadlineMs } : {}),
    attributes,
  };
}
