/**
 * A real SIP phone for interop tests: baresip 1.0 (Debian 12), headless,
 * signalling plus a silent audio loop, driven over its `ctrl_tcp` module
 * (netstring-framed JSON: commands with a token, responses, UA events).
 *
 * Each instance gets its own config dir in a temp folder (`baresip -f DIR`),
 * listens only on 127.0.0.1 or ::1, and quits by itself after `maxSeconds`
 * (`-t`) even if the test runner dies. `-s` traces every SIP message to
 * stdout; `sipTrace()` parses it, so a test can see which hop a request took.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Loopback, freeSipPort, freeTcpPort } from './ports.js';
import { waitFor } from './wait-for.js';

export interface BaresipOptions {
  /** User part of the account's AOR (default `pbx`). */
  user?: string;
  /** Where the UA listens: 127.0.0.1 (default) or ::1. SIP on udp+tcp `sipPort`, TLS on `sipPort + 1`. */
  host?: Loopback;
  /** Host part of the AOR; also the registrar when `registerSeconds` > 0 (default: `host`). */
  domain?: string;
  /** Outbound proxy for every request, e.g. `sip:127.0.0.1:5060;transport=tcp`. */
  outboundProxy?: string;
  /** `auto`: answer incoming calls at once (no CALL_INCOMING event); `manual` (default): `accept()`. */
  answerMode?: 'manual' | 'auto';
  /** REGISTER interval; 0 (default) never registers. */
  registerSeconds?: number;
  /** Digest credentials (used for 401/407 challenges). */
  auth?: { user: string; password: string };
  /** CA file for TLS (`sip_cafile`). baresip 1.0 / libre 1.1 do not verify the server certificate anyway. */
  caFile?: string;
  /** Hard bound on the process's life, in seconds (default 120). */
  maxSeconds?: number;
  /** More `;name=value` account parameters, appended as is. */
  extraAccountParams?: string;
}

/** A UA event as ctrl_tcp sends it (`uag_event_str` names: CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, …). */
export interface BaresipEvent {
  type: string;
  class: string;
  accountaor?: string;
  direction?: 'incoming' | 'outgoing';
  peeruri?: string;
  /** The call's SIP Call-ID. */
  id?: string;
  /** CALL_CLOSED: `486 Busy Here` (final response), `Connection reset by peer` (BYE received), `Connection reset by user` (we hung up). */
  param?: string;
  [key: string]: unknown;
}

/** One SIP message from the `-s` trace. */
export interface TracedSip {
  transport: string;
  from: string;
  to: string;
  /** `sent` by this UA or `received` by it. */
  direction: 'sent' | 'received';
  startLine: string;
  text: string;
}

export interface Baresip {
  readonly pid: number;
  readonly host: Loopback;
  readonly sipPort: number;
  /** The account's AOR, e.g. `sip:pbx@127.0.0.1`. */
  readonly aor: string;
  /** Where to send requests to this UA, e.g. `sip:pbx@127.0.0.1:5070`. */
  readonly contact: string;
  readonly dir: string;
  readonly events: readonly BaresipEvent[];
  /** Run a ctrl_tcp command (`dial URI`, `hangup`, `accept`, `hold`, `resume`, …); rejects when baresip says not ok. */
  command(command: string, params?: string, timeoutMs?: number): Promise<string>;
  /** The first event (at index ≥ `from`) of this type (or one of these types) that `match` accepts, waiting up to `timeoutMs`. */
  waitForEvent(
    type: string | readonly string[],
    options?: { from?: number; timeoutMs?: number; match?: (e: BaresipEvent) => boolean },
  ): Promise<BaresipEvent>;
  dial(uri: string): Promise<void>;
  hangup(): Promise<void>;
  accept(): Promise<void>;
  hold(): Promise<void>;
  resume(): Promise<void>;
  /** SIP messages sent and received so far. */
  sipTrace(): TracedSip[];
  /** stdout and stderr so far (bounded). */
  output(): string;
  /** SIGTERM (baresip hangs up its calls), again after 1 s, SIGKILL after `timeoutMs`; resolves when it has exited and its dir is removed. */
  stop(timeoutMs?: number): Promise<void>;
}

