/**
 * The transport layer (RFC 3261 §18, RFC 3581): UDP and TCP listeners on IPv4
 * and IPv6, message framing, the receive-side Via processing, response
 * routing, TCP connection reuse and idle timeouts.
 *
 * A malformed message never gets past this layer: it is counted, answered
 * with 400 (or 505/513) when the start line and a Via can be read, and
 * otherwise dropped.
 */
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { createServer, connect as tcpConnect, isIP, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import {
  type MessageSource,
  type SipMessage,
  type SipRequest,
  type Via,
  StreamFramer,
  createResponse,
  formatVia,
  newTag,
  parseMessage,
  parseVia,
  serializeMessage,
  splitList,
  validateMessage,
} from '../message/index.js';
import { bareHost } from '../message/uri.js';
import { describeListenError } from './errors.js';
import { type ListenSpec, type TransportName, formatHostPort, formatListenUrl } from './listen-url.js';
import { TransportStats, methodKind, statusClass } from './transport-stats.js';

export interface Destination {
  transport: TransportName;
  address: string;
  port: number;
  /** Prefer this connection (responses go back on the connection the request came on). */
  connectionId?: number | undefined;
}

export interface TransportOptions {
  listen: ListenSpec[];
  /** Largest UDP datagram, and largest TCP Content-Length, accepted. Default 65535. */
  maxMessageBytes?: number;
  /** Most header lines in one message. Default 256. */
  maxHeaders?: number;
  /** Close a TCP connection after this long without traffic. Default 120000. */
  tcpIdleTimeoutMs?: number;
  /** Give up on an outgoing TCP connection that is not up after this long. Default 5000. */
  tcpConnectTimeoutMs?: number;
  /**
   * Close a TCP connection whose message has started but not finished after
   * this long (slowloris: a byte a second keeps the idle timer from ever
   * firing). Default 20000.
   */
  tcpMessageTimeoutMs?: number;
  /** Most inbound TCP connections at once; more are refused (closed at once). Default 1024. */
  maxTcpConnections?: number;
  /**
   * The address to put in Via, Contact and SDP when a listener is bound to a
   * wildcard (0.0.0.0 or ::). Default: the first non-internal interface address.
   */
  advertisedAddress?: string | null | undefined;
  logger?: Logger | undefined;
}

export interface BoundListener {
  transport: TransportName;
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export type SendErrorCallback = (err: Error) => void;

interface UdpListener extends BoundListener {
  socket: UdpSocket;
}

interface TcpListener extends BoundListener {
  server: Server;
}

interface TcpConnection {
  id: number;
  socket: Socket;
  key: string;
  framer: StreamFramer;
  connected: boolean;
  /** Writes waiting for the connection to come up, with their error callbacks. */
  queue: Array<{ buf: Buffer; onError: SendErrorCallback | undefined }> | undefined;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  family: 'IPv4' | 'IPv6';
}

const PONG = Buffer.from('\r\n');

export class TransportLayer {
  /** Receives every message that parsed and validated. Set by the transaction layer. */
  onMessage: (msg: SipMessage) => void = () => undefined;
  readonly stats = new TransportStats();

  private readonly maxMessageBytes: number;
  private readonly maxHeaders: number;
  private readonly tcpIdleTimeoutMs: number;
  private readonly tcpConnectTimeoutMs: number;
  private readonly tcpMessageTimeoutMs: number;
  private readonly maxTcpConnections: number;
  /** Called when a TCP connection closes (a carrier that died, say). */
  readonly connectionClosedListeners = new Set<(info: { address: string; port: number; connectionId: number }) => void>();
  private readonly log: Logger | undefined;
  private readonly udp: UdpListener[] = [];
  private readonly tcp: TcpListener[] = [];
  private readonly connections = new Map<number, TcpConnection>();
  private readonly connectionsByRemote = new Map<string, TcpConnection>();
  private nextConnectionId = 1;
  private readonly advertised = new Map<string, string>();
  private started = false;

  constructor(private readonly options: TransportOptions) {
    this.maxMessageBytes = options.maxMessageBytes ?? 65535;
    this.maxHeaders = options.maxHeaders ?? 256;
    this.tcpIdleTimeoutMs = options.tcpIdleTimeoutMs ?? 120_000;
    this.tcpConnectTimeoutMs = options.tcpConnectTimeoutMs ?? 5_000;
    this.tcpMessageTimeoutMs = options.tcpMessageTimeoutMs ?? 20_000;
    this.maxTcpConnections = options.maxTcpConnections ?? 1024;
    this.log = options.logger;
  }

  /** Bind every listener. Rejects with a ListenError (clear message, no stack needed) when one cannot bind. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      for (const spec of this.options.listen) {
        if (spec.transport === 'udp') this.udp.push(await this.bindUdp(spec));
        else this.tcp.push(await this.bindTcp(spec));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    for (const conn of this.connections.values()) conn.socket.destroy();
    this.connections.clear();
    this.connectionsByRemote.clear();
    const closing: Promise<void>[] = [];
    for (const l of this.udp) closing.push(new Promise((resolve) => l.socket.close(() => resolve())));
    for (const l of this.tcp) closing.push(new Promise((resolve) => l.server.close(() => resolve())));
    this.udp.length = 0;
    this.tcp.length = 0;
    await Promise.all(closing);
    this.started = false;
  }

  /** The addresses actually bound (ports resolved when 0 was asked for). */
  get listeners(): BoundListener[] {
    return [...this.udp, ...this.tcp].map(({ transport, address, port, family }) => ({ transport, address, port, family }));
  }

  /** Number of open TCP connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * The listener to name in Via sent-by and Contact for traffic to
   * `destination` over `transport` (same address family when possible).
   */
  localFor(transport: TransportName, destinationAddress?: string): BoundListener {
    const list: BoundListener[] = transport === 'udp' ? this.udp : this.tcp;
    const family = destinationAddress !== undefined && isIP(destinationAddress) === 6 ? 'IPv6' : 'IPv4';
    const l = list.find((x) => x.family === family) ?? list[0];
    if (l === undefined) throw new Error(`no ${transport} listener is configured`);
    return l;
  }

  /** `host:port` of a listener, IPv6 bracketed: what goes into Via sent-by and Contact. */
  hostPort(l: BoundListener): string {
    return formatHostPort(this.advertise(l.address), l.port);
  }

  /**
   * The address peers can reach for a local address: itself, unless it is a
   * wildcard (0.0.0.0, ::), which is never a destination.
   */
  advertise(address: string): string {
    if (address !== '0.0.0.0' && address !== '::') return address;
    let advertised = this.advertised.get(address);
    if (advertised === undefined) {
      // looked up once: this is on the path of every Via and Contact
      advertised = this.options.advertisedAddress ?? firstInterfaceAddress(address === '::' ? 'IPv6' : 'IPv4') ?? (address === '::' ? '::1' : '127.0.0.1');
      this.advertised.set(address, advertised);
    }
    return advertised;
  }

  /**
   * Send bytes. `kind` labels the counter (method or status class). Errors on
   * connection-oriented transports are reported through `onError`
   * asynchronously (RFC 3261 §17.1.4 transport errors).
   */
  send(buf: Buffer, dest: Destination, kind: string, onError?: SendErrorCallback): void {
    this.stats.count('out', dest.transport, kind);
    if (dest.transport === 'udp') this.sendUdp(buf, dest, onError);
    else this.sendTcp(buf, dest, onError);
  }

  /** Serialize and send a message. */
  sendMessage(msg: SipMessage, dest: Destination, onError?: SendErrorCallback): Buffer {
    const buf = serializeMessage(msg);
    this.send(buf, dest, msg.isRequest ? methodKind(msg.method) : statusClass(msg.status), onError);
    return buf;
  }

  /**
   * Where responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4): back on
   * its connection for TCP; to `maddr`; to the source address and port when
   * `rport` was asked for; else to the source address and the sent-by port.
   */
  responseDestination(req: SipRequest): Destination {
    const source = req.source;
    const via = req.topVia;
    if (source === undefined || via === undefined) throw new Error('responseDestination needs a received request with a Via');
    return responseDestinationFor(via, source);
  }

  // ---------------------------------------------------------------- receive

  private receive(buf: Buffer, source: MessageSource, stream: boolean): void {
    const transport = source.transport;
    const parsed = parseMessage(buf, { maxMessageBytes: this.maxMessageBytes, maxHeaders: this.maxHeaders, stream });
    if (!parsed.ok) {
      this.stats.parseErrors[transport]++;
      const partial = parsed.partial;
      if (partial !== undefined && partial.isRequest) {
        partial.source = source;
        this.rejectBadRequest(partial, parsed.status, parsed.reason);
      } else {
        this.stats.dropped++;
        this.log?.debug({ transport, from: source.address, reason: parsed.reason }, 'dropped unparseable message');
      }
      return;
    }
    const msg = parsed.message;
    msg.source = source;
    const fault = validateMessage(msg);
    if (fault !== undefined) {
      this.stats.parseErrors[transport]++;
      if (msg.isRequest) this.rejectBadRequest(msg, fault.status, fault.reason);
      else {
        this.stats.dropped++;
        this.log?.debug({ transport, from: source.address, reason: fault.reason }, 'dropped malformed response');
      }
      return;
    }
    if (msg.isRequest) {
      this.stats.count('in', transport, methodKind(msg.method));
      stampReceived(msg, source);
    } else {
      this.stats.count('in', transport, statusClass(msg.status));
    }
    try {
      this.onMessage(msg);
    } catch (err) {
      // A bug above us must not take the listener down with it.
      this.log?.error({ err, callId: msg.callId }, 'message handler threw');
    }
  }

  /** Answer a request we cannot process, when it can be addressed; never answer an ACK. */
  private rejectBadRequest(req: SipRequest, status: number, reason: string): void {
    const source = req.source as MessageSource;
    const viaRaw = req.topViaRaw;
    const via = viaRaw === undefined ? undefined : parseVia(viaRaw);
    if (req.method === 'ACK' || via === undefined || !via.ok) {
      this.stats.dropped++;
      this.log?.debug({ transport: source.transport, from: source.address, reason }, 'dropped malformed request');
      return;
    }
    this.stats.rejected++;
    const res = createResponse(req, status, undefined, newTag());
    res.headers.append('Warning', `399 trunkgate "${reason.replace(/["\\]/g, "'")}"`);
    this.log?.debug({ transport: source.transport, from: source.address, status, reason }, 'rejected malformed request');
    this.sendMessage(res, responseDestinationFor(via.via, source));
  }

  // ---------------------------------------------------------------- UDP

  private bindUdp(spec: ListenSpec): Promise<UdpListener> {
    const family = isIP(spec.host) === 6 ? 'IPv6' : 'IPv4';
    const socket = createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4', ipv6Only: family === 'IPv6' });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.close(); // dgram keeps the descriptor of a socket that failed to bind
        reject(describeListenError(formatListenUrl(spec), err));
      };
      socket.once('error', onError);
      socket.bind(spec.port, spec.host, () => {
        socket.off('error', onError);
        const addr = socket.address();
        const listener: UdpListener = { transport: 'udp', address: addr.address, port: addr.port, family, socket };
        socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => this.onDatagram(listener, buf, rinfo));
        socket.on('error', (err) => this.log?.warn({ err }, 'UDP socket error'));
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
          socket.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // the OS may cap buffer sizes; the defaults still work
        }
        resolve(listener);
      });
    });
  }

  private onDatagram(listener: UdpListener, buf: Buffer, rinfo: RemoteInfo): void {
    // CRLF keep-alives on UDP carry no message
    if (buf.length <= 4 && buf.every((b) => b === 0x0d || b === 0x0a)) {
      this.stats.keepAlivePings++;
      return;
    }
    this.receive(
      buf,
      {
        transport: 'udp',
        address: rinfo.address,
        port: rinfo.port,
        family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4',
        localAddress: listener.address,
        localPort: listener.port,
        connectionId: undefined,
        receivedAt: performance.now(),
      },
      false,
    );
  }

  private sendUdp(buf: Buffer, dest: Destination, onError: SendErrorCallback | undefined): void {
    const family = isIP(dest.address) === 6 ? 'IPv6' : 'IPv4';
    const l = this.udp.find((x) => x.family === family) ?? this.udp[0];
    if (l === undefined) {
      onError?.(new Error('no UDP listener to send from'));
      return;
    }
    l.socket.send(buf, dest.port, dest.address, (err) => {
      if (err) {
        this.log?.debug({ err, to: dest.address }, 'UDP send failed');
        onError?.(err);
      }
    });
  }

  // ---------------------------------------------------------------- TCP

  private bindTcp(spec: ListenSpec): Promise<TcpListener> {
    const family = isIP(spec.host) === 6 ? 'IPv6' : 'IPv4';
    const server = createServer({ noDelay: true });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(describeListenError(formatListenUrl(spec), err));
      server.once('error', onError);
      server.listen({ port: spec.port, host: spec.host, ipv6Only: family === 'IPv6', backlog: 1024 }, () => {
        server.off('error', onError);
        const addr = server.address();
        if (addr === null || typeof addr === 'string') {
          reject(new Error('TCP listener has no address'));
          return;
        }
        const listener: TcpListener = { transport: 'tcp', address: addr.address, port: addr.port, family, server };
        server.maxConnections = this.maxTcpConnections;
        server.on('drop', () => {
          this.stats.tcpRefused++;
        });
        server.on('connection', (socket) => this.adoptConnection(socket, true));
        server.on('error', (err) => this.log?.warn({ err }, 'TCP server error'));
        resolve(listener);
      });
    });
  }

  private adoptConnection(socket: Socket, accepted: boolean, remote?: { address: string; port: number }): TcpConnection {
    const id = this.nextConnectionId++;
    const remoteAddress = remote?.address ?? socket.remoteAddress ?? '';
    const remotePort = remote?.port ?? socket.remotePort ?? 0;
    const conn: TcpConnection = {
      id,
      socket,
      key: remoteKey(remoteAddress, remotePort),
      connected: accepted,
      queue: accepted ? undefined : [],
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
      remoteAddress,
      remotePort,
      family: isIP(remoteAddress) === 6 ? 'IPv6' : 'IPv4',
      framer: new StreamFramer(
        { maxHeaderBytes: this.maxMessageBytes, maxBodyBytes: this.maxMessageBytes },
        {
          message: (buf) => this.receive(buf, this.tcpSource(conn), true),
          ping: () => {
            this.stats.keepAlivePings++;
            if (!socket.destroyed) socket.write(PONG);
          },
          error: (reason, status, head) => this.onStreamError(conn, reason, status, head),
        },
      ),
    };
    if (accepted) this.stats.tcpAccepted++;
    this.connections.set(id, conn);
    this.connectionsByRemote.set(conn.key, conn);
    socket.setNoDelay(true);
    socket.setTimeout(this.tcpIdleTimeoutMs);
    socket.on('timeout', () => {
      this.stats.tcpIdleClosed++;
      socket.destroy();
    });
    let partialTimer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => {
      conn.framer.push(chunk);
      // A message that has started must finish within tcpMessageTimeoutMs.
      if (conn.framer.bufferedBytes === 0) {
        clearTimeout(partialTimer);
        partialTimer = undefined;
      } else if (partialTimer === undefined) {
        partialTimer = setTimeout(() => {
          this.stats.tcpPartialTimeouts++;
          this.log?.debug({ remote: conn.key }, 'closing TCP connection: message not finished in time');
          socket.destroy();
        }, this.tcpMessageTimeoutMs);
        partialTimer.unref();
      }
    });
    socket.on('error', (err) => {
      this.log?.debug({ err, remote: conn.key }, 'TCP connection error');
      this.failQueue(conn, err);
    });
    socket.on('close', () => {
      clearTimeout(partialTimer);
      this.failQueue(conn, new Error('connection closed'));
      for (const listener of this.connectionClosedListeners) listener({ address: conn.remoteAddress, port: conn.remotePort, connectionId: conn.id });
      this.connections.delete(id);
      if (this.connectionsByRemote.get(conn.key) === conn) this.connectionsByRemote.delete(conn.key);
    });
    return conn;
  }

  private tcpSource(conn: TcpConnection): MessageSource {
    return {
      transport: 'tcp',
      address: conn.remoteAddress,
      port: conn.remotePort,
      family: conn.family,
      localAddress: conn.localAddress,
      localPort: conn.localPort,
      connectionId: conn.id,
      receivedAt: performance.now(),
    };
  }

  private onStreamError(conn: TcpConnection, reason: string, status: 400 | 513, head: Buffer | undefined): void {
    this.stats.parseErrors.tcp++;
    if (status === 513 && head !== undefined) {
      const partial = parseMessage(head, { stream: true, maxMessageBytes: Number.MAX_SAFE_INTEGER });
      const msg = partial.ok ? partial.message : partial.partial;
      if (msg !== undefined && msg.isRequest) {
        msg.source = this.tcpSource(conn);
        this.rejectBadRequest(msg, 513, reason);
      }
    }
    this.log?.debug({ remote: conn.key, reason }, 'closing TCP connection: cannot frame stream');
    conn.socket.end();
    conn.socket.destroySoon();
  }

  private sendTcp(buf: Buffer, dest: Destination, onError: SendErrorCallback | undefined): void {
    let conn = dest.connectionId !== undefined ? this.connections.get(dest.connectionId) : undefined;
    if (conn === undefined || conn.socket.destroyed) conn = this.connectionsByRemote.get(remoteKey(dest.address, dest.port));
    if (conn === undefined || conn.socket.destroyed) conn = this.openConnection(dest);
    if (conn.queue !== undefined) conn.queue.push({ buf, onError });
    else writeTo(conn.socket, buf, onError);
  }

  private openConnection(dest: Destination): TcpConnection {
    const local = this.tcp.find((l) => l.family === (isIP(dest.address) === 6 ? 'IPv6' : 'IPv4'));
    const socket = tcpConnect({ host: dest.address, port: dest.port, localAddress: local?.address, noDelay: true });
    const conn = this.adoptConnection(socket, false, { address: dest.address, port: dest.port });
    const timer = setTimeout(() => {
      if (!conn.connected) socket.destroy(new Error(`TCP connect to ${formatHostPort(dest.address, dest.port)} timed out`));
    }, this.tcpConnectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      this.stats.tcpConnected++;
      conn.connected = true;
      conn.localAddress = socket.localAddress ?? '';
      conn.localPort = socket.localPort ?? 0;
      const queue = conn.queue ?? [];
      conn.queue = undefined;
      for (const item of queue) writeTo(socket, item.buf, item.onError);
    });
    socket.once('close', () => clearTimeout(timer));
    return conn;
  }

  private failQueue(conn: TcpConnection, err: Error): void {
    const queue = conn.queue;
    if (queue === undefined || queue.length === 0) return;
    conn.queue = [];
    for (const item of queue) item.onError?.(err);
  }
}

