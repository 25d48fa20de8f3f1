/**
 * What one protocol module (udp.ts, tcp.ts, …) implements, and what the
 * transport layer gives it. A module binds its listeners, sends bytes and
 * hands every received message (or stream frame) to `ProtocolContext.receive`;
 * parsing, validation and response routing are the layer's, shared by all.
 */
import type { AddressInfo, Server } from 'node:net';
import type { Logger } from 'pino';
import type { MessageSource, TransportName } from '../message/index.js';
import { describeListenError } from './errors.js';
import { type ListenSpec, formatListenUrl } from './listen-url.js';
import type { BoundListener, Destination, Flow, SendErrorCallback, TransportEvents } from './sip-transport.js';

/** Limits and timeouts, resolved (every option has its value). */
export interface TransportLimits {
  /** Largest UDP datagram, and largest stream Content-Length, accepted. */
  maxMessageBytes: number;
  /** Most header lines in one message. */
  maxHeaders: number;
  /** Close a stream connection after this long without traffic. */
  idleTimeoutMs: number;
  /** Give up on an outgoing connection that is not up after this long. */
  connectTimeoutMs: number;
  /**
   * Close a connection whose message has started but not finished after this
   * long (slowloris: a byte a second keeps the idle timer from ever firing).
   */
  messageTimeoutMs: number;
  /** Most inbound stream connections at once, per protocol; more are refused. */
  maxConnections: number;
  /** Most inbound stream connections at once from one source IP address, per protocol; more are refused. */
  maxConnectionsPerSource: number;
  /** WebSocket ping interval: a connection that answers nothing between two pings is closed. */
  wsPingIntervalMs: number;
}

/** What TLS needs: our certificate and key, and how to check the peers we connect to. */
export interface TlsMaterial {
  /** PEM certificate (chain) and private key of our listeners. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM trust anchors for the peers we connect to; undefined: Node's default CA list. */
  ca?: string | Buffer | undefined;
  /** Check the certificates of peers we connect to (a carrier); off for lab carriers with self-signed ones. */
  verifyPeers: boolean;
}

export interface ProtocolContext {
  readonly limits: TransportLimits;
  /** Our TLS material, made or read when a TLS listener first needs it. */
  readonly tls: (() => Promise<TlsMaterial>) | undefined;
  readonly events: TransportEvents;
  readonly log: Logger | undefined;
  /** Parse, validate and deliver bytes that arrived (a datagram, or one framed stream message). */
  receive(buf: Buffer, source: MessageSource): void;
  /**
   * A stream could not be framed (a message too large, say): answer the
   * request whose head was read, when it can be addressed.
   */
  rejectHead(head: Buffer, source: MessageSource, status: number, reason: string): void;
  /** A connection closed. */
  flowClosed(flow: Flow): void;
}

export interface Protocol {
  readonly name: TransportName;
  /** Bind one listener. Rejects with a ListenError the operator can act on. */
  listen(spec: ListenSpec): Promise<BoundListener>;
  readonly listeners: readonly BoundListener[];
  /** Send bytes; errors come back through `onError` (asynchronously for streams). */
  send(buf: Buffer, dest: Destination, onError?: SendErrorCallback): void;
  /** Open connections (0 for connectionless protocols). */
  readonly connectionCount: number;
  stop(): Promise<void>;
}

export type ProtocolFactory = (ctx: ProtocolContext) => Protocol;

/** `IPv6` for an IPv6 literal, else `IPv4`. */
export function familyOf(isIpResult: number): 'IPv4' | 'IPv6' {
  return isIpResult === 6 ? 'IPv6' : 'IPv4';
}

/** Both ends of a connection, as the stream and WebSocket modules keep them. */
export interface ConnectionEnds {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  family: 'IPv4' | 'IPv6';
}

/** Where a message that arrived over connection `conn` of `transport` came from (stamped now). */
export function connectionSource(transport: TransportName, conn: ConnectionEnds): MessageSource {
  return {
    transport,
    address: conn.remoteAddress,
    port: conn.remotePort,
    family: conn.family,
    localAddress: conn.localAddress,
    localPort: conn.localPort,
    connectionId: conn.id,
    receivedAt: performance.now(),
  };
}

/**
 * Bind a connection server (TCP, TLS, or the HTTP server under WebSocket) to `spec`: IPv6 only
 * for an IPv6 `family`, a backlog of 1,024. Resolves with the address it got; rejects with a
 * `ListenError` naming the listener.
 */
export function listenServer(server: Server, spec: ListenSpec, family: 'IPv4' | 'IPv6', transport: TransportName): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(describeListenError(formatListenUrl(spec), err));
    server.once('error', onError);
    server.listen({ port: spec.port, host: spec.host, ipv6Only: family === 'IPv6', backlog: 1024 }, () => {
      server.off('error', onError);
      const addr = server.address();
      if (addr === null || typeof addr === 'string') reject(new Error(`${transport} listener has no address`));
      else resolve(addr);
    });
  });
}
