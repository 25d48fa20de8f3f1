/**
 * The transport seam (RFC 3261 §18): what transactions and dialogs need from
 * the layer that moves bytes, and the events observers (metrics, logs) count.
 * Each protocol (UDP, TCP, later TLS and WebSocket) is a module behind
 * `Protocol` (protocol.ts); `TransportLayer` composes them into one
 * `SipTransport`.
 */
import type { EventEmitter } from 'node:events';
import type { MessageKind, MessageSource, SipMessage, SipRequest, TransportName } from '../message/index.js';

export interface Destination {
  transport: TransportName;
  address: string;
  port: number;
  /** Prefer this connection (responses go back on the connection the request came on). */
  connectionId?: number | undefined;
}

/** A connection-oriented flow: one connection to or from a peer. */
export interface Flow {
  transport: TransportName;
  address: string;
  port: number;
  connectionId: number;
}

export interface BoundListener {
  transport: TransportName;
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export type SendErrorCallback = (err: Error) => void;

export type Direction = 'in' | 'out';

/**
 * What happened to a stream connection: `refused` at the global cap,
 * `source-refused` at the per-source cap.
 */
export type ConnectionEvent = 'accepted' | 'connected' | 'refused' | 'source-refused' | 'idle-timeout' | 'partial-timeout';

/** One end of a message's hop: an address and port. */
export interface Endpoint {
  address: string;
  port: number;
}

/**
 * A message as it crossed the wire, with both ends (the `wire` event):
 * what a packet capture would show. `bytes` is the buffer the transport
 * received or sent (not a copy): keep it only as long as you need it.
 */
export interface WireMessage {
  direction: Direction;
  transport: TransportName;
  /** Where it came from: the peer for `in`, us for `out`. */
  source: Endpoint;
  /** Where it went: us for `in`, the peer for `out`. */
  destination: Endpoint;
  bytes: Buffer;
  /** Its Call-ID ('' when it has none). */
  callId: string;
  /** The parsed message, when the transport has it (not for retransmissions of sent bytes). */
  message: SipMessage | undefined;
}

/** The transport's events (typed `node:events`): observers subscribe, several at once. */
export interface TransportEventMap {
  /** A message that parsed and validated (in), or went out (out, retransmissions included). */
  message: [direction: Direction, transport: TransportName, kind: MessageKind];
  /**
   * The bytes of every message that parsed and validated (in) or went out
   * (out, retransmissions included), with its ends: for message captures,
   * HEP export and SIP traces. Built only while someone listens.
   */
  wire: [message: WireMessage];
  /** A message that could not be parsed or failed validation: answered with 4xx/5xx, or dropped. */
  badMessage: [transport: TransportName, outcome: 'rejected' | 'dropped'];
  /** A request dropped unparsed because its source is over its request rate (the request gate said no). */
  sourceLimited: [transport: TransportName];
  /** A CRLF keep-alive ping (RFC 5626 §4.4.1) arrived. */
  keepAlive: [transport: TransportName];
  connection: [transport: TransportName, event: ConnectionEvent];
  /** A connection closed, for whatever reason. */
  flowClosed: [flow: Flow];
}

export type TransportEvents = EventEmitter<TransportEventMap>;

/** Whether a transport is reliable (RFC 3261 §17: no retransmission timers). */
export function isReliable(transport: TransportName): boolean {
  return transport !== 'udp';
}

/** Where messages that arrive go: set once, by the transaction layer. */
export interface MessageReceiver {
  receive(msg: SipMessage): void;
}

export interface SipTransport {
  readonly events: TransportEvents;
  /** Connect the layer above (once; a second call throws). */
  attach(receiver: MessageReceiver): void;
  /**
   * Serialize and send a message. Returns the bytes, for retransmission.
   * Errors on connection-oriented transports come back through `onError`,
   * asynchronously (RFC 3261 §17.1.4).
   */
  send(msg: SipMessage, dest: Destination, onError?: SendErrorCallback): Buffer;
  /** Send bytes `send` returned, again (a retransmission). */
  resend(wire: Buffer, dest: Destination, onError?: SendErrorCallback): void;
  /** Where responses to a received request go (RFC 3261 §18.2.2, RFC 3581 §4). */
  responseDestination(req: SipRequest): Destination;
  /** Our `host:port` as peers reach it, for new traffic to `dest` (Via sent-by, Contact). */
  localHostPort(dest: Pick<Destination, 'transport' | 'address'>): string;
  /** Our `host:port` where a received message arrived (the Contact of a dialog it starts). */
  receivingHostPort(source: MessageSource): string;
  /**
   * Call `listener` when the flow to `dest` closes: its connection if
   * `connectionId` is set, else any connection to its address and port.
   * Returns the function that stops watching.
   */
  watchFlow(dest: Destination, listener: (flow: Flow) => void): () => void;
}
