/**
 * SIP over WebSocket (RFC 7118): `ws://` and `wss://` listeners, the
 * transport of browser softphones (SIP.js, JsSIP). The WebSocket protocol is
 * the `ws` package's (maintained, no native code, what Node's own tests and
 * most servers use): it does the handshake, the framing and ping/pong.
 * This module adds what SIP needs:
 *
 * - The handshake must ask for the `sip` subprotocol (RFC 7118 §4.1), and the
 *   answer names it (browsers and SIP.js close a connection whose answer does
 *   not); anything else gets `400 Bad Request`, a plain HTTP request `426`.
 * - One SIP message per WebSocket message, text or binary (§5): no
 *   Content-Length framing. A message over `maxMessageBytes` closes the
 *   connection (1009). A message of CRLFs only is a keep-alive, answered
 *   with one CRLF (SIP.js sends them).
 * - Connection caps like the stream transports: at most `maxConnections`
 *   at once and `maxConnectionsPerSource` from one address; more get `503`
 *   at the handshake. A slow handshake is cut off after `messageTimeoutMs`.
 * - Liveness: a WebSocket ping every `wsPingIntervalMs`; a connection that
 *   has not answered (pong or any message) by the next one is closed. A
 *   registered browser says nothing between its REGISTER refreshes, so the
 *   TCP idle timeout is not used here.
 * - A WebSocket client cannot be connected to (§5: it has no listener of its
 *   own), so requests reach it only over its open connection (its flow):
 *   sending to a client whose connection has closed fails at once.
 */