const MODULES = '/usr/lib/baresip/modules';

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function baresipConfig(o: { host: Loopback; sipPort: number; ctrlPort: number; caFile?: string }): string {
  return [
    'poll_method\t\tepoll',
    `sip_listen\t\t${bracket(o.host)}:${o.sipPort}`,
    ...(o.caFile !== undefined ? [`sip_cafile\t\t${o.caFile}`] : []),
    // SDP c= and RTP sockets come from this address, not eth0's
    `net_interface\t\t${o.host}`,
    'call_local_timeout\t60',
    'call_max_calls\t\t8',
    // no sound card: aubridge loops what it plays back to the source (silence until RTP arrives)
    'audio_player\t\taubridge,call',
    'audio_source\t\taubridge,call',
    'audio_alert\t\taubridge,alert',
    'audio_buffer\t\t20-160',
    'rtp_tos\t\t\t0',
    `module_path\t\t${MODULES}`,
    'module\t\t\tg711.so',
    'module\t\t\taubridge.so',
    'module_tmp\t\taccount.so',
    // menu: the dial/accept/hangup/hold/resume commands; ctrl_tcp: commands and events over TCP
    'module_app\t\tmenu.so',
    'module_app\t\tctrl_tcp.so',
    `ctrl_tcp_listen\t\t127.0.0.1:${o.ctrlPort}`,
    'statmode_default\toff',
    'ringback_disabled\tyes',
    '',
  ].join('\n');
}

export function baresipAccount(o: BaresipOptions & { host: Loopback }): string {
  const user = o.user ?? 'pbx';
  const params = [
    `regint=${o.registerSeconds ?? 0}`,
    'audio_codecs=pcmu,pcma',
    `answermode=${o.answerMode ?? 'manual'}`,
    'mwi=no',
    'call_transfer=no',
  ];
  if (o.outboundProxy !== undefined) params.push(`outbound="${o.outboundProxy}"`);
  if (o.auth !== undefined) params.push(`auth_user=${o.auth.user}`, `auth_pass=${o.auth.password}`);
  return `<sip:${user}@${o.domain ?? bracket(o.host)}>;${params.join(';')}${o.extraAccountParams ?? ''}\n`;
}

/** Parse baresip's `-s` trace: blocks `ESC[36;1m#\n<PROTO> <src> -> <dst>\n<message>ESC[;m`. */
export function parseSipTrace(out: string, local: { host: Loopback; port: number }): TracedSip[] {
  const messages: TracedSip[] = [];
  // our Via sent-by: the SIP port (TLS: port + 1), also on TCP where the source port is ephemeral
  const ours = new Set([`${bracket(local.host)}:${local.port}`, `${bracket(local.host)}:${local.port + 1}`]);
  for (const block of out.split('\u001b[36;1m#\n').slice(1)) {
    const end = block.indexOf('\u001b[;m');
    const body = end >= 0 ? block.slice(0, end) : block;
    const nl = body.indexOf('\n');
    const head = /^(\S+) (\S+) -> (\S+)$/.exec(body.slice(0, nl).trim());
    if (head === null) continue;
    const text = body.slice(nl + 1);
    const [, transport = '', from = '', to = ''] = head;
    const startLine = (text.split(/\r?\n/)[0] ?? '').trim();
    const sentBy = /^(?:Via|v)[ \t]*:[ \t]*SIP\/2\.0\/\S+[ \t]+([^;,\s]+)/im.exec(text)?.[1] ?? '';
    const viaIsOurs = ours.has(sentBy);
    const isResponse = startLine.startsWith('SIP/2.0 ');
    messages.push({ transport, from, to, direction: viaIsOurs !== isResponse ? 'sent' : 'received', startLine, text });
  }
  return messages;
}

class Netstrings {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onMessage: (text: string) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(len))
        throw new Error(`ctrl_tcp: bad netstring header ${JSON.stringify(this.buf.subarray(0, colon).toString())}`);
      if (this.buf.length < colon + 1 + len + 1) return;
      const text = this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8');
      this.buf = this.buf.subarray(colon + 2 + len);
      this.onMessage(text);
    }
  }
}

function encodeNetstring(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`${payload.length}:`), payload, Buffer.from(',')]);
}

export async function startBaresip(options: BaresipOptions = {}): Promise<Baresip> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      lastError = e;
      // a port taken between the check and baresip's bind: try other ports
      if (!/Address already in use|ctrl_tcp: failed to listen/.test(String(e))) throw e;
    }
  }
  throw lastError;
}

