/**
 * AppConfig's JSON Schema validator receives one self-contained schema: it cannot follow a
 * `$ref` into another file. The overrides schema refers to the rule-set schema's definitions
 * (one definition of an override, not two), so before it becomes a validator those references
 * are inlined: the referenced file's definitions are copied in and the refs made local. Pure:
 * the caller loads the files.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const EXTERNAL_REF = /^([^#]+\.json)#\/definitions\/([^/]+)$/;

function collectFiles(node: Json, into: Set<string>): void {
  if (Array.isArray(node)) node.forEach((n) => collectFiles(n, into));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      const m = k === '$ref' && typeof v === 'string' ? EXTERNAL_REF.exec(v) : null;
      if (m?.[1] !== undefined) into.add(m[1]);
      else collectFiles(v, into);
    }
  }
}

function localizeRefs(node: Json): Json {
  if (Array.isArray(node)) return node.map(localizeRefs);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => {
      if (k === '$ref' && typeof v === 'string') return [k, v.replace(EXTERNAL_REF, '#/definitions/$2')];
      return [k, localizeRefs(v)];
    }),
  );
}

/**
 * The schema with every `<file>.json#/definitions/<name>` reference made local, the definitions
 * of the referenced files (which may refer to each other by local refs) copied under
 * `definitions`. The result is compact JSON, the validator content AppConfig stores.
 * @throws Error when a copied definition would replace a different one of the same name.
 */
export function inlineSchema(schema: object, load: (file: string) => object): string {
  const root = JSON.parse(JSON.stringify(schema)) as { [key: string]: Json };
  const files = new Set<string>();
  collectFiles(root, files);
  const definitions: { [key: string]: Json } = { ...((root.definitions as { [key: string]: Json } | undefined) ?? {}) };
  for (const file of files) {
    const other = load(file) as { definitions?: { [key: string]: Json } };
    for (const [name, def] of Object.entries(other.definitions ?? {})) {
      const existing = definitions[name];
      if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(def)) {
        throw new Error(`cannot inline ${file}: definition "${name}" differs from the one already present`);
      }
      definitions[name] = def;
    }
  }
  const inlined = localizeRefs(root) as { [key: string]: Json };
  // $id names the file it came from: a validator is anonymous, and a relative $ref must not resolve against it.
  delete inlined.$id;
  if (Object.keys(definitions).length > 0) inlined.definitions = definitions;
  return JSON.stringify(inlined);
}
