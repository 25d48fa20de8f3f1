/**
 * The one place that knows which configuration values are secrets (STYLE:
 * secrets are typed; SPEC §13: errors show `<redacted>`). Values under a
 * secret key (`password`, `passwd`, `token`, `authToken`, `secret`,
 * `credentials`), unknown keys next to one (a misspelled `pasword` beside a
 * `username` is still a password) and unknown keys whose name looks like a
 * secret are printed as `<redacted>`: by check-config, a failed start, a
 * failed reload's 422 details (all through `printableValue`), and in every
 * log line (`LOG_REDACTION`, pino's redact).
 */
import { z } from 'zod';
import { ConfigSchema } from './schema.js';

export const REDACTED = '<redacted>';

/** Keys whose values are secrets, wherever they appear. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'passwd', 'token', 'authToken', 'secret', 'credentials']);

/** Request headers that carry credentials, as log objects name them. */
const SECRET_LOG_FIELDS = ['authorization', 'proxyAuthorization', 'proxy-authorization'];

/** Keys whose value holds secrets: printed only as an object (its secrets redacted), never as a string or list. */
const SECRET_CONTAINERS: ReadonlySet<string> = new Set(['auth']);

/** An unknown key that is probably a misspelled or not-yet-supported secret. */
const SECRET_LIKE = /pass|secret|token|cred|auth|private|apikey|api_key/i;

export function isSecretKey(key: PropertyKey): boolean {
  return typeof key === 'string' && SECRET_KEYS.has(key);
}

/** Every key name the schema knows, anywhere (a key outside this set is unknown). */
function schemaKeys(schema: z.ZodType, out: Set<string>): Set<string> {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodPrefault) {
    return schemaKeys(schema.unwrap() as z.ZodType, out);
  }
  if (schema instanceof z.ZodArray) return schemaKeys(schema.element as z.ZodType, out);
  if (schema instanceof z.ZodRecord) return schemaKeys(schema.valueType as z.ZodType, out);
  if (schema instanceof z.ZodPipe) return schemaKeys(schema.in as z.ZodType, out);
  if (schema instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(schema.shape)) {
      out.add(key);
      if (child instanceof z.ZodType) schemaKeys(child, out);
    }
  }
  return out;
}

const KNOWN_KEYS: ReadonlySet<string> = schemaKeys(ConfigSchema, new Set());

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasSecretKey(o: Record<string, unknown>): boolean {
  return Object.keys(o).some((k) => SECRET_KEYS.has(k));
}

/** Whether the value of `key` in `parent` must not be printed. */
function secretIn(parent: unknown, key: PropertyKey): boolean {
  if (typeof key !== 'string') return false;
  if (SECRET_KEYS.has(key)) return true;
  if (KNOWN_KEYS.has(key)) return false;
  return SECRET_LIKE.test(key) || (isRecord(parent) && hasSecretKey(parent));
}

/** A copy of `value` with every secret inside it replaced by `<redacted>`. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = secretIn(value, k) ? REDACTED : redactDeep(v, depth + 1);
  return out;
}

/**
 * The value found at `path` of the raw configuration, as an error may show
 * it: `<redacted>` when anything on the path is a secret, else a copy with
 * the secrets inside it redacted.
 */
export function printableValue(raw: unknown, path: ReadonlyArray<PropertyKey>, value: unknown): unknown {
  let node: unknown = raw;
  for (const seg of path) {
    if (secretIn(node, seg)) return value === undefined ? undefined : REDACTED;
    node = typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  const last = path.at(-1);
  // `auth: "pbx:password"`: a secret written where an object belongs
  if (typeof last === 'string' && SECRET_CONTAINERS.has(last) && value !== undefined && !isRecord(value)) return REDACTED;
  return redactDeep(value);
}

/** pino's `redact` option: the secret keys and credential headers at any depth up to 7 (fast-redact has no `**`). */
export const LOG_REDACTION: { paths: string[]; censor: string } = {
  paths: [...SECRET_KEYS, ...SECRET_LOG_FIELDS].flatMap((key) => {
    const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    return Array.from({ length: 7 }, (_, depth) => (depth === 0 ? name : `${Array<string>(depth).fill('*').join('.')}${name.startsWith('[') ? '' : '.'}${name}`));
  }),
  censor: REDACTED,
};
