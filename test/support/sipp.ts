/**
 * Run real SIPp (Debian package sip-tester) against a gateway on 127.0.0.1,
 * bounded in calls and time, and read its own counters.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SippRun {
  /** `uac`, `uas`, or a path to an XML scenario. */
  scenario: string;
  /** host:port of the remote side (omitted for a uas). */
  target?: string;
  transport?: 'u1' | 't1';
  /** Calls to place (uac) or accept before exiting (uas, with -m). */
  calls?: number;
  /** Calls per second. */
  rate?: number;
  /** Local port; default: a free one. */
  localPort?: number;
  /** Local address (-i); default 127.0.0.1. Another 127.x address makes a second source on the loopback. */
  localIp?: string;
  /** Hard bound on the run, in seconds (SIPp's -timeout). */
  timeoutSeconds?: number;
  extraArgs?: string[];
  /** The Request-URI user of the built-in scenarios (-s). */
  service?: string;
  /** For the sip-scenarios pack: the number called ([field0]) and the caller ID ([field1]), as a one-line -inf CSV. */
  called?: string;
  caller?: string;
  /** Log every message with timestamps (-trace_msg). */
  traceMessages?: boolean;
  /** Count every scenario step (-trace_counts). */
  traceCounts?: boolean;
}

export interface SippResult {
  exitCode: number | null;
  /** Final cumulative counters from SIPp's statistics file. */
  stats: Record<string, string>;
  successful: number;
  failed: number;
  created: number;
  retransmissions: number;
  stdout: string;
  stderr: string;
  /** The -trace_msg log, when asked for. */
  messageLog: string | undefined;
  /** The -trace_err log (unexpected messages etc.). */
  errorLog: string | undefined;
  /** Final per-step counters from -trace_counts (e.g. `4_503_Recv`), when asked for. */
  counts: Record<string, number>;
  localPort: number;
  dir: string;
}

/** A port free for both UDP and TCP on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port found');
}

export function sippProcessArgs(run: SippRun, localPort: number, dir: string): string[] {
  const args: string[] = [];
  if (run.scenario === 'uac' || run.scenario === 'uas') args.push('-sn', run.scenario);
  else args.push('-sf', run.scenario);
  if (run.target !== undefined) args.push(run.target);
  args.push('-i', run.localIp ?? '127.0.0.1', '-p', String(localPort));
  args.push('-t', run.transport ?? 'u1');
  if (run.service !== undefined) args.push('-s', run.service);
  if (run.called !== undefined) {
    const csv = join(dir, 'numbers.csv');
    writeFileSync(csv, `SEQUENTIAL\n${run.called};${run.caller ?? '+14155550100'};\n`);
    args.push('-inf', csv);
  }
  if (run.calls !== undefined) args.push('-m', String(run.calls));
  if (run.rate !== undefined) args.push('-r', String(run.rate));
  args.push('-nostdin', '-timeout', `${run.timeoutSeconds ?? 60}s`, '-timeout_error');
  args.push('-trace_stat', '-stf', join(dir, 'stats.csv'), '-fd', '1');
  args.push('-trace_err', '-error_file', join(dir, 'errors.log'));
  if (run.traceMessages) args.push('-trace_msg', '-message_file', join(dir, 'messages.log'));
  if (run.traceCounts) args.push('-trace_counts');
  args.push(...(run.extraArgs ?? []));
  return args;
}

export interface StartedSipp {
  localPort: number;
  done: Promise<SippResult>;
  /** SIPp's cumulative counters so far (its statistics file is written every second), while it runs. */
  stats(): Record<string, string>;
  /** Its -trace_err log so far (unexpected messages, failed regexp checks …). */
  errors(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** True while something holds `port` on 127.0.0.1 for this transport (we cannot bind it). */
async function portTaken(port: number, transport: 'u1' | 't1'): Promise<boolean> {
  if (transport === 't1') {
    return new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(true));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
    });
  }
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(true));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

/**
 * Start SIPp and return at once; `done` settles when it exits. A SIPp with no
 * target (a uas) is returned only once it is listening on its port.
 */
