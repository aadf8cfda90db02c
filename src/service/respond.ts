/**
 * What the service writes back and records, shared by the decision and gateway paths: JSON
 * answers, the ranking as response headers, and the request log's record of a request.
 */
import type { ServerResponse } from 'node:http';
import type { ConfigSnapshot } from '../appconfig/index.js';
import type { RequestAttributes } from '../rules/index.js';
import type { RequestRecord } from '../shadow/index.js';
import type { Ranked, ServiceRequest } from './decide.js';
import { RESPONSE_HEADER } from './wire.js';

/** Writes a JSON answer, unless the response has begun or the client is gone. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** How the request was ranked, as response headers (flat `[name, value, …]`, as `writeHead` and the forwarder take them). */
export function rankingHeaders(r: Ranked, snapshot: ConfigSnapshot, requestId: string): string[] {
  const h = [
    RESPONSE_HEADER.tier,
    r.tier.name,
    RESPONSE_HEADER.qos,
    String(r.qos),
    RESPONSE_HEADER.legacyLevel,
    String(r.legacyLevel),
    RESPONSE_HEADER.source,
    r.source,
    RESPONSE_HEADER.configVersion,
    snapshot.version,
    RESPONSE_HEADER.requestId,
    requestId,
  ];
  if (r.sessionToken !== undefined) h.push(RESPONSE_HEADER.sessionToken, r.sessionToken);
  return h;
}

/** `rankingHeaders` as an object, with `extra` added (for answers the service writes itself). */
export function headerObject(flat: readonly string[], extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return Object.assign(out, extra);
}

/** A finished request as the request log keeps it: the shadow record schema, plus how it ended. */
export type ServiceRecord = RequestRecord & { outcome: string; status: number };

export function requestRecord(requestId: string, arrivalMs: number, request: RequestAttributes & ServiceRequest, r: Ranked | undefined, outcome: string, status: number): ServiceRecord {
  return {
    requestId,
    timestamp: new Date(arrivalMs).toISOString(),
    accountId: request.accountId,
    modelId: request.modelId,
    region: request.region,
    classification: request.classification,
    ...(request.serviceTier != null ? { serviceTier: request.serviceTier } : {}),
    ...(request.requestType != null ? { requestType: request.requestType } : {}),
    ...(r?.sessionToken !== undefined ? { sessionToken: r.sessionToken } : {}),
    ...(r !== undefined ? { observed: { priority: r.loggedPriority, qos: r.qos } } : {}),
    outcome,
    status,
  };
}
