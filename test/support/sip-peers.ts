/**
 * Real SIP peers for transport and transaction tests: a `node:dgram` or
 * `node:net` socket on the loopback that sends bytes and records every
 * message that arrives, plus a TransportLayer + TransactionLayer stack bound
 * to port 0 with a recording transaction user.
 *
 * `pollUntil` works under `vi.useFakeTimers()`: it waits with the real
 * setTimeout captured when this module loaded and measures its deadline with
 * `performance.now()`, so socket I/O keeps flowing while the fake clock
 * stands still.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { expect, vi } from 'vitest';
import { TransportCounters } from '../../src/metrics/transport-counters.js';
import {
  type MessageKind,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  StreamFramer,
  createResponse,
  parseMessage,
  serializeMessage,
} from '../../src/sip/message/index.js';
import {
  type ServerTransaction,
  type InviteServerTransaction,
  type TransactionLayerOptions,
  type TransactionUser,
  TransactionLayer,
} from '../../src/sip/transaction/index.js';
import { type BoundListener, type ListenSpec, type TransportOptions, TransportLayer } from '../../src/sip/transport/index.js';

const realSetTimeout = globalThis.setTimeout;

/** Poll `check` until it returns a truthy value, on real time even when timers are faked. Never sleeps a fixed time. */
export async function pollUntil<T>(check: () => T, what: string, timeoutMs = 3000): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => realSetTimeout(resolve, 1));
  }
}

/**
 * Fake the clock the transactions use, and only that: socket I/O (and
 * setImmediate) stays real, so a test advances the clock, then polls real I/O.
 */
export function useFakeSipClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

/**
 * Step the fake clock through a retransmission schedule: for each interval,
 * nothing more is sent 1 ms before it ends, and exactly one more message is
 * sent when it ends. `count` reads a synchronous send counter.
 */
export function expectRetransmissionsAt(count: () => number, intervalsMs: readonly number[]): void {
  for (const [i, interval] of intervalsMs.entries()) {
    const before = count();
    vi.advanceTimersByTime(interval - 1);
    expect(count(), `nothing sent 1 ms before retransmission #${i + 1} (after ${interval} ms)`).toBe(before);
    vi.advanceTimersByTime(1);
    expect(count(), `retransmission #${i + 1} sent after ${interval} ms`).toBe(before + 1);
  }
}

/** Intervals of a timer that starts at `firstMs` and doubles up to `capMs`, for every firing strictly before `untilMs`. */
export function doublingIntervals(firstMs: number, capMs: number, untilMs: number): number[] {
  const out: number[] = [];
  let at = 0;
  let interval = firstMs;
  while (at + interval < untilMs) {
    out.push(interval);
    at += interval;
    interval = Math.min(2 * interval, capMs);
  }
  return out;
}

/** A message a peer received, parsed (parse failures fail the test loudly). */
export interface Arrival {
  raw: Buffer;
  message: SipMessage;
  /** Where it came from (UDP), or the connection index (TCP). */
  from: { address: string; port: number };
}

function parseOrThrow(raw: Buffer): SipMessage {
  const r = parseMessage(raw);
  if (!r.ok) throw new Error(`peer received an unparseable message (${r.reason}):\n${raw.toString()}`);
  return r.message;
}

export function isResponse(m: SipMessage): m is SipResponse {
  return !m.isRequest;
}

export function isRequest(m: SipMessage): m is SipRequest {
  return m.isRequest;
}

abstract class RecordingPeer {
  readonly arrivals: Arrival[] = [];

  get messages(): SipMessage[] {
    return this.arrivals.map((a) => a.message);
  }

  get responses(): SipResponse[] {
    return this.messages.filter(isResponse);
  }

  get requests(): SipRequest[] {
    return this.messages.filter(isRequest);
  }

  /** Wait until at least `n` messages have arrived; returns them all. */
  async waitForMessages(n: number, what = `${n} message(s)`): Promise<SipMessage[]> {
    await pollUntil(() => this.arrivals.length >= n, `${what} at the peer (have ${this.arrivals.length})`);
    return this.messages;
  }

  /** Wait for the `n`-th (1-based) message matching `pick`. */
  async waitFor<T extends SipMessage>(pick: (m: SipMessage) => m is T, n = 1, what = 'a message'): Promise<T> {
    const found = await pollUntil(() => this.messages.filter(pick)[n - 1], `${what} #${n} at the peer`);
    return found;
  }

  async waitForResponse(status: number, n = 1): Promise<SipResponse> {
    return this.waitFor((m): m is SipResponse => !m.isRequest && m.status === status, n, `a ${status} response`);
  }

