/**
 * `trunkgate originate --trunk NAME --rate N --calls N [options]`: inbound
 * load towards the PBX (SPEC §11) on a running gateway. It starts a run with
 * `POST /v1/origination`, follows it with `GET /v1/origination/{id}`
 * (progress lines on stderr), prints the report (a table, or one JSON object
 * with --json) and exits 0 when the run placed all its calls, 1 when it was
 * cut short (stopped on the gateway, or by Ctrl-C here: the run is stopped
 * with DELETE first), 2 when it could not start (the gateway's own error,
 * from the catalogue, is printed as it answered it).
 *
 * The HTTP calls use node:http, not fetch: fetch refuses the ports of its
 * "bad ports" list, which a gateway may well listen on.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { errorOf, type TrunkgateError } from '../errors.js';
import { hostPort, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, throwUsageErrors } from './usage.js';

interface Flags {
  trunk: string;
  rate: number;
  calls: number;
  holdMs?: number;
  numbers?: string;
  http: string;
  token?: string;
  json?: boolean;
  progress: number;
}

/** The fields of a run's report (GET /v1/origination/{id}) this command reads. */
export interface OriginateReport {
  id: string;
  trunk: string;
  state: 'running' | 'completed' | 'stopped';
  stoppedBy: string | null;
  rate: number;
  calls: number;
  holdMs: number;
  offered: number;
  delivered: Record<string, number>;
  failovers: number;
  refusedAtCap: number;
  answers: Record<string, number>;
  outcomes: Record<string, number>;
  active: number;
  endedAt: string | null;
  offerSeconds: number;
}

export interface OriginateIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  cwd: string;
  /** Resolves when the user asks to stop (Ctrl-C); the run is then stopped on the gateway. */
  interrupted?: Promise<void>;
}

const E164 = /^\+[1-9]\d{1,14}$/;
const POLL_MS = 250;

interface HttpAnswer {
  status: number;
  body: string;
}

function call(method: string, url: string, headers: Record<string, string>, body?: unknown, timeoutMs = 10_000): Promise<HttpAnswer> {
  return new Promise((done, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const h = payload === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    const req = request(url, { method, headers: h, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end(payload);
  });
}

/**
 * The numbers file: one number per line, or SIPp CSV lines `called;caller;`
 * (the scenario pack's format: a SEQUENTIAL/RANDOM first line, `#` comments).
 * The first field is the dialled number (`to`), the second, if any, the caller (`from`).
 */
export function readNumbersFile(path: string): { ok: true; to: string[]; from: string[] } | { ok: false; error: TrunkgateError } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, error: errorOf('ORIGINATE_NUMBERS_FILE', path, (err as NodeJS.ErrnoException).code ?? (err as Error).message) };
  }
  const to: string[] = [];
  const from: string[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || /^(SEQUENTIAL|RANDOM|USER)\b/i.test(line)) continue;
    const [called, caller] = line.split(';').map((f) => f.trim());
    if (called === undefined || !E164.test(called)) return { ok: false, error: errorOf('ORIGINATE_NUMBERS_FILE', path, `line ${i + 1}: "${called ?? ''}" is not an E.164 number like +14155550100`) };
    to.push(called);
    if (caller !== undefined && caller !== '') {
      if (!E164.test(caller)) return { ok: false, error: errorOf('ORIGINATE_NUMBERS_FILE', path, `line ${i + 1}: caller "${caller}" is not an E.164 number`) };
      from.push(caller);
    }
  }
  if (to.length === 0) return { ok: false, error: errorOf('ORIGINATE_NUMBERS_FILE', path, 'no numbers in it') };
  return { ok: true, to, from };
}

function table(r: OriginateReport): string {
  const counts = (o: Record<string, number>): string =>
    Object.keys(o).length === 0
      ? '-'
      : Object.entries(o)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
  const lines = [
    `run ${r.id} on trunk ${r.trunk}: ${r.state}${r.stoppedBy === null ? '' : ` (by ${r.stoppedBy})`}`,
    `  offered      ${r.offered} of ${r.calls} at ${r.rate}/s${r.offerSeconds > 0 ? ` (in ${r.offerSeconds} s)` : ''}`,
    ...Object.entries(r.delivered)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([uri, n], i) => `  ${i === 0 ? 'delivered   ' : '            '} ${uri} ${n}`),
    ...(Object.keys(r.delivered).length === 0 ? ['  delivered    -'] : []),
    `  failovers    ${r.failovers}`,
    `  refusedAtCap ${r.refusedAtCap}`,
    `  answers      ${counts(r.answers)}`,
    `  outcomes     ${counts(r.outcomes)}`,
  ];
  return lines.join('\n') + '\n';
}

function progressLine(r: OriginateReport): string {
  const delivered = Object.values(r.delivered).reduce((a, b) => a + b, 0);
  return `originate: ${r.offered}/${r.calls} offered, ${delivered} delivered, ${r.failovers} failovers, ${r.refusedAtCap} refused at the cap, ${r.active} up\n`;
}

