/**
 * What `prio serve` reads from and writes to the wire: request attributes from headers (gateway)
 * or a JSON body (decision mode), and the headers that tell a client how it was ranked. Pure.
 */
import type { ServiceRequest } from './decide.js';

/** Request headers the gateway reads. Lower case, as Node hands them over. */
export const HEADER = {
  account: 'x-prio-account',
  classification: 'x-prio-classification',
  serviceTier: 'x-prio-service-tier',
  requestType: 'x-prio-request-type',
  model: 'x-prio-model',
  region: 'x-prio-region',
  sessionToken: 'x-prio-session-token',
  sessionId: 'x-prio-session-id',
  requestId: 'x-request-id',
} as const;

/** Response headers: how the request was ranked (and the token to hand back next time). */
export const RESPONSE_HEADER = {
  tier: 'x-prio-tier',
  qos: 'x-prio-qos',
  legacyLevel: 'x-prio-legacy-level',
  source: 'x-prio-ranked-by',
  configVersion: 'x-prio-config-version',
  sessionToken: 'x-prio-session-token',
  requestId: 'x-request-id',
} as const;

/** A bad request the service answers 400 to, before anything is ranked. */
export interface WireProblem {
  readonly message: string;
}

export interface WireRequest {
  readonly request: ServiceRequest;
  readonly sessionToken: string | undefined;
  readonly sessionId: string | undefined;
  readonly requestId: string | undefined;
}

type HeaderValue = string | string[] | undefined;

function single(value: HeaderValue): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v === '' ? undefined : v;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MODEL = Buffer.from('model');

function skipWhitespace(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** `i` at an opening quote: the index of its closing quote, or -1 (unterminated, or a raw control character). */
function stringEnd(b: Buffer, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i] as number;
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
    else if (c < 0x20) return -1;
  }
  return -1;
}

/** The JSON string from `start` (its opening quote) to `end` (its closing quote), decoded. */
function stringAt(b: Buffer, start: number, end: number): string | undefined {
  const escape = b.indexOf(BACKSLASH, start);
  if (escape === -1 || escape > end) return b.toString('utf8', start + 1, end);
  try {
    return JSON.parse(b.toString('utf8', start, end + 1)) as string;
  } catch {
    return undefined;
  }
}

