/**
 * A real SIP proxy for interop tests: Kamailio 5.6 (Debian 12) with one of
 * the configs in test/fixtures/kamailio/ (`sbc` in front of trunkgate,
 * `carrier` behind it), in the foreground (`-DD -E`), listening on loopback
 * sockets given on the command line, with small memory pools and its pid
 * file and runtime dir in a temp folder. `timeout` bounds its life even if
 * the test runner dies.
 *
 * The configs log every request and reply they receive as a `KTRACE` line on
 * stderr; `trace()` parses them, so a test can tell which requests passed
 * through the proxy.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type Loopback, freeSipPort } from './ports.js';
import { waitFor } from './wait-for.js';

export const KAMAILIO_FIXTURES = fileURLToPath(new URL('../fixtures/kamailio/', import.meta.url));

export interface KamailioOptions {
  /** `sbc`, `carrier`, or a path to a config file. */
  config: 'sbc' | 'carrier' | (string & {});
  /** Config pre-processor defines, passed as `-A 'NAME="value"'` (e.g. sbc: NEXT_HOP, carrier: FAR_END). */
  defines?: Record<string, string>;
  /** Loopback addresses to listen on, each with UDP and TCP on the same port (default 127.0.0.1 only). */
  hosts?: readonly Loopback[];
  port?: number;
  /** Hard bound on the process's life, in seconds (default 180). */
  maxSeconds?: number;
  /** sbc only: also listen for TLS (on `tlsPort`, each host) with this PEM certificate and key. */
  tls?: { cert: string; key: string };
}

/** One `KTRACE` line: a request or reply the proxy received. */
export interface KamailioTrace {
  kind: 'req' | 'rpl';
  method: string;
  /** Replies only. */
  status?: number;
  /** Requests only: the To tag (`<null>` for initial requests). */
  toTag?: string;
  proto: string;
  /** `IP:port` it came from. */
  source: string;
  callId: string;
}

export interface Kamailio {
  /** The main process's pid (from its -P file). */
  readonly pid: number;
  readonly port: number;
  /** The TLS port, when started with `tls`. */
  readonly tlsPort: number | undefined;
  readonly hosts: readonly Loopback[];
  readonly dir: string;
  /** `sip:127.0.0.1:PORT` (or `sip:[::1]:PORT`), optionally with `;transport=tcp` or (on `tlsPort`) `;transport=tls`. */
  uri(options?: { host?: Loopback; transport?: 'udp' | 'tcp' | 'tls' }): string;
  trace(): KamailioTrace[];
  /** Requests of `method` received (optionally only those from `source`, `IP:port`). */
  requests(method: string, source?: string): KamailioTrace[];
  /** Wait until `check(trace())` holds. */
  waitForTrace(check: (t: KamailioTrace[]) => boolean, options?: { timeoutMs?: number; what?: string }): Promise<void>;
  /** All it logged so far (bounded). */
  log(): string;
  /** SIGTERM, then SIGKILL to its process group after `timeoutMs`; resolves once it has exited and its dir is removed. */
  stop(timeoutMs?: number): Promise<void>;
}

const TRACE_LINE = /KTRACE (req|rpl) method=(\S+) (?:totag=(\S+)|status=(\d+)) proto=(\S+) src=(\S+) srcport=(\d+) callid=(\S+)/;

