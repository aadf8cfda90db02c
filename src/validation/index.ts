/**
 * Configuration validation shared by every part that reads operator-edited JSON
 * (catalog, priorities, rule sets, gates, migration definitions, records).
 *
 * Every problem is reported as a {@link ConfigIssue}: the file, a JSON pointer into it and a
 * sentence a person can act on. Pure: callers read the file; this module never touches I/O.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';

export interface ConfigIssue {
  /** File the value came from, as the user named it (or a label such as `<stdin>`). */
  readonly file: string;
  /** RFC 6901 JSON pointer to the offending value; `''` is the whole document. */
  readonly pointer: string;
  readonly message: string;
}

/** Thrown by loaders when a configuration document is rejected; carries every issue found. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}${issue.pointer === '' ? '' : `#${issue.pointer}`}: ${issue.message}`;
}

/** Appends a key or index to a JSON pointer, escaping `~` and `/` as RFC 6901 requires. */
export function pointerTo(base: string, ...segments: readonly (string | number)[]): string {
  return segments.reduce<string>(
    (acc, s) => `${acc}/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`,
    base,
  );
}

export type SchemaValidator = (doc: unknown, file: string) => ConfigIssue[];

// ajv-formats ships CommonJS with a default export; under NodeNext it arrives as a namespace.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? (addFormatsModule as unknown as FormatsPlugin);

const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
addFormats(ajv);

const compiled = new WeakMap<object, ValidateFunction>();

/** Compiles a JSON Schema once (cached per schema object) into a validator returning issues. */
export function schemaValidator(schema: object): SchemaValidator {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  const v = validate;
  return (doc, file) => (v(doc) ? [] : (v.errors ?? []).map((e) => toIssue(e, file)));
}

function toIssue(error: ErrorObject, file: string): ConfigIssue {
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') {
    message = `unknown property "${String(params.additionalProperty)}"`;
  } else if (error.keyword === 'enum') {
    message = `must be one of ${JSON.stringify(params.allowedValues)}`;
  } else if (error.keyword === 'required') {
    message = `missing required property "${String(params.missingProperty)}"`;
  }
  return { file, pointer: error.instancePath, message };
}