  async waitForRequest(method: string, n = 1): Promise<SipRequest> {
    return this.waitFor((m): m is SipRequest => m.isRequest && m.method === method, n, `a ${method} request`);
  }
}

/** A UDP peer on the loopback. */
export class UdpPeer extends RecordingPeer {
  private constructor(
    readonly socket: UdpSocket,
    readonly address: string,
    readonly port: number,
  ) {
    super();
    socket.on('message', (raw, rinfo) => {
      this.arrivals.push({ raw, message: parseOrThrow(raw), from: { address: rinfo.address, port: rinfo.port } });
    });
  }

  static async open(address = '127.0.0.1'): Promise<UdpPeer> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpPeer(socket, address, socket.address().port);
  }

  /** `host:port` for a Via sent-by or a Contact (IPv6 bracketed). */
  get hostPort(): string {
    return this.address.includes(':') ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }

  async send(data: string | Buffer, port: number, address: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, address, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Answer a request the peer received, back to where it came from. */
  async reply(req: SipRequest, status: number, toTag?: string): Promise<SipResponse> {
    const res = createResponse(req, status, undefined, status === 100 ? undefined : toTag);
    const arrival = this.arrivals.find((a) => a.message === req);
    if (arrival === undefined) throw new Error('reply() needs a request this peer received');
    await this.send(serializeMessage(res), arrival.from.port, arrival.from.address);
    return res;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** Frames a TCP byte stream into recorded messages, and keeps every raw byte too. */
class StreamRecorder {
  raw = Buffer.alloc(0);
  private readonly framer: StreamFramer;

  constructor(peer: RecordingPeer, from: () => { address: string; port: number }) {
    this.framer = new StreamFramer(
      { maxHeaderBytes: 65535, maxBodyBytes: 65535 },
      {
        message: (buf) => {
          const raw = Buffer.from(buf);
          const r = parseMessage(raw, { stream: true });
          if (!r.ok) throw new Error(`peer received an unparseable message (${r.reason}):\n${raw.toString()}`);
          peer.arrivals.push({ raw, message: r.message, from: from() });
        },
        ping: () => undefined,
        error: (reason) => {
          throw new Error(`peer cannot frame the stream: ${reason}`);
        },
      },
    );
  }

  push(chunk: Buffer): void {
    this.raw = Buffer.concat([this.raw, chunk]);
    this.framer.push(chunk);
  }
}

/** A TCP client connected to a listener. */
export class TcpClientPeer extends RecordingPeer {
  private readonly recorder: StreamRecorder;
  closed = false;

  private constructor(readonly socket: Socket) {
    super();
    this.recorder = new StreamRecorder(this, () => ({ address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }));
    socket.on('data', (chunk: Buffer) => this.recorder.push(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<TcpClientPeer> {
    const socket = tcpConnect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new TcpClientPeer(socket);
  }

  /** Every byte received so far, CRLF keep-alive answers included. */
  get rawReceived(): Buffer {
    return this.recorder.raw;
  }

  get localAddress(): string {
    return this.socket.localAddress ?? '';
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  get hostPort(): string {
    return this.localAddress.includes(':') ? `[${this.localAddress}]:${this.localPort}` : `${this.localAddress}:${this.localPort}`;
  }

  async send(data: string | Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  async reply(req: SipRequest, status: number, toTag?: string): Promise<SipResponse> {
    const res = createResponse(req, status, undefined, status === 100 ? undefined : toTag);
    await this.send(serializeMessage(res));
    return res;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}

/** A TCP server that counts the connections made to it and records what arrives on each. */
export class TcpServerPeer extends RecordingPeer {
  readonly connections: Socket[] = [];
  /** Connections that have closed. */
  closedConnections = 0;

  private constructor(
    readonly server: Server,
    readonly address: string,
    readonly port: number,
  ) {
    super();
    server.on('connection', (socket) => {
      this.connections.push(socket);
      const recorder = new StreamRecorder(this, () => ({ address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }));
      socket.on('data', (chunk: Buffer) => recorder.push(chunk));
      socket.on('close', () => this.closedConnections++);
      socket.on('error', () => undefined);
    });
  }

  static async listen(address = '127.0.0.1', port = 0): Promise<TcpServerPeer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('TCP server has no address');
    return new TcpServerPeer(server, address, addr.port);
  }

  /** Write to the `index`-th connection made to this server. */
  async send(data: string | Buffer, index = 0): Promise<void> {
    const socket = this.connections[index];
    if (socket === undefined) throw new Error(`no connection #${index}`);
    await new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Answer a request on the connection it came on. */
  async reply(req: SipRequest, status: number, toTag?: string, index = 0): Promise<SipResponse> {
    const res = createResponse(req, status, undefined, status === 100 ? undefined : toTag);
    await this.send(serializeMessage(res), index);
    return res;
  }

  async close(): Promise<void> {
    for (const s of this.connections) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ------------------------------------------------------------------ requests

export interface RequestText {
  method: string;
  /** Complete top Via value, e.g. `SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport`. */
  via: string;
  uri?: string;
  callId?: string;
  cseq?: number;
  /** CSeq method; default `method`. */
  cseqMethod?: string;
  fromTag?: string;
  toTag?: string;
  extraHeaders?: string[];
  body?: string;
}

/** Wire text of a request, Content-Length included. */
export function requestText(r: RequestText): string {
  const body = r.body ?? '';
  const lines = [
    `${r.method} ${r.uri ?? 'sip:+15551230000@127.0.0.1'} SIP/2.0`,
    `Via: ${r.via}`,
    'Max-Forwards: 70',
    `From: <sip:+15559870000@pbx.example.com>;tag=${r.fromTag ?? 'from-1'}`,
    `To: <sip:+15551230000@trunk.example.com>${r.toTag !== undefined ? `;tag=${r.toTag}` : ''}`,
    `Call-ID: ${r.callId ?? 'call-1@pbx.example.com'}`,
    `CSeq: ${r.cseq ?? 1} ${r.cseqMethod ?? r.method}`,
    ...(r.extraHeaders ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}

/** A branch id unique within a test run. */
let branchSeq = 0;
export function testBranch(): string {
  branchSeq++;
  return `z9hG4bK-test-${process.pid}-${branchSeq}`;
}

// ------------------------------------------------------------------ the stack under test

export interface RecordedRequest {
  req: SipRequest;
  tx: ServerTransaction | undefined;
}

/** A transaction user that records what it sees and runs an optional hook. */
export class RecordingTu implements TransactionUser {
  readonly requests: RecordedRequest[] = [];
  readonly cancels: Array<{ invite: InviteServerTransaction; cancel: SipRequest }> = [];
  readonly strayResponses: SipResponse[] = [];
  /** Called synchronously inside onRequest. */
  onRequestHook: ((req: SipRequest, tx: ServerTransaction | undefined) => void) | undefined;
  onCancelHook: ((invite: InviteServerTransaction, cancel: SipRequest) => void) | undefined;

  onRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    this.requests.push({ req, tx });
    this.onRequestHook?.(req, tx);
  }

  onCancel(invite: InviteServerTransaction, cancel: SipRequest): void {
    this.cancels.push({ invite, cancel });
    this.onCancelHook?.(invite, cancel);
  }

  onStrayResponse(res: SipResponse): void {
    this.strayResponses.push(res);
  }

  requestsOf(method: string): RecordedRequest[] {
    return this.requests.filter((r) => r.req.method === method);
  }
}

export interface SipStack {
  transport: TransportLayer;
  layer: TransactionLayer;
  tu: RecordingTu;
  udp: BoundListener;
  tcp: BoundListener;
  stop(): Promise<void>;
}

/** A real TransportLayer (UDP + TCP on 127.0.0.1, port 0) under a real TransactionLayer. */
export async function startStack(
  options: { transaction?: TransactionLayerOptions; transport?: Partial<TransportOptions>; listen?: ListenSpec[] } = {},
): Promise<SipStack> {
  const transport = new TransportLayer({
    listen: options.listen ?? [
      { transport: 'udp', host: '127.0.0.1', port: 0 },
      { transport: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    ...options.transport,
  });
  countersOf(transport);
  await transport.start();
  const layer = new TransactionLayer(transport, options.transaction);
  const tu = new RecordingTu();
  layer.attach(tu);
  return {
    transport,
    layer,
    tu,
    udp: transport.localFor('udp'),
    tcp: transport.localFor('tcp'),
    stop: async () => {
      layer.terminateAll();
      await transport.stop();
    },
  };
}

const countersByTransport = new WeakMap<TransportLayer, TransportCounters>();

/** The counters of a transport's events (made when the stack starts, so they see every message). */
export function countersOf(transport: TransportLayer): TransportCounters {
  let c = countersByTransport.get(transport);
  if (c === undefined) {
    c = new TransportCounters(transport.events);
    countersByTransport.set(transport, c);
  }
  return c;
}

/** Messages of one kind (method or status class) the transport has sent: counted synchronously at send time. */
export function sentCount(transport: TransportLayer, kind: MessageKind, via: 'udp' | 'tcp' = 'udp'): number {
  return countersOf(transport).count('out', via, kind);
}

/** Messages of one kind the transport has received and passed up. */
export function receivedCount(transport: TransportLayer, kind: MessageKind, via: 'udp' | 'tcp' = 'udp'): number {
  return countersOf(transport).count('in', via, kind);
}
