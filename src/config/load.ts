/**
 * Loading and validating configuration: every problem is listed with its
 * path, the value found and what was expected.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { type Config, ConfigSchema, crossCheck, redactedStoreUrl } from './schema.js';
import { allowedKeysAt, closest } from './suggest.js';
import { printableValue } from './secrets.js';

export interface ConfigProblem {
  /** Like `trunks[0].cps.ie1`; empty for the whole file. */
  path: string;
  /** The value found there (undefined when missing), with secrets shown as `<redacted>` (config/secrets.ts). */
  value: unknown;
  /** What was expected. */
  message: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

/** The built-in default configuration (SPEC §7.1), shipped as examples/trunkgate.yaml. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../examples/trunkgate.yaml', import.meta.url));

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out.length === 0 ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function rawValueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = raw;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  // secrets are never printed (SPEC §13): a Redis URL's password
  if (typeof v === 'string' && path.length === 2 && path[0] === 'limits' && path[1] === 'store') return redactedStoreUrl(v);
  return v;
}

/** What an unknown key gets: the key it probably stands for, else the keys allowed there. */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const guess = closest(key, allowed);
  if (guess !== undefined) return `unknown key; did you mean "${guess}"? (see docs/configuration.md)`;
  if (allowed.length === 0) return 'unknown key (see docs/configuration.md)';
  return `unknown key; expected one of: ${allowed.join(', ')} (see docs/configuration.md)`;
}

/** The value at `path`, as a problem may print it: secrets redacted. */
function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  return printableValue(raw, path, rawValueAt(raw, path));
}

function problemsFrom(issues: ReadonlyArray<z.core.$ZodIssue>, raw: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(ConfigSchema, issue.path);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push({ path: formatPath(path), value: valueAt(raw, path), message: unknownKeyMessage(key, allowed) });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      out.push(...problemsFrom(issue.errors.flat(), raw).map((p) => ({ ...p, path: formatPath([...issue.path]) + (p.path ? '.' + p.path : '') })));
      continue;
    }
    const value = valueAt(raw, issue.path);
    const message = value === undefined && issue.code === 'invalid_type' ? `required (expected ${issue.expected})` : issue.message;
    out.push({ path: formatPath(issue.path), value, message });
  }
  return out;
}

/** Validate an already-parsed configuration object. */
export function validateConfig(raw: unknown): ConfigResult {
  const parsed = ConfigSchema.safeParse(raw ?? {});
  const problems = parsed.success ? [] : problemsFrom(parsed.error.issues, raw);
  for (const issue of crossCheck(raw)) {
    const path = formatPath(issue.path);
    if (!problems.some((p) => p.path === path && p.message === issue.message)) problems.push({ path, value: valueAt(raw, issue.path), message: issue.message });
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}

export type RawConfigResult = { ok: true; raw: unknown } | { ok: false; problems: ConfigProblem[] };

/**
 * A YAML error with its place and a code frame: the line before, the line itself, and a caret
 * under the column (1-based `line` and `col`, as the yaml library reports them).
 */
export function yamlErrorMessage(text: string, what: string, line: number | undefined, col: number | undefined): string {
  const headline = what.replace(/ at line \d+, column \d+:?[\s\S]*$/, '').trim();
  if (line === undefined || col === undefined) return `YAML syntax: ${headline}`;
  const lines = text.split(/\r?\n/);
  const width = String(line).length;
  const frame: string[] = [];
  for (let n = Math.max(1, line - 1); n <= Math.min(line, lines.length); n++) {
    frame.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${lines[n - 1] ?? ''}`);
  }
  if (frame.length === 0) frame.push(`> ${String(line).padStart(width)} | `);
  frame.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, col - 1))}^`);
  return `YAML syntax: ${headline} (line ${line}, column ${col})\n${frame.join('\n')}`;
}

/** Parse YAML (or JSON, a subset of YAML) text, without validating it. */
export function parseConfigRaw(text: string): RawConfigResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({ path: '', value: undefined, message: yamlErrorMessage(text, e.message, e.linePos?.[0].line, e.linePos?.[0].col) })),
    };
  }
  return { ok: true, raw: doc.toJS() ?? {} };
}

/** Read a configuration file, without validating it. */
export function readConfigRaw(path: string): RawConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, problems: [{ path: '', value: path, message: `cannot read the file: ${(err as Error).message}` }] };
  }
  return parseConfigRaw(text);
}

/** Parse YAML (or JSON) text and validate it. */
export function parseConfigText(text: string): ConfigResult {
  const raw = parseConfigRaw(text);
  return raw.ok ? validateConfig(raw.raw) : raw;
}

/** Read and validate a configuration file. */
export function loadConfigFile(path: string): ConfigResult {
  const raw = readConfigRaw(path);
  return raw.ok ? validateConfig(raw.raw) : raw;
}

/** One problem per line: `path: message (found: value)`; a message's further lines (a code frame) indented below it. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const where = p.path.length > 0 ? p.path : '(file)';
      const found = p.value === undefined ? '' : ` (found: ${JSON.stringify(p.value)})`;
      const [first = '', ...rest] = p.message.split('\n');
      return [`  ${where}: ${first}${found}`, ...rest.map((l) => `      ${l}`)].join('\n');
    })
    .join('\n');
}
