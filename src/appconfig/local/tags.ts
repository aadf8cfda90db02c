/**
 * Resource tags: given at creation (`Tags`) or through TagResource/UntagResource, read with
 * ListTagsForResource by ARN. The endpoint has no account or region of its own, so tags are
 * kept by the resource path of the ARN (`application/abc1234/environment/def5678`): any
 * `arn:aws:appconfig:<region>:<account>:` prefix names the same resource.
 */
import type { LocalContext } from './context.js';
import { badRequest, jsonBody, notFound, route, type ApiRequest, type Route } from './protocol.js';

const MAX_TAGS = 50;

/** The `Tags` member of an input, checked (string keys 1–128, values 0–256, at most 50). */
export function tagsOf(input: Record<string, unknown>): Record<string, string> | undefined {
  const raw = input.Tags;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('Tags must be a map of string keys to string values.');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_TAGS) throw badRequest(`Tags may hold at most ${MAX_TAGS} tags.`);
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 128) throw badRequest(`Tag key "${k}" must be 1 to 128 characters long.`);
    if (typeof v !== 'string' || v.length > 256) throw badRequest(`Tag value of "${k}" must be a string of at most 256 characters.`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Records the tags given at a resource's creation. */
export function tagOnCreate(ctx: LocalContext, resourcePath: string, tags: Record<string, string> | undefined): void {
  if (tags !== undefined && Object.keys(tags).length > 0) ctx.state.tags[resourcePath] = { ...tags };
}

/** The resource path of an AppConfig ARN, checked to name an existing resource. */
function resourceOf(ctx: LocalContext, arn: string): string {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== 'appconfig') throw badRequest(`${arn} is not an AppConfig resource ARN.`);
  const path = parts.slice(5).join(':');
  const segments = path.split('/');
  const [kind, id, childKind, childId] = segments;
  if (kind === 'application' && id !== undefined) {
    if (childKind === undefined) ctx.application(id);
    else if (childKind === 'environment' && childId !== undefined && segments.length === 4) ctx.environment(id, childId);
    else if (childKind === 'configurationprofile' && childId !== undefined && segments.length === 4) ctx.profile(id, childId);
    else throw notFound(`No AppConfig resource ${path}.`, { ResourceName: arn });
    return path;
  }
  if (kind === 'deploymentstrategy' && id !== undefined && segments.length === 2) {
    ctx.strategy(id);
    return path;
  }
  throw notFound(`No AppConfig resource ${path}.`, { ResourceName: arn });
}

export function tagRoutes(ctx: LocalContext): Route[] {
  const arnOf = (req: ApiRequest) => req.params.ResourceArn ?? '';
  return [
    route('GET', '/tags/{ResourceArn}', 'ListTagsForResource', 'control', (req) => ({
      status: 200,
      body: { Tags: ctx.state.tags[resourceOf(ctx, arnOf(req))] ?? {} },
    })),
    route('POST', '/tags/{ResourceArn}', 'TagResource', 'control', (req) => {
      const path = resourceOf(ctx, arnOf(req));
      const tags = tagsOf(jsonBody(req)) ?? {};
      const merged = { ...(ctx.state.tags[path] ?? {}), ...tags };
      if (Object.keys(merged).length > MAX_TAGS) throw badRequest(`A resource may hold at most ${MAX_TAGS} tags.`);
      ctx.state.tags[path] = merged;
      ctx.save();
      return { status: 204 };
    }),
    route('DELETE', '/tags/{ResourceArn}', 'UntagResource', 'control', (req) => {
      const path = resourceOf(ctx, arnOf(req));
      const keys = req.query.getAll('tagKeys');
      const kept = Object.fromEntries(Object.entries(ctx.state.tags[path] ?? {}).filter(([k]) => !keys.includes(k)));
      if (Object.keys(kept).length === 0) delete ctx.state.tags[path];
      else ctx.state.tags[path] = kept;
      ctx.save();
      return { status: 204 };
    }),
  ];
}