export async function startSipp(run: SippRun): Promise<StartedSipp> {
  const localPort = run.localPort ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-sipp-'));
  // cwd: SIPp writes its -trace_counts file next to itself
  const child = spawn('sipp', sippProcessArgs(run, localPort, dir), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.length > 200_000) stdout = stdout.slice(-100_000);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // SIPp's own -timeout bounds the run; this is the backstop if SIPp ignores it.
  const backstop = setTimeout(() => child.kill('SIGKILL'), ((run.timeoutSeconds ?? 60) + 15) * 1000);
  const done = new Promise<SippResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      clearTimeout(backstop);
      resolve(readResult(exitCode, stdout, stderr, localPort, dir));
    });
  });
  if (run.target === undefined) {
    const deadline = Date.now() + 10_000;
    while (!(await portTaken(localPort, run.transport ?? 'u1'))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`SIPp did not start listening on ${localPort}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    localPort,
    done,
    stats: () => readStats(join(dir, 'stats.csv')),
    errors: () => (existsSync(join(dir, 'errors.log')) ? readFileSync(join(dir, 'errors.log'), 'utf8') : ''),
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.pid !== undefined) child.kill(signal);
    },
  };
}

/** Run SIPp to completion. */
export async function runSipp(run: SippRun): Promise<SippResult> {
  const started = await startSipp(run);
  return started.done;
}

function readResult(exitCode: number | null, stdout: string, stderr: string, localPort: number, dir: string): SippResult {
  const stats = readStats(join(dir, 'stats.csv'));
  const num = (k: string): number => Number(stats[k] ?? '0');
  const messagesPath = join(dir, 'messages.log');
  const errorsPath = join(dir, 'errors.log');
  return {
    exitCode,
    stats,
    successful: num('SuccessfulCall(C)'),
    failed: num('FailedCall(C)'),
    created: num('TotalCallCreated'),
    retransmissions: num('Retransmissions(C)'),
    stdout,
    stderr,
    messageLog: existsSync(messagesPath) ? readFileSync(messagesPath, 'utf8') : undefined,
    errorLog: existsSync(errorsPath) ? readFileSync(errorsPath, 'utf8') : undefined,
    counts: readCounts(dir),
    localPort,
    dir,
  };
}

function readCounts(dir: string): Record<string, number> {
  const file = readdirSync(dir).find((f) => f.endsWith('_counts.csv'));
  if (file === undefined) return {};
  const stats = readStats(join(dir, file));
  return Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, Number(v)]));
}

function readStats(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = (lines[0] ?? '').split(';');
  const last = (lines[lines.length - 1] ?? '').split(';');
  const out: Record<string, string> = {};
  header.forEach((h, i) => {
    if (h.length > 0) out[h] = last[i] ?? '';
  });
  return out;
}

export interface LoggedMessage {
  /** Milliseconds since the epoch (SIPp's wall-clock timestamp). */
  atMs: number;
  direction: 'sent' | 'received';
  /** The start line, e.g. `SIP/2.0 486 Busy Here` or `INVITE sip:… SIP/2.0`. */
  startLine: string;
  text: string;
}

/** Read SIPp's -trace_msg log into timestamped messages. */
export function parseMessageLog(log: string): LoggedMessage[] {
  const out: LoggedMessage[] = [];
  const blocks = log.split(/^-{20,} /m).slice(1);
  for (const block of blocks) {
    const nl = block.indexOf('\n');
    const stamp = block.slice(0, nl).trim();
    const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})\.(\d{6})/.exec(stamp);
    if (m === null) continue;
    const rest = block.slice(nl + 1);
    const head = /^(UDP|TCP) message (sent|received)[^\n]*\n/.exec(rest);
    if (head === null) continue;
    const text = rest.slice(head[0].length).replace(/^\s*\n/, '');
    const startLine = (text.split(/\r?\n/)[0] ?? '').trim();
    const atMs = new Date(`${m[1]}T${m[2]}Z`).getTime() + Number(m[3]) / 1000;
    out.push({ atMs, direction: head[2] === 'sent' ? 'sent' : 'received', startLine, text });
  }
  return out;
}

/** A per-step counter of a -trace_counts run, by the pattern of its column (e.g. /^\d+_503_Recv$/). */
export function stepCount(r: SippResult, step: RegExp): number {
  const key = Object.keys(r.counts).find((k) => step.test(k));
  if (key === undefined) throw new Error(`no SIPp count matching ${step}: ${Object.keys(r.counts).join(', ')}`);
  return r.counts[key] as number;
}