import { type IncomingMessage, type Server as HttpServer, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { MessageSource } from '../message/index.js';
import { nextConnectionId } from './connection-ids.js';
import { type ListenSpec, formatHostPort } from './listen-url.js';
import { type Protocol, type ProtocolContext, connectionSource, familyOf, listenServer } from './protocol.js';
import type { BoundListener, Destination, SendErrorCallback } from './sip-transport.js';

/** The WebSocket subprotocol of SIP (RFC 7118 §4.1, IANA). */
export const SIP_SUBPROTOCOL = 'sip';

interface WsListener extends BoundListener {
  server: HttpServer;
}

interface WsConnection {
  id: number;
  socket: WebSocket;
  key: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  family: 'IPv4' | 'IPv6';
  /** Heard from since the last ping. */
  alive: boolean;
}

const PONG = '\r\n';

/** Whether a message is a keep-alive: CRLFs only (RFC 5626 §4.4.1 style, as SIP.js sends them). */
function isKeepAlive(buf: Buffer): boolean {
  if (buf.length === 0) return false;
  for (const b of buf) if (b !== 0x0d && b !== 0x0a) return false;
  return true;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The subprotocols a handshake offers (`Sec-WebSocket-Protocol: sip, foo`). */
export function offeredSubprotocols(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return values.flatMap((v) => v.split(',')).map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0);
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, text: string): void {
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`, () => socket.destroy());
}

export class WsProtocol implements Protocol {
  private readonly servers: WsListener[] = [];
  private readonly connections = new Map<number, WsConnection>();
  private readonly byRemote = new Map<string, WsConnection>();
  /** Open connections (and handshakes under way) per source address: the per-source cap. */
  private readonly bySource = new Map<string, number>();
  private readonly wss: WebSocketServer;
  private pinger: NodeJS.Timeout | undefined;
  private handshakes = 0;

  constructor(
    readonly name: 'ws' | 'wss',
    private readonly ctx: ProtocolContext,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: ctx.limits.maxMessageBytes,
      handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
    });
  }

  get listeners(): readonly BoundListener[] {
    return this.servers;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private async createServer(): Promise<HttpServer> {
    if (this.name === 'ws') return createHttpServer();
    if (this.ctx.tls === undefined) throw new Error('a wss listener needs TLS material (a certificate and a key)');
    const { cert, key } = await this.ctx.tls();
    const server = createHttpsServer({ cert, key, minVersion: 'TLSv1.2' });
    server.on('tlsClientError', (err) => this.ctx.log?.debug({ err: err.message }, 'TLS handshake failed (wss)'));
    return server;
  }

  async listen(spec: ListenSpec): Promise<BoundListener> {
    const family = familyOf(isIP(spec.host));
    const server = await this.createServer();
    // a handshake must arrive whole within the partial-message timeout (slowloris)
    server.headersTimeout = this.ctx.limits.messageTimeoutMs;
    server.requestTimeout = this.ctx.limits.messageTimeoutMs;
    const addr = await listenServer(server, spec, family, this.name);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    server.on('request', (_req, res) => {
      res.writeHead(426, { upgrade: 'websocket', connection: 'close', 'content-type': 'text/plain' });
      res.end('SIP over WebSocket (RFC 7118): open a WebSocket with the "sip" subprotocol\n');
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    server.on('error', (err) => this.ctx.log?.warn({ err, transport: this.name }, 'WebSocket server error'));
    const listener: WsListener = { transport: this.name, address: addr.address, port: addr.port, family, server };
    this.servers.push(listener);
    this.startPinging();
    return listener;
  }

  private startPinging(): void {
    if (this.pinger !== undefined) return;
    this.pinger = setInterval(() => this.ping(), this.ctx.limits.wsPingIntervalMs);
    this.pinger.unref();
  }

  /** Close connections that said nothing since the last ping; ping the others. */
  private ping(): void {
    for (const conn of this.connections.values()) {
      if (!conn.alive) {
        this.ctx.events.emit('connection', this.name, 'idle-timeout');
        this.ctx.log?.debug({ remote: conn.key }, 'closing WebSocket: no pong since the last ping');
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.socket.ping();
      } catch {
        conn.socket.terminate();
      }
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const source = req.socket.remoteAddress ?? '';
    if (!offeredSubprotocols(req.headers['sec-websocket-protocol']).includes(SIP_SUBPROTOCOL)) {
      this.ctx.log?.debug({ from: source }, 'WebSocket handshake without the sip subprotocol: refused');
      refuseUpgrade(socket, 400, 'Bad Request', 'SIP over WebSocket needs "Sec-WebSocket-Protocol: sip" (RFC 7118)\n');
      return;
    }
    if (this.connections.size + this.handshakes >= this.ctx.limits.maxConnections) {
      this.ctx.events.emit('connection', this.name, 'refused');
      refuseUpgrade(socket, 503, 'Service Unavailable', 'too many WebSocket connections\n');
      return;
    }
    const open = this.bySource.get(source) ?? 0;
    if (open >= this.ctx.limits.maxConnectionsPerSource) {
      this.ctx.events.emit('connection', this.name, 'source-refused');
      refuseUpgrade(socket, 503, 'Service Unavailable', 'too many WebSocket connections from this address\n');
      return;
    }
    this.bySource.set(source, open + 1);
    this.handshakes++;
    let pending = true;
    const settle = (): void => {
      if (!pending) return;
      pending = false;
      this.handshakes = Math.max(0, this.handshakes - 1);
    };
    // the raw socket closes once, whether the handshake failed or the WebSocket ended
    socket.once('close', () => {
      settle();
      const n = (this.bySource.get(source) ?? 1) - 1;
      if (n <= 0) this.bySource.delete(source);
      else this.bySource.set(source, n);
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      settle();
      this.adopt(ws, req);
    });
  }

  private adopt(socket: WebSocket, req: IncomingMessage): void {
    const raw = req.socket;
    const remoteAddress = raw.remoteAddress ?? '';
    const remotePort = raw.remotePort ?? 0;
    const conn: WsConnection = {
      id: nextConnectionId(),
      socket,
      key: remoteKey(remoteAddress, remotePort),
      remoteAddress,
      remotePort,
      localAddress: raw.localAddress ?? '',
      localPort: raw.localPort ?? 0,
      family: familyOf(isIP(remoteAddress)),
      alive: true,
    };
    this.connections.set(conn.id, conn);
    this.byRemote.set(conn.key, conn);
    this.ctx.events.emit('connection', this.name, 'accepted');
    socket.on('message', (data: RawData) => this.onMessage(conn, toBuffer(data)));
    socket.on('pong', () => {
      conn.alive = true;
    });
    socket.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.ctx.events.emit('badMessage', this.name, 'dropped');
      this.ctx.log?.debug({ err: err.message, remote: conn.key }, 'WebSocket error');
    });
    socket.on('close', () => {
      this.connections.delete(conn.id);
      if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
      this.ctx.flowClosed({ transport: this.name, address: conn.remoteAddress, port: conn.remotePort, connectionId: conn.id });
    });
  }

  private onMessage(conn: WsConnection, buf: Buffer): void {
    conn.alive = true;
    if (isKeepAlive(buf)) {
      this.ctx.events.emit('keepAlive', this.name);
      conn.socket.send(PONG);
      return;
    }
    this.ctx.receive(buf, this.sourceOf(conn));
  }

  private sourceOf(conn: WsConnection): MessageSource {
    return connectionSource(this.name, conn);
  }

  send(buf: Buffer, dest: Destination, onError?: SendErrorCallback): void {
    let conn = dest.connectionId !== undefined ? this.connections.get(dest.connectionId) : undefined;
    conn ??= this.byRemote.get(remoteKey(dest.address, dest.port));
    if (conn === undefined || conn.socket.readyState !== conn.socket.OPEN) {
      const err = new Error(`no open WebSocket connection to ${formatHostPort(dest.address, dest.port)}: a WebSocket client is reached only over its own connection (RFC 7118 §5)`);
      if (onError !== undefined) queueMicrotask(() => onError(err));
      return;
    }
    // a text frame: SIP is text, and browsers hand text frames to SIP.js and JsSIP as strings
    conn.socket.send(buf, { binary: false }, (err) => {
      if (err !== undefined && err !== null) onError?.(err);
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.pinger);
    this.pinger = undefined;
    for (const conn of this.connections.values()) conn.socket.terminate();
    this.connections.clear();
    this.byRemote.clear();
    this.bySource.clear();
    this.handshakes = 0;
    const closing = this.servers.map(
      (l) =>
        new Promise<void>((resolve) => {
          l.server.closeAllConnections();
          l.server.close(() => resolve());
        }),
    );
    this.servers.length = 0;
    await Promise.all(closing);
  }
}

function remoteKey(address: string, port: number): string {
  return `${address}|${port}`;
}
