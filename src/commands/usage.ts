/**
 * The command line's usage errors: commander's own messages (unknown option,
 * missing argument, bad value), printed as one line from the error catalogue
 * (USAGE) with the command they belong to, and exit 2. Help and --version
 * exit 0.
 */
import { type Command, CommanderError, InvalidArgumentError } from 'commander';
import { errorOf } from '../errors.js';

/** A usage error of `command` (e.g. "trunkgate scenario"), thrown out of commander's parse. */
export class UsageError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    /** commander's message without its "error: " prefix; empty for help and --version. */
    readonly problem: string,
  ) {
    super(problem);
    this.name = 'UsageError';
  }
}

/** The full name of a command: its parents' names, then its own. */
function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Make `cmd` throw a UsageError instead of printing and exiting: commander's error text is kept
 * for our one line; help and --version still print (to stdout) and map to exit 0.
 */
export function throwUsageErrors(cmd: Command): Command {
  return cmd.configureOutput({ outputError: () => undefined }).exitOverride((err: CommanderError) => {
    const done = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version';
    throw new UsageError(fullName(cmd), done ? 0 : 2, done ? '' : err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim());
  });
}

/** The line a usage error prints (from the catalogue), or nothing for help and --version. */
export function usageLine(err: UsageError): string {
  return err.exitCode === 0 ? '' : `${err.command}: ${errorOf('USAGE', err.problem, err.command).message}\n`;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

export function positiveInt(value: string): number {
  const n = positiveNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = nonNegativeNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

export function hostPort(value: string): string {
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value)) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:5060');
  return value;
}

export { CommanderError };
