/**
 * `trunkgate check-config FILE [--strict]`, and reading the configuration
 * file for the command line: a file that cannot be read is a usage error
 * (exit 2); problems in it exit 1; warnings are printed, and fail with
 * --strict.
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { lintConfig } from '../config/lint.js';
import { formatProblems, parseConfigRaw, type RawConfigResult, validateConfig } from '../config/load.js';
import { errorOf, type TrunkgateError } from '../errors.js';

/** The file's text parsed (not validated), or the catalogued reason it cannot be read. */
export function readConfigFile(path: string): { ok: true; raw: RawConfigResult } | { ok: false; error: TrunkgateError } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder' : e.code === 'EACCES' ? 'permission denied' : e.message;
    return { ok: false, error: errorOf('CONFIG_UNREADABLE', path, reason) };
  }
  return { ok: true, raw: parseConfigRaw(text) };
}

/** check-config: returns the exit code. */
export function checkConfig(file: string, opts: { strict: boolean }, out: Writable, err: Writable): number {
  const read = readConfigFile(file);
  if (!read.ok) {
    err.write(`trunkgate: ${read.error.message}\n`);
    return 2;
  }
  const result = read.raw.ok ? validateConfig(read.raw.raw) : read.raw;
  if (!result.ok) {
    err.write(`trunkgate: ${errorOf('CONFIG_INVALID', result.problems.length, file).message}\n${formatProblems(result.problems)}\n`);
    return 1;
  }
  const warnings = lintConfig(result.config);
  const counts = `${result.config.accounts.length} account(s), ${result.config.trunks.length} trunk(s)`;
  if (warnings.length === 0) {
    out.write(`${file}: OK (${counts})\n`);
    return 0;
  }
  out.write(`${file}: OK (${counts}) with ${warnings.length} warning(s):\n${formatProblems(warnings)}\n`);
  if (!opts.strict) return 0;
  err.write(`trunkgate: ${errorOf('CONFIG_WARNINGS', warnings.length, file).message}\n`);
  return 1;
}
