/**
 * SIPp as the scenario runner uses it: one process, in a scratch folder of
 * its own (its -trace_* files land there, never in the user's folder or the
 * package), with its statistics read back from CSV.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function sippInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v sipp'], { stdio: 'ignore' }).status === 0;
}

/** The last row of a SIPp CSV (statistics or counts), by column name. */
export function readLastRow(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  if (lines.length < 2) return {};
  const header = (lines[0] as string).split(';');
  const last = (lines[lines.length - 1] as string).split(';');
  return Object.fromEntries(header.map((h, i) => [h, last[i] ?? '']));
}

export interface SippResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stats: Record<string, string>;
  counts: Record<string, string>;
  /** Set when SIPp did not run the scenario through: why (its exit), then its own last words. */
  error: string | undefined;
  /** SIPp's last words (stderr and its -trace_err log, timestamps removed), for failed calls. */
  said: string[];
}

/** SIPp's exit codes (its manual): 0 every call succeeded, 1 some failed; anything else means it could not run. */
function describeExit(code: number | null, signal: NodeJS.Signals | null, created: number): string | undefined {
  if (signal !== null) return `killed by ${signal}`;
  if (code === 0) return undefined;
  if (code === 1) return created > 0 ? undefined : 'stopped before placing a call';
  if (code === 97) return 'exited on an internal command';
  if (code === 99) return 'exited without processing a call';
  if (code === 254 || code === -2) return 'could not bind its socket';
  return 'fatal error (or its -timeout ran out)';
}

/**
 * What SIPp said: the first line of each entry of its error log (an entry starts with a
 * timestamp; an unexpected message's SIP text follows on further lines and is left out), else
 * its stderr; without noise and repeats, the last few, each at most 240 characters.
 */
export function sippWords(stderr: string, log: string): string[] {
  const stamp = /\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: /;
  const entries = log.split(stamp).slice(1);
  const source = entries.length > 0 ? entries : stderr.split(stamp).flatMap((e) => e.split('\n'));
  const lines = source
    .map((e) => (e.split('\n')[0] ?? '').trim())
    .filter((l) => l !== '' && !/^Resolving remote host|^The following events occurred|^There were more errors/.test(l))
    .map((l) => (l.length > 240 ? `${l.slice(0, 239)}…` : l));
  return [...new Set(lines)].slice(-5);
}

export class SippProcess {
  private readonly child: ChildProcess;
  private stderr = '';
  readonly done: Promise<SippResult>;

  constructor(
    args: string[],
    private readonly dir: string,
  ) {
    this.child = spawn('sipp', [...args, '-stf', join(dir, 'stats.csv'), '-trace_err', '-error_file', join(dir, 'errors.log')], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.done = new Promise((resolve) => {
      this.child.once('error', (err) => resolve(this.result(null, null, `cannot start sipp: ${err.message}`)));
      this.child.once('close', (code, signal) => resolve(this.result(code, signal, undefined)));
    });
  }

  /** The statistics so far (SIPp writes them every second with -fd 1). */
  stats(): Record<string, string> {
    return readLastRow(join(this.dir, 'stats.csv'));
  }

  /** Stop it (SIGTERM, then SIGKILL after `graceMs`): ours, by its PID. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.done;
    clearTimeout(timer);
  }

  private result(code: number | null, signal: NodeJS.Signals | null, spawnError: string | undefined): SippResult {
    const countsFile = readdirSync(this.dir).find((f) => f.endsWith('_counts.csv'));
    const stats = this.stats();
    const log = existsSync(join(this.dir, 'errors.log')) ? readFileSync(join(this.dir, 'errors.log'), 'utf8') : '';
    const said = sippWords(this.stderr, log);
    const problem = spawnError ?? describeExit(code, signal, Number(stats['TotalCallCreated'] ?? 0));
    return {
      exitCode: code,
      signal,
      stats,
      counts: countsFile === undefined ? {} : readLastRow(join(this.dir, countsFile)),
      error: problem === undefined ? undefined : [problem, ...said].join('\n'),
      said,
    };
  }
}
