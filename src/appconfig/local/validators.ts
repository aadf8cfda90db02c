/**
 * JSON_SCHEMA validators of configuration profiles. AppConfig checks a validator's schema when
 * the profile is created and runs it against the version being deployed at StartDeployment
 * (and at ValidateConfiguration); a failure is a BadRequestException whose Details list each
 * violation (InvalidConfiguration: Constraint, Location, Reason, Type, Value).
 */
import { schemaValidator, type SchemaValidator } from '../../validation/index.js';
import type { HostedVersionRecord, ProfileRecord } from './model.js';
import { badRequest } from './protocol.js';

const compiled = new Map<string, SchemaValidator>();

/** Compiles a validator's schema once per distinct text; an invalid schema is a BadRequest. */
export function compileValidator(content: string): SchemaValidator {
  const known = compiled.get(content);
  if (known !== undefined) return known;
  let schema: unknown;
  try {
    schema = JSON.parse(content);
  } catch {
    throw badRequest('The JSON_SCHEMA validator content is not valid JSON.');
  }
  if (schema === null || typeof schema !== 'object') throw badRequest('The JSON_SCHEMA validator content must be a JSON Schema object.');
  let validator: SchemaValidator;
  try {
    validator = schemaValidator(schema);
  } catch (err) {
    throw badRequest(`The JSON_SCHEMA validator content is not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}`);
  }
  compiled.set(content, validator);
  return validator;
}

/** Runs every JSON_SCHEMA validator of `profile` on `version`; throws BadRequest listing each violation. */
export function validateContent(profile: ProfileRecord, version: HostedVersionRecord): void {
  const schemas = profile.validators.filter((v) => v.type === 'JSON_SCHEMA');
  if (schemas.length === 0) return;
  const text = Buffer.from(version.content, 'base64').toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(profile, version, [
      { Constraint: 'json', Location: '', Reason: `the configuration is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, Type: 'JSON_SCHEMA' },
    ]);
  }
  const details = schemas.flatMap((v) =>
    compileValidator(v.content)(doc, `version ${version.versionNumber}`).map((issue) => ({
      Constraint: issue.message,
      Location: issue.pointer === '' ? '/' : issue.pointer,
      Reason: `${issue.pointer === '' ? '/' : issue.pointer}: ${issue.message}`,
      Type: 'JSON_SCHEMA',
      Value: valueAt(doc, issue.pointer),
    })),
  );
  if (details.length > 0) throw invalid(profile, version, details);
}

function invalid(profile: ProfileRecord, version: HostedVersionRecord, details: readonly Record<string, string | undefined>[]) {
  const first = details[0];
  return badRequest(
    `Configuration version ${version.versionNumber} of profile ${profile.id} failed validation: ${first?.Reason ?? 'invalid'}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`,
    { Reason: 'InvalidConfiguration', Details: { InvalidConfiguration: details } },
  );
}

/** The JSON text of the value at an RFC 6901 pointer, for the violation's Value (undefined when absent). */
function valueAt(doc: unknown, pointer: string): string | undefined {
  let node: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  if (node === undefined) return undefined;
  const text = JSON.stringify(node);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
