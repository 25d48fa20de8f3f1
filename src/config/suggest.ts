/**
 * "Did you mean": the keys a zod schema allows at a path of the file, and the
 * one closest to a misspelt key.
 */

/** The parts of a zod v4 schema definition read here (`schema._zod.def`). */
interface ZodDefLike {
  type: string;
  shape?: Record<string, ZodLike>;
  innerType?: ZodLike;
  element?: ZodLike;
  in?: ZodLike;
  out?: ZodLike;
  options?: ZodLike[];
}
interface ZodLike {
  _zod: { def: ZodDefLike };
}

/** Wrappers whose `innerType` is the schema that matters. */
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'nonoptional', 'catch', 'readonly']);

function unwrap(schema: ZodLike): ZodLike {
  let s = schema;
  for (;;) {
    const def = s._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType !== undefined) s = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) s = def.in;
    else return s;
  }
}

/** The keys of the object schema at `path` (array indices step into elements); empty if none is there. */
export function allowedKeysAt(schema: unknown, path: ReadonlyArray<PropertyKey>): string[] {
  let s = unwrap(schema as ZodLike);
  for (const seg of path) {
    const def = s._zod.def;
    if (typeof seg === 'number') {
      if (def.type !== 'array' || def.element === undefined) return [];
      s = unwrap(def.element);
    } else {
      const child = def.type === 'object' ? def.shape?.[String(seg)] : undefined;
      if (child === undefined) return [];
      s = unwrap(child);
    }
  }
  const def = s._zod.def;
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
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