/** The first non-internal interface address of a family (what a wildcard listener is reached at). */
export function firstInterfaceAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === family && !a.address.startsWith('fe80')) return a.address;
  }
  return undefined;
}

/** Write, reporting a failed write (connection reset after it was up) to the sender (§17.1.4). */
function writeTo(socket: Socket, buf: Buffer, onError: SendErrorCallback | undefined): void {
  if (onError === undefined) socket.write(buf);
  else socket.write(buf, (err) => err && onError(err));
}

function remoteKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** RFC 3261 §18.2.2 and RFC 3581 §4. */
export function responseDestinationFor(via: Via, source: MessageSource): Destination {
  if (source.transport === 'tcp') {
    return { transport: 'tcp', address: source.address, port: via.port ?? 5060, connectionId: source.connectionId };
  }
  if (via.maddr !== undefined) return { transport: 'udp', address: bareHost(via.maddr), port: via.port ?? 5060 };
  if (via.rport !== undefined) return { transport: 'udp', address: source.address, port: source.port };
  return { transport: 'udp', address: source.address, port: via.port ?? 5060 };
}

/**
 * RFC 3261 §18.2.1 / RFC 3581 §4: a server records where a request really
 * came from in its top Via: `received` when the sent-by host differs from the
 * source address (always, when `rport` is asked for), and the source port in
 * `rport`. Only rewrites the header when something must be added.
 */
function stampReceived(req: SipRequest, source: MessageSource): void {
  const via = req.topVia;
  if (via === undefined) return;
  const sameHost = bareHost(via.host) === source.address.toLowerCase();
  if (via.rport !== true && sameHost) return;
  if (!sameHost || via.rport === true) via.params.set('received', source.address);
  if (via.rport === true) {
    via.params.set('rport', String(source.port));
    via.rport = source.port;
  }
  via.received = source.address;
  const h = req.headers;
  const first = h.names.indexOf('via');
  const line = h.values[first] as string;
  let rest = '';
  if (line.indexOf(',') !== -1) {
    const parts: string[] = [];
    splitList(line, parts);
    rest = parts.length > 1 ? ', ' + parts.slice(1).join(', ') : '';
  }
  h.values[first] = formatVia(via) + rest;
}
