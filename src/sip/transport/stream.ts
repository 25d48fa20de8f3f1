/**
 * What every stream transport shares (TCP now, TLS next; RFC 3261 §18.3):
 * the framer (Content-Length, CRLF keep-alives), the connection pool with
 * reuse in both directions, the connection caps (global and per source IP),
 * and the idle, connect and partial-message timeouts. A subclass says how to listen and how to connect.
 */
import { isIP, type Server, type Socket } from 'node:net';
import { StreamFramer, type MessageSource, type TransportName } from '../message/index.js';
import { nextConnectionId } from './connection-ids.js';
import { type ListenSpec, formatHostPort } from './listen-url.js';
import { type Protocol, type ProtocolContext, connectionSource, familyOf, listenServer } from './protocol.js';
import type { BoundListener, Destination, SendErrorCallback } from './sip-transport.js';

interface StreamListener extends BoundListener {
  server: Server;
}

interface Connection {
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

export abstract class StreamProtocol implements Protocol {
  abstract readonly name: TransportName;
  private readonly servers: StreamListener[] = [];
  private readonly connections = new Map<number, Connection>();
  private readonly byRemote = new Map<string, Connection>();
  /** Inbound connections open per source IP address (the per-source cap). */
  private readonly inboundBySource = new Map<string, number>();

  constructor(protected readonly ctx: ProtocolContext) {}

  /** A server for one listener; `connectionEvent` is the event a ready connection arrives by. */
  protected abstract createServer(): Server | Promise<Server>;
  protected abstract readonly connectionEvent: string;
  /** Open a connection to `dest`; `readyEvent` is emitted once it can carry messages. */
  protected abstract connect(dest: Destination, localAddress: string | undefined): { socket: Socket; readyEvent: string };