export function parseKamailioTrace(log: string): KamailioTrace[] {
  const out: KamailioTrace[] = [];
  for (const line of log.split('\n')) {
    const m = TRACE_LINE.exec(line);
    if (m === null) continue;
    const [, kind, method = '', toTag, status, proto = '', ip = '', srcPort = '', callId = ''] = m;
    out.push({
      kind: kind === 'req' ? 'req' : 'rpl',
      method,
      ...(status !== undefined ? { status: Number(status) } : {}),
      ...(toTag !== undefined ? { toTag } : {}),
      proto,
      source: `${bracket(ip)}:${srcPort}`,
      callId,
    });
  }
  return out;
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function kamailioArgs(o: {
  configPath: string;
  defines: Record<string, string>;
  hosts: readonly Loopback[];
  port: number;
  dir: string;
  tls?: { cert: string; key: string; port: number };
}): string[] {
  // -DD: foreground; -E: log to stderr; one worker per socket; small pools (TLS wants more shared memory)
  const args = ['-f', o.configPath, '-DD', '-E', '-n', '1', '-N', '1', '-m', o.tls !== undefined ? '64' : '32', '-M', '8', '-a', 'no'];
  args.push('-P', join(o.dir, 'kamailio.pid'), '-Y', o.dir, '-w', o.dir);
  const defines = { ...o.defines, ...(o.tls !== undefined ? { TLS_CERT: o.tls.cert, TLS_KEY: o.tls.key } : {}) };
  if (o.tls !== undefined) args.push('-A', 'WITH_TLS');
  for (const [name, value] of Object.entries(defines)) args.push('-A', `${name}=${JSON.stringify(value)}`);
  for (const host of o.hosts) {
    args.push('-l', `udp:${bracket(host)}:${o.port}`, '-l', `tcp:${bracket(host)}:${o.port}`);
    if (o.tls !== undefined) args.push('-l', `tls:${bracket(host)}:${o.tls.port}`);
  }
  return args;
}

export async function startKamailio(options: KamailioOptions): Promise<Kamailio> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      lastError = e;
      if (options.port !== undefined || !/Address already in use/.test(String(e))) throw e;
    }
  }
  throw lastError;
}

async function startOnce(options: KamailioOptions): Promise<Kamailio> {
  const hosts = options.hosts ?? ['127.0.0.1'];
  const port = options.port ?? (await freeSipPort(hosts));
  const tlsPort = options.tls !== undefined ? await freeSipPort(hosts) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-kamailio-'));
  const configPath =
    options.config === 'sbc' || options.config === 'carrier' ? join(KAMAILIO_FIXTURES, `${options.config}.cfg`) : options.config;
  const maxSeconds = options.maxSeconds ?? 180;
  const tls = options.tls !== undefined && tlsPort !== undefined ? { ...options.tls, port: tlsPort } : undefined;
  const args = kamailioArgs({ configPath, defines: options.defines ?? {}, hosts, port, dir, ...(tls !== undefined ? { tls } : {}) });
  // timeout(1) forwards SIGTERM to kamailio and ends it when maxSeconds pass; detached: its own process group
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn('timeout', ['-k', '5', String(maxSeconds), 'kamailio', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const append = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  child.once('error', (e) => append(Buffer.from(`spawn error: ${e.message}\n`)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const group = child.pid;
  const killGroup = (): void => {
    if (group === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  };

  try {
    await waitFor(() => out.includes('KTRACE ready') || child.exitCode !== null, {
      timeoutMs: 10_000,
      what: 'kamailio to start',
      detail: () => out,
    });
    if (child.exitCode !== null) throw new Error(`kamailio exited (${child.exitCode}) at start: ${args.join(' ')}\n${out}`);
  } catch (e) {
    killGroup();
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pid = Number(readFileSync(join(dir, 'kamailio.pid'), 'utf8').trim());

  return {
    pid,
    port,
    tlsPort,
    hosts,
    dir,
    uri(o = {}) {
      const host = o.host ?? hosts[0] ?? '127.0.0.1';
      if (o.transport === 'tls') {
        if (tlsPort === undefined) throw new Error('kamailio was started without tls');
        return `sip:${bracket(host)}:${tlsPort};transport=tls`;
      }
      return `sip:${bracket(host)}:${port}${o.transport === 'tcp' ? ';transport=tcp' : ''}`;
    },
    trace: () => parseKamailioTrace(out),
    requests(method, source) {
      return parseKamailioTrace(out).filter(
        (t) => t.kind === 'req' && t.method === method && (source === undefined || t.source === source),
      );
    },
    async waitForTrace(check, o = {}) {
      await waitFor(() => check(parseKamailioTrace(out)), {
        timeoutMs: o.timeoutMs ?? 10_000,
        what: o.what ?? 'kamailio trace',
        detail: () =>
          parseKamailioTrace(out)
            .map((t) => `${t.kind} ${t.method} ${t.status ?? ''} from ${t.source}`)
            .join('; '),
      });
    },
    log: () => out,
    async stop(timeoutMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(killGroup, timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