async function startOnce(options: BaresipOptions): Promise<Baresip> {
  const host = options.host ?? '127.0.0.1';
  const sipPort = await freeSipPort([host], { alsoNextTcp: true });
  const ctrlPort = await freeTcpPort();
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-baresip-'));
  writeFileSync(join(dir, 'config'), baresipConfig({ host, sipPort, ctrlPort, caFile: options.caFile }));
  // no account at start: it is created with `uanew` once the control connection is up, so its
  // REGISTER events are not lost (ctrl_tcp drops events while no client is connected)
  writeFileSync(join(dir, 'accounts'), '');
  // an empty contacts file: otherwise baresip writes a template with example addresses
  writeFileSync(join(dir, 'contacts'), '');
  const maxSeconds = options.maxSeconds ?? 120;
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn('baresip', ['-f', dir, '-s', '-t', String(maxSeconds)], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (e) => append(Buffer.from(`spawn error: ${e.message}\n`)));
  const backstop = setTimeout(() => child.kill('SIGKILL'), (maxSeconds + 10) * 1000);
  backstop.unref();
  exited.then(
    () => clearTimeout(backstop),
    () => clearTimeout(backstop),
  );

  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(() => out.includes('baresip is ready.') || child.exitCode !== null, {
      timeoutMs: 10_000,
      what: 'baresip to start',
      detail: () => out,
    });
    if (child.exitCode !== null) throw new Error(`baresip exited (${child.exitCode}) at start:\n${out}`);
  } catch (e) {
    await kill();
    throw e;
  }

  const events: BaresipEvent[] = [];
  const pending = new Map<string, { resolve: (data: string) => void; reject: (e: Error) => void }>();
  const framing = new Netstrings((text) => {
    const msg = JSON.parse(text) as Record<string, unknown>;
    if (msg.event === true) events.push(msg as unknown as BaresipEvent);
    else if (msg.response === true && typeof msg.token === 'string') {
      const p = pending.get(msg.token);
      pending.delete(msg.token);
      const data = typeof msg.data === 'string' ? msg.data : '';
      if (msg.ok === true) p?.resolve(data);
      else p?.reject(new Error(`baresip: command failed: ${data}`));
    }
  });
  let socket: Socket;
  try {
    socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(ctrlPort, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  } catch (e) {
    await kill();
    throw new Error(`baresip: cannot connect to ctrl_tcp on ${ctrlPort}: ${String(e)}\n${out}`, { cause: e });
  }
  socket.on('data', (d: Buffer) => {
    try {
      framing.push(d);
    } catch (e) {
      append(Buffer.from(`ctrl_tcp: unreadable message: ${String(e)}\n`));
      socket.destroy();
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    for (const p of pending.values()) p.reject(new Error(`baresip: control connection closed\n${out.slice(-4000)}`));
    pending.clear();
  });

  let tokens = 0;
  const command = (cmd: string, params?: string, timeoutMs = 5000): Promise<string> => {
    const token = `t${++tokens}`;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(token);
        reject(new Error(`baresip: no response to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(token, {
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      socket.write(encodeNetstring(JSON.stringify(params === undefined ? { command: cmd, token } : { command: cmd, params, token })));
    });
  };

  try {
    await command('uanew', baresipAccount({ ...options, host }).trim());
  } catch (e) {
    await kill();
    throw new Error(`baresip: uanew failed\n${out}`, { cause: e });
  }

  const user = options.user ?? 'pbx';
  return {
    pid: child.pid ?? -1,
    host,
    sipPort,
    aor: `sip:${user}@${options.domain ?? bracket(host)}`,
    contact: `sip:${user}@${bracket(host)}:${sipPort}`,
    dir,
    events,
    command,
    async waitForEvent(type, o = {}) {
      const from = o.from ?? 0;
      const types: readonly string[] = typeof type === 'string' ? [type] : type;
      return waitFor(() => events.slice(from).find((e) => types.includes(e.type) && (o.match?.(e) ?? true)), {
        timeoutMs: o.timeoutMs ?? 10_000,
        what: `baresip event ${types.join(' or ')}`,
        detail: () => `events: ${events.map((e) => `${e.type}${e.param !== undefined ? `(${e.param})` : ''}`).join(', ')}`,
      });
    },
    async dial(uri) {
      await command('dial', uri);
    },
    async hangup() {
      await command('hangup');
    },
    async accept() {
      await command('accept');
    },
    async hold() {
      await command('hold');
    },
    async resume() {
      await command('resume');
    },
    sipTrace: () => parseSipTrace(out, { host, port: sipPort }),
    output: () => out,
    async stop(timeoutMs = 5000) {
      socket.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // a registered UA un-registers first and may wait for a gone registrar: a second SIGTERM forces the exit
        const again = setTimeout(() => child.kill('SIGTERM'), Math.min(1000, timeoutMs / 2));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(again);
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
