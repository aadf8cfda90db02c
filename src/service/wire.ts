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

/** The `model` of an OpenAI-style JSON body, if the body is such JSON. */
export function modelOfBody(body: Buffer, contentType: string | undefined): string | undefined {
  if (body.length === 0 || (contentType !== undefined && !contentType.includes('json'))) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { model?: unknown }).model === 'string') {
      const model = (parsed as { model: string }).model;
      return model === '' ? undefined : model;
    }
  } catch {
    // not JSON: the model must come from the header
  }
  return undefined;
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
