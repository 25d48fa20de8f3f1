/**
 * "Did you mean": the keys a zod schema allows at a path of the file, and the
 * one closest to a misspelt key. The schema is read through its public JSON
 * Schema (`z.toJSONSchema`), not zod's internals.
 */
import { z } from 'zod';

/** The parts of a JSON Schema (zod's `z.toJSONSchema`) read here. */
export interface JsonSchemaLike {
  type?: string | string[];
  properties?: Record<string, JsonSchemaLike>;
  items?: JsonSchemaLike;
  additionalProperties?: JsonSchemaLike | boolean;
  propertyNames?: { enum?: string[] };
  anyOf?: JsonSchemaLike[];
}

const jsonSchemas = new WeakMap<object, JsonSchemaLike>();

/** A zod schema as JSON Schema (its public description, made once per schema). */
export function jsonSchemaOf(schema: z.ZodType): JsonSchemaLike {
  let js = jsonSchemas.get(schema);
  if (js === undefined) {
    js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaLike;
    jsonSchemas.set(schema, js);
  }
  return js;
}

/** The object (or array) a node stands for, looking through `nullable` (anyOf with null). */
function concrete(node: JsonSchemaLike): JsonSchemaLike {
  if (node.anyOf === undefined) return node;
  return node.anyOf.find((n) => n.type !== 'null') ?? node;
}

/** The keys of the object schema at `path` (array indices step into elements); empty if none is there. */
export function allowedKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let node: JsonSchemaLike | undefined = concrete(jsonSchemaOf(schema));
  for (const seg of path) {
    if (node === undefined) return [];
    if (typeof seg === 'number') node = node.items === undefined ? undefined : concrete(node.items);
    else {
      const child: JsonSchemaLike | undefined = node.properties?.[String(seg)];
      node = child === undefined ? undefined : concrete(child);
    }
  }
  return node?.properties === undefined ? [] : Object.keys(node.properties);
}

/**
 * Every key path of a schema, dotted, with `[]` for array elements and
 * `<region>` (or `<key>`) for the keys of maps: `sip.timers.t1Ms`,
 * `trunks[].auth.credentials[].username`, `trunks[].cps.<region>`.
 * Containers are listed as well as their leaves. `regions` names the keys a
 * map of regions has.
 */
export function keyPaths(schema: z.ZodType, regions: readonly string[]): string[] {
  const out: string[] = [];
  const mapKey = (node: JsonSchemaLike): string => {
    const names = node.propertyNames?.enum;
    return names !== undefined && names.every((n) => regions.includes(n)) ? '<region>' : '<key>';
  };
  const walk = (raw: JsonSchemaLike, prefix: string): void => {
    const node = concrete(raw);
    if (node.items !== undefined) {
      walk(node.items, `${prefix}[]`);
      return;
    }
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      out.push(path);
      walk(child, path);
    }
    const extra = node.additionalProperties;
    if (typeof extra === 'object') {
      // a free-keyed map: a trunk's CPS per region (crossCheck limits its keys), an account's pooled CPS
      const path = `${prefix}.${node.properties === undefined ? mapKey(node) : '<region>'}`;
      out.push(path);
      walk(extra, path);
    }
  };
  walk(jsonSchemaOf(schema), '');
  return out;
}

/** Levenshtein distance, case-insensitive. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = row;
  }
  return prev[y.length] as number;
}

/**
 * The candidate `word` most likely stands for: the closest one within a third of its length
 * (at least 1, at most 3 edits), or one that differs only in case, dashes or underscores.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  const same = candidates.find((c) => norm(c) === norm(word));
  if (same !== undefined) return same;
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