  get listeners(): readonly BoundListener[] {
    return this.servers;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(spec: ListenSpec): Promise<BoundListener> {
    const family = familyOf(isIP(spec.host));
    const server = await this.createServer();
    const addr = await listenServer(server, spec, family, this.name);
    const listener: StreamListener = { transport: this.name, address: addr.address, port: addr.port, family, server };
    server.maxConnections = this.ctx.limits.maxConnections;
    server.on('drop', () => this.ctx.events.emit('connection', this.name, 'refused'));
    server.on(this.connectionEvent, (socket: Socket) => this.accept(socket));
    server.on('error', (err) => this.ctx.log?.warn({ err, transport: this.name }, 'stream server error'));
    this.servers.push(listener);
    return listener;
  }

  async stop(): Promise<void> {
    for (const conn of this.connections.values()) conn.socket.destroy();
    this.connections.clear();
    this.byRemote.clear();
    this.inboundBySource.clear();
    const closing = this.servers.map((l) => new Promise<void>((resolve) => l.server.close(() => resolve())));
    this.servers.length = 0;
    await Promise.all(closing);
  }

  send(buf: Buffer, dest: Destination, onError?: SendErrorCallback): void {
    let conn = dest.connectionId !== undefined ? this.connections.get(dest.connectionId) : undefined;
    if (conn === undefined || conn.socket.destroyed) conn = this.byRemote.get(remoteKey(dest.address, dest.port));
    if (conn === undefined || conn.socket.destroyed) conn = this.open(dest);
    if (conn.queue !== undefined) conn.queue.push({ buf, onError });
    else writeTo(conn.socket, buf, onError);
  }

  private open(dest: Destination): Connection {
    const local = this.servers.find((l) => l.family === familyOf(isIP(dest.address)));
    const { socket, readyEvent } = this.connect(dest, local?.address);
    const conn = this.adopt(socket, false, { address: dest.address, port: dest.port });
    const timer = setTimeout(() => {
      if (!conn.connected) socket.destroy(new Error(`${this.name} connect to ${formatHostPort(dest.address, dest.port)} timed out`));
    }, this.ctx.limits.connectTimeoutMs);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      this.ctx.events.emit('connection', this.name, 'connected');
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

  /**
   * An inbound connection: refused (closed at once) when its source already
   * holds `maxConnectionsPerSource` of them, so one host cannot take every
   * slot of the global cap; otherwise adopted.
   */
  private accept(socket: Socket): void {
    const source = socket.remoteAddress ?? '';
    const open = this.inboundBySource.get(source) ?? 0;
    if (open >= this.ctx.limits.maxConnectionsPerSource) {
      this.ctx.events.emit('connection', this.name, 'source-refused');
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.inboundBySource.set(source, open + 1);
    socket.once('close', () => {
      const n = (this.inboundBySource.get(source) ?? 1) - 1;
      if (n <= 0) this.inboundBySource.delete(source);
      else this.inboundBySource.set(source, n);
    });
    this.adopt(socket, true);
  }

  private adopt(socket: Socket, accepted: boolean, remote?: { address: string; port: number }): Connection {
    const id = nextConnectionId();
    const remoteAddress = remote?.address ?? socket.remoteAddress ?? '';
    const remotePort = remote?.port ?? socket.remotePort ?? 0;
    const limits = this.ctx.limits;
    const conn: Connection = {
      id,
      socket,
      key: remoteKey(remoteAddress, remotePort),
      connected: accepted,
      queue: accepted ? undefined : [],
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
      remoteAddress,
      remotePort,
      family: familyOf(isIP(remoteAddress)),
      framer: new StreamFramer(
        { maxHeaderBytes: limits.maxMessageBytes, maxBodyBytes: limits.maxMessageBytes },
        {
          message: (buf) => this.ctx.receive(buf, this.sourceOf(conn)),
          ping: () => {
            this.ctx.events.emit('keepAlive', this.name);
            if (!socket.destroyed) socket.write(PONG);
          },
          error: (reason, status, head) => this.onFramingError(conn, reason, status, head),
        },
      ),
    };
    if (accepted) this.ctx.events.emit('connection', this.name, 'accepted');
    this.connections.set(id, conn);
    this.byRemote.set(conn.key, conn);
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs);
    socket.on('timeout', () => {
      this.ctx.events.emit('connection', this.name, 'idle-timeout');
      socket.destroy();
    });
    let partialTimer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => {
      conn.framer.push(chunk);
      // A message that has started must finish within messageTimeoutMs.
      if (conn.framer.bufferedBytes === 0) {
        clearTimeout(partialTimer);
        partialTimer = undefined;
      } else if (partialTimer === undefined) {
        partialTimer = setTimeout(() => {
          this.ctx.events.emit('connection', this.name, 'partial-timeout');
          this.ctx.log?.debug({ remote: conn.key }, 'closing connection: message not finished in time');
          socket.destroy();
        }, limits.messageTimeoutMs);
        partialTimer.unref();
      }
    });
    socket.on('error', (err) => {
      this.ctx.log?.debug({ err, remote: conn.key }, 'connection error');
      failQueue(conn, err);
    });
    socket.on('close', () => {
      clearTimeout(partialTimer);
      failQueue(conn, new Error('connection closed'));
      this.connections.delete(id);
      if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
      this.ctx.flowClosed({ transport: this.name, address: conn.remoteAddress, port: conn.remotePort, connectionId: conn.id });
    });
    return conn;
  }

  private sourceOf(conn: Connection): MessageSource {
    return connectionSource(this.name, conn);
  }

  private onFramingError(conn: Connection, reason: string, status: 400 | 513, head: Buffer | undefined): void {
    if (status === 513 && head !== undefined) this.ctx.rejectHead(head, this.sourceOf(conn), 513, reason);
    else this.ctx.events.emit('badMessage', this.name, 'dropped');
    this.ctx.log?.debug({ remote: conn.key, reason }, 'closing connection: cannot frame stream');
    conn.socket.end();
    conn.socket.destroySoon();
  }
}

/** Write, reporting a failed write (connection reset after it was up) to the sender (§17.1.4). */
function writeTo(socket: Socket, buf: Buffer, onError: SendErrorCallback | undefined): void {
  if (onError === undefined) socket.write(buf);
  else socket.write(buf, (err) => err && onError(err));
}

function failQueue(conn: Connection, err: Error): void {
  const queue = conn.queue;
  if (queue === undefined || queue.length === 0) return;
  conn.queue = [];
  for (const item of queue) item.onError?.(err);
}

function remoteKey(address: string, port: number): string {
  return `${address}|${port}`;
}