/** `i` at the first byte of a value: the index just past it, or -1. Nested values are skipped by their brackets and strings. */
function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) {
    const end = stringEnd(b, i);
    return end < 0 ? -1 : end + 1;
  }
  if (c === 0x7b || c === 0x5b) {
    const closers: number[] = [];
    for (; i < b.length; i++) {
      const d = b[i] as number;
      if (d === QUOTE) {
        i = stringEnd(b, i);
        if (i < 0) return -1;
      } else if (d === 0x7b) closers.push(0x7d);
      else if (d === 0x5b) closers.push(0x5d);
      else if (d === 0x7d || d === 0x5d) {
        if (closers.pop() !== d) return -1;
        if (closers.length === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number or a literal: up to the next delimiter.
  const start = i;
  while (i < b.length) {
    const d = b[i] as number;
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    i++;
  }
  return i > start ? i : -1;
}

/**
 * The top-level string `model` of an OpenAI-style JSON body, if the body is a JSON object.
 * The body is scanned, not parsed: the top-level keys are read and every other value is
 * skipped by its brackets and strings, so a large chat history costs a pass over its bytes
 * and no objects (JSON.parse of the whole body did both). A body whose top level is not an
 * object, or is broken around its keys, yields no model; what is inside the other values is
 * the upstream's to judge, as the body is forwarded unchanged. The last `model` key wins, as in
 * JSON.parse.
 */
export function modelOfBody(body: Buffer, contentType: string | undefined): string | undefined {
  if (body.length === 0 || (contentType !== undefined && !contentType.includes('json'))) return undefined;
  let i = skipWhitespace(body, 0);
  if (body[i] !== 0x7b) return undefined;
  i = skipWhitespace(body, i + 1);
  let model: string | undefined;
  if (body[i] !== 0x7d) {
    for (;;) {
      if (body[i] !== QUOTE) return undefined;
      const keyEnd = stringEnd(body, i);
      if (keyEnd < 0) return undefined;
      const isModel = (keyEnd - i - 1 === MODEL.length && body.compare(MODEL, 0, MODEL.length, i + 1, keyEnd) === 0) || (body.indexOf(BACKSLASH, i) < keyEnd && stringAt(body, i, keyEnd) === 'model');
      i = skipWhitespace(body, keyEnd + 1);
      if (body[i] !== 0x3a) return undefined;
      i = skipWhitespace(body, i + 1);
      if (isModel) model = undefined;
      if (isModel && body[i] === QUOTE) {
        const end = stringEnd(body, i);
        if (end < 0) return undefined;
        model = stringAt(body, i, end);
        i = end + 1;
      } else {
        i = skipValue(body, i);
        if (i < 0) return undefined;
      }
      i = skipWhitespace(body, i);
      if (body[i] === 0x2c) i = skipWhitespace(body, i + 1);
      else if (body[i] === 0x7d) break;
      else return undefined;
    }
  }
  if (skipWhitespace(body, i + 1) !== body.length) return undefined;
  return model === '' ? undefined : model;
}

/** Reads a gateway request's attributes from its headers (and body model); a problem names the missing header. */
export function fromHeaders(headers: Readonly<Record<string, HeaderValue>>, bodyModel: string | undefined, defaultRegion: string): WireRequest | WireProblem {
  const accountId = single(headers[HEADER.account]);
  if (accountId === undefined) return { message: `missing header ${HEADER.account}` };
  const classification = single(headers[HEADER.classification]);
  if (classification === undefined) return { message: `missing header ${HEADER.classification}` };
  const modelId = single(headers[HEADER.model]) ?? bodyModel;
  if (modelId === undefined) return { message: `no model: send header ${HEADER.model} or a JSON body with "model"` };
  return {
    request: {
      accountId,
      classification,
      modelId,
      region: single(headers[HEADER.region]) ?? defaultRegion,
      serviceTier: single(headers[HEADER.serviceTier]) ?? null,
      requestType: single(headers[HEADER.requestType]) ?? null,
    },
    sessionToken: single(headers[HEADER.sessionToken]),
    sessionId: single(headers[HEADER.sessionId]),
    requestId: single(headers[HEADER.requestId]),
  };
}

function optionalString(doc: Record<string, unknown>, field: string): string | undefined | WireProblem {
  const v = doc[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') return { message: `field "${field}" must be a string` };
  return v === '' ? undefined : v;
}

function isProblem(v: unknown): v is WireProblem {
  return typeof v === 'object' && v !== null && 'message' in v;
}

/**
 * Reads a decision request: a JSON object with the request record's attribute fields
 * (accountId, classification, modelId required; serviceTier, requestType, region, sessionToken,
 * sessionId, requestId optional).
 */
export function fromDecisionBody(body: Buffer, defaultRegion: string): WireRequest | WireProblem {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return { message: 'body is not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { message: 'body must be a JSON object' };
  const d = doc as Record<string, unknown>;
  const fields: Record<string, string | undefined> = {};
  for (const f of ['accountId', 'classification', 'modelId', 'region', 'serviceTier', 'requestType', 'sessionToken', 'sessionId', 'requestId']) {
    const v = optionalString(d, f);
    if (isProblem(v)) return v;
    fields[f] = v;
  }
  for (const f of ['accountId', 'classification', 'modelId']) if (fields[f] === undefined) return { message: `missing field "${f}"` };
  return {
    request: {
      accountId: fields.accountId as string,
      classification: fields.classification as string,
      modelId: fields.modelId as string,
      region: fields.region ?? defaultRegion,
      serviceTier: fields.serviceTier ?? null,
      requestType: fields.requestType ?? null,
    },
    sessionToken: fields.sessionToken,
    sessionId: fields.sessionId,
    requestId: fields.requestId,
  };
}

export function isWireProblem(v: WireRequest | WireProblem): v is WireProblem {
  return 'message' in v;
}

/** Printable ASCII, 1-255 characters: what a token can carry as a session id. */
export function usableSessionId(id: string | undefined): boolean {
  return id !== undefined && id.length <= 255 && /^[\x21-\x7e]+$/.test(id);
}