/** Start the run, follow it, print the report; the exit code. */
export async function runOriginate(f: Flags, io: OriginateIo): Promise<number> {
  const fail = (error: TrunkgateError, code: number): number => {
    io.err.write(`trunkgate originate: ${error.message}\n`);
    return code;
  };
  const body: Record<string, unknown> = { trunk: f.trunk, rate: f.rate, calls: f.calls };
  if (f.holdMs !== undefined) body['holdMs'] = f.holdMs;
  if (f.numbers !== undefined) {
    const n = readNumbersFile(resolve(io.cwd, f.numbers));
    if (!n.ok) return fail(n.error, 2);
    body['to'] = n.to;
    if (n.from.length > 0) body['from'] = n.from;
  }
  const headers: Record<string, string> = f.token === undefined ? {} : { authorization: `Bearer ${f.token}` };
  const base = `http://${f.http}/v1/origination`;

  let started: HttpAnswer;
  try {
    started = await call('POST', base, headers, body);
  } catch (err) {
    return fail(errorOf('GATEWAY_UNREACHABLE', base, (err as NodeJS.ErrnoException).code ?? (err as Error).message), 2);
  }
  if (started.status === 401) return fail(errorOf('ADMIN_TOKEN_NEEDED', base, f.token !== undefined), 2);
  if (started.status !== 201) {
    // the gateway's catalogued error ({ code, message }), as it said it
    let said = started.body.slice(0, 500);
    try {
      const e = JSON.parse(started.body) as { code?: unknown; message?: unknown };
      if (typeof e.message === 'string') said = `${String(e.code)}: ${e.message}`;
    } catch {
      // not JSON: shown as is
    }
    return fail(errorOf('ORIGINATE_NOT_STARTED', f.trunk, started.status, said), 2);
  }
  let report = JSON.parse(started.body) as OriginateReport;
  const url = `${base}/${encodeURIComponent(report.id)}`;
  io.err.write(`originate: run ${report.id} started on trunk ${report.trunk}: ${report.calls} calls at ${report.rate}/s\n`);

  let interrupted = false;
  io.interrupted?.then(() => (interrupted = true), () => undefined);
  let lastProgress = Date.now();
  let stopSent = false;
  let unreachable = 0;
  while (report.endedAt === null) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (interrupted && !stopSent) {
      stopSent = true;
      io.err.write('originate: stopping the run\n');
      await call('DELETE', url, headers).catch(() => undefined);
    }
    let res: HttpAnswer;
    try {
      res = await call('GET', url, headers);
    } catch (err) {
      // the gateway went away mid-run: a few tries, then the run counts as cut short
      if (++unreachable < 8) continue;
      io.err.write(`trunkgate originate: ${errorOf('GATEWAY_UNREACHABLE', url, (err as NodeJS.ErrnoException).code ?? (err as Error).message).message}\n`);
      report = { ...report, state: 'stopped', stoppedBy: report.stoppedBy ?? 'gateway unreachable' };
      break;
    }
    unreachable = 0;
    if (res.status !== 200) {
      io.err.write(`trunkgate originate: GET ${url}: HTTP ${res.status} ${res.body.slice(0, 200)}\n`);
      report = { ...report, state: 'stopped', stoppedBy: report.stoppedBy ?? `HTTP ${res.status}` };
      break;
    }
    report = JSON.parse(res.body) as OriginateReport;
    if (f.progress > 0 && Date.now() - lastProgress >= f.progress * 1000 && report.endedAt === null) {
      lastProgress = Date.now();
      io.err.write(progressLine(report));
    }
  }
  io.out.write(f.json === true ? JSON.stringify(report) + '\n' : table(report));
  if (report.state !== 'completed') return fail(errorOf('ORIGINATION_CUT_SHORT', report.id, report.offered, report.calls, report.stoppedBy ?? 'unknown'), 1);
  return 0;
}

/** The folder the user ran the command in: `npm run originate` runs in the package's, and says where it was started. */
function userCwd(): string {
  const init = process.env['INIT_CWD'];
  return process.env['npm_lifecycle_event'] === 'originate' && init !== undefined && init !== '' ? init : process.cwd();
}

export function addOriginateCommand(program: Command, setExitCode: (code: number) => void): void {
  const cmd = program
    .command('originate')
    .description("place inbound calls towards the PBX on a running gateway (POST /v1/origination): load-test the PBX's inbound side with the provider's URI choice, failover and headers")
    .requiredOption('--trunk <name>', 'the trunk whose origination URIs get the calls')
    .requiredOption('--rate <n>', 'calls per second (not limited by trunkgate: inbound calls have no CPS)', positiveNumber)
    .requiredOption('--calls <n>', 'how many calls to place', positiveInt)
    .option('--hold-ms <ms>', 'how long an answered call stays up before the caller hangs up (default: the gateway\'s, 0)', nonNegativeInt)
    .option('--numbers <file>', 'the numbers to call: one E.164 number a line, or SIPp CSV "called;caller;" lines (default: the trunk\'s numbers)')
    .option('--http <host:port>', 'the gateway HTTP address', hostPort, '127.0.0.1:8080')
    .option('--token <token>', 'bearer token of the admin API (http.token), if it has one')
    .option('--json', 'print the report as one JSON object (progress goes to stderr)')
    .option('--progress <seconds>', 'seconds between progress lines on stderr; 0 for none', nonNegativeNumber, 1)
    .addHelpText(
      'after',
      [
        '',
        'Exit code: 0 every call placed, 1 the run was cut short (stopped on the gateway, or Ctrl-C),',
        '2 it could not start (a usage error, the gateway not answering at --http, or its refusal).',
        '',
        'Example: trunkgate originate --trunk demo --rate 50 --calls 1000 --hold-ms 2000',
      ].join('\n'),
    )
    .action(async (f: Flags) => {
      const interrupted = new Promise<void>((r) => process.once('SIGINT', () => r()));
      setExitCode(await runOriginate(f, { out: process.stdout, err: process.stderr, cwd: userCwd(), interrupted }));
    });
  throwUsageErrors(cmd);
}
