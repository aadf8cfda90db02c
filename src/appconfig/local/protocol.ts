/**
 * The AWS REST-JSON protocol as the AppConfig SDK clients speak it: operations bound to a
 * method and a path template, inputs in path labels, query strings, headers and a JSON (or raw)
 * body; errors as an `x-amzn-errortype` header plus a JSON body with `Message`, which the SDK
 * turns into its typed exception classes.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type ErrorType =
  | 'BadRequestException'
  | 'ConflictException'
  | 'ResourceNotFoundException'
  | 'ServiceQuotaExceededException'
  | 'InternalServerException'
  | 'ThrottlingException'
  | 'PayloadTooLargeException';

/** The HTTP status each error is modelled with in the AppConfig and AppConfigData service models. */
const ERROR_STATUS: Readonly<Record<ErrorType, number>> = {
  BadRequestException: 400,
  ConflictException: 409,
  ResourceNotFoundException: 404,
  ServiceQuotaExceededException: 402,
  InternalServerException: 500,
  ThrottlingException: 429,
  PayloadTooLargeException: 413,
};

/** An error the endpoint answers with, exactly as AppConfig would. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly type: ErrorType,
    message: string,
    /** Extra members of the error shape, e.g. `ResourceName`, `Reason`, `Details`. */
    readonly fields: Readonly<Record<string, unknown>> = {},
    readonly status: number = ERROR_STATUS[type],
  ) {
    super(message);
  }
}

export const badRequest = (message: string, fields?: Record<string, unknown>) => new ApiError('BadRequestException', message, fields);
export const notFound = (message: string, fields?: Record<string, unknown>) => new ApiError('ResourceNotFoundException', message, fields);
export const conflict = (message: string) => new ApiError('ConflictException', message);

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /** Path labels, URI-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** An object is sent as JSON; a Buffer as is; undefined as an empty body. */
  readonly body?: Buffer | object;
}

export type Plane = 'control' | 'data';

export interface Route {
  readonly method: string;
  /** The operation's name in the service model, e.g. `StartDeployment`; faults are keyed by it. */
  readonly operation: string;
  readonly plane: Plane;
  readonly pattern: RegExp;
  readonly labels: readonly string[];
  readonly handle: (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;
}

/** Binds an operation to `method template`, with `{Label}` segments as in the service model. */
export function route(method: string, template: string, operation: string, plane: Plane, handle: Route['handle']): Route {
  const labels: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      const m = /^\{(\w+)\}$/.exec(segment);
      if (m === null) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      labels.push(m[1] ?? '');
      return '([^/]+)';
    })
    .join('/');
  return { method, operation, plane, pattern: new RegExp(`^${source}/?$`), labels, handle };
}

export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (m === null) continue;
    const params: Record<string, string> = {};
    r.labels.forEach((label, i) => {
      params[label] = decodeURIComponent(m[i + 1] ?? '');
    });
    return { route: r, params };
  }
  return undefined;
}

/** The request body as a JSON object; an empty body is `{}`. */
export function jsonBody(req: ApiRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

interface StringRule {
  readonly required?: boolean;
  readonly max?: number;
  readonly min?: number;
}

/** A string member of an input, checked as the service model constrains it. */
export function stringField(input: Record<string, unknown>, name: string, rule: StringRule = {}): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) {
    if (rule.required === true) throw badRequest(`${name} is required.`);
    return undefined;
  }
  if (typeof value !== 'string') throw badRequest(`${name} must be a string.`);
  if (value.length < (rule.min ?? (rule.required === true ? 1 : 0))) throw badRequest(`${name} must not be empty.`);
  if (rule.max !== undefined && value.length > rule.max) throw badRequest(`${name} must be at most ${rule.max} characters long.`);
  return value;
}

/** A number member of an input within [min, max]. */
export function numberField(input: Record<string, unknown>, name: string, rule: { required?: boolean; min: number; max: number }): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) {
    if (rule.required === true) throw badRequest(`${name} is required.`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badRequest(`${name} must be a number.`);
  if (value < rule.min || value > rule.max) throw badRequest(`${name} must be between ${rule.min} and ${rule.max}, got ${value}.`);
  return value;
}

/** One request header as a string (the first, when repeated). */
export function header(req: ApiRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** MaxResults/NextToken pagination over a list, with opaque offset tokens. */
export function paginate<T>(items: readonly T[], query: URLSearchParams, limit = 50): { Items: T[]; NextToken?: string } {
  const maxRaw = query.get('max_results');
  const max = maxRaw === null ? limit : Number(maxRaw);
  if (!Number.isInteger(max) || max < 1 || max > 50) throw badRequest(`MaxResults must be an integer between 1 and 50, got ${maxRaw}.`);
  const tokenRaw = query.get('next_token');
  let start = 0;
  if (tokenRaw !== null && tokenRaw !== '') {
    start = Number(Buffer.from(tokenRaw, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw badRequest('NextToken is not valid.');
  }
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max), 'utf8').toString('base64url') : undefined;
  return next === undefined ? { Items: page } : { Items: page, NextToken: next };
}

/** Drops undefined members so responses carry only what is set, as AWS does. */
export function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
