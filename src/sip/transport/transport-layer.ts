/**
 * The transport layer (RFC 3261 §18, RFC 3581): the protocol modules of
 * `protocols.ts` behind one `SipTransport`. It owns what every protocol
 * shares: parsing and validation of what arrives, the receive-side Via
 * processing, response routing, the advertised address, and flow watches.
 *
 * A malformed message never gets past this layer: it is counted, answered
 * with 400 (or 505/513) when the start line and a Via can be read, and
 * otherwise dropped.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import {
  type MessageSource,
  type SipMessage,
  type SipRequest,
  type TransportName,
  type Via,
  createResponse,
  formatVia,
  methodKind,
  newTag,
  parseMessage,
  parseVia,
  serializeMessage,
  statusClass,
  validateMessage,
  wireCallId,
  wireKind,
} from '../message/index.js';
import { bareHost } from '../message/uri.js';
import { type ListenSpec, formatHostPort } from './listen-url.js';
import type { Protocol, ProtocolContext, TlsMaterial, TransportLimits } from './protocol.js';
import { PROTOCOLS } from './protocols.js';
import type {
  BoundListener,
  Destination,
  Direction,
  Endpoint,
  Flow,
  MessageReceiver,
  SendErrorCallback,
  SipTransport,
  TransportEventMap,
  TransportEvents,
} from './sip-transport.js';

export interface TransportOptions {
  listen: ListenSpec[];
  /** Largest UDP datagram, and largest stream Content-Length, accepted. Default 65535. */
  maxMessageBytes?: number;
  /** Most header lines in one message. Default 256. */
  maxHeaders?: number;
  /** Close a stream connection after this long without traffic. Default 120000. */
  tcpIdleTimeoutMs?: number;
  /** Give up on an outgoing connection that is not up after this long. Default 5000. */
  tcpConnectTimeoutMs?: number;
  /** Close a connection whose message has started but not finished after this long. Default 20000. */
  tcpMessageTimeoutMs?: number;
  /** Most inbound connections at once per stream listener; more are refused (closed at once). Default 1024. */
  maxTcpConnections?: number;
  /**
   * Most inbound connections at once from one source IP address, per stream
   * protocol, so that one host cannot take every slot. Default: a quarter of
   * `maxTcpConnections` (at least 1).
   */
  maxTcpConnectionsPerSource?: number | null | undefined;
  /**
   * Asked before a request that arrived is parsed (responses and keep-alives
   * are never asked): false drops it, counted as `sourceLimited` (per-source
   * rate limiting, Kamailio's pike). Default: every request passes.
   */
  requestGate?: RequestGate | undefined;
  /**
   * The address to put in Via, Contact and SDP when a listener is bound to a
   * wildcard (0.0.0.0 or ::). Default: the first non-internal interface address.
   */
  advertisedAddress?: string | null | undefined;
  /** TLS material for tls listeners and connections, made or read when first needed. */
  tls?: (() => Promise<TlsMaterial>) | undefined;
  logger?: Logger | undefined;
}

/** Decides whether a request from a source address is processed at all (see `TransportOptions.requestGate`). */
export interface RequestGate {
  allow(address: string): boolean;
}

export class TransportLayer implements SipTransport {
  readonly events: TransportEvents = new EventEmitter<TransportEventMap>();
  private receiver: MessageReceiver | undefined;
  private readonly limits: TransportLimits;
  private readonly gate: RequestGate | undefined;
  private readonly protocols = new Map<TransportName, Protocol>();
  private readonly log: Logger | undefined;
  private readonly advertised = new Map<string, string>();
  /** Flow watchers by `#connectionId` or `transport|address|port`. */
  private readonly flowWatchers = new Map<string, Set<(flow: Flow) => void>>();
  private started = false;
  /** Our end of sent messages, per transport: [IPv4, IPv6], once known. */
  private readonly wireSources = new Map<TransportName, Array<Endpoint | undefined>>();

  constructor(private readonly options: TransportOptions) {
    this.limits = {
      maxMessageBytes: options.maxMessageBytes ?? 65535,
      maxHeaders: options.maxHeaders ?? 256,
      idleTimeoutMs: options.tcpIdleTimeoutMs ?? 120_000,
      connectTimeoutMs: options.tcpConnectTimeoutMs ?? 5_000,
      messageTimeoutMs: options.tcpMessageTimeoutMs ?? 20_000,
      maxConnections: options.maxTcpConnections ?? 1024,
      maxConnectionsPerSource: options.maxTcpConnectionsPerSource ?? defaultPerSourceCap(options.maxTcpConnections ?? 1024),
    };
    this.gate = options.requestGate;
    this.log = options.logger;
    this.events.setMaxListeners(0);
    const ctx: ProtocolContext = {
      limits: this.limits,
      tls: options.tls,
      events: this.events,
      log: this.log,
      receive: (buf, source) => this.receive(buf, source),
      rejectHead: (head, source, status, reason) => this.rejectHead(head, source, status, reason),
      flowClosed: (flow) => this.flowClosed(flow),
    };
    for (const spec of options.listen) {
      if (!this.protocols.has(spec.transport)) this.protocols.set(spec.transport, PROTOCOLS[spec.transport](ctx));
    }
  }

  attach(receiver: MessageReceiver): void {
    if (this.receiver !== undefined) throw new Error('the transport layer already has a receiver');
    this.receiver = receiver;
  }

  /** Bind every listener. Rejects with a ListenError (clear message, no stack needed) when one cannot bind. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      for (const spec of this.options.listen) await (this.protocols.get(spec.transport) as Protocol).listen(spec);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.protocols.values()].map((p) => p.stop()));
    this.started = false;
    this.wireSources.clear();
  }

  /** The addresses actually bound (ports resolved when 0 was asked for), in the order configured. */
  get listeners(): BoundListener[] {
    const out: BoundListener[] = [];
    for (const p of this.protocols.values()) for (const { transport, address, port, family } of p.listeners) out.push({ transport, address, port, family });
    return out;
  }

  /** Open stream connections, every protocol together. */
  get connectionCount(): number {
    let n = 0;
    for (const p of this.protocols.values()) n += p.connectionCount;
    return n;
  }

  /**
   * The listener to name in Via sent-by and Contact for traffic to
   * `destinationAddress` over `transport` (same address family when possible).
   */
  localFor(transport: TransportName, destinationAddress?: string): BoundListener {
    const list = this.protocols.get(transport)?.listeners ?? [];
    const family = destinationAddress !== undefined && destinationAddress.includes(':') ? 'IPv6' : 'IPv4';
    const l = list.find((x) => x.family === family) ?? list[0];
    if (l === undefined) throw new Error(`no ${transport} listener is configured`);
    return l;
  }

  localHostPort(dest: Pick<Destination, 'transport' | 'address'>): string {
    const l = this.localFor(dest.transport, dest.address);
    return formatHostPort(this.advertise(l.address), l.port);
  }

  receivingHostPort(source: MessageSource): string {
    return formatHostPort(this.advertise(source.localAddress), source.localPort);
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

  send(msg: SipMessage, dest: Destination, onError?: SendErrorCallback): Buffer {
    const buf = serializeMessage(msg);
    if (!isAddress(dest.address)) {
      this.refuseName(dest, onError);
      return buf;
    }
    this.events.emit('message', 'out', dest.transport, msg.isRequest ? methodKind(msg.method) : statusClass(msg.status));
    // the hot path pays for the wire event only while something listens (a capture, HEP, a trace log)
    if (this.events.listenerCount('wire') > 0) this.emitWireOut(buf, dest, msg.callId, msg);
    // A response over UDP is sent without waiting to hear how it went (no completion callback, no
    // tick per datagram): a local send error is rare there, and the response's transaction ends by
    // its own timers anyway. Requests, and every stream send, still report their failures.
    this.protocolFor(dest).send(buf, dest, dest.transport === 'udp' && !msg.isRequest ? undefined : onError);
    return buf;
  }

  resend(wire: Buffer, dest: Destination, onError?: SendErrorCallback): void {
    if (!isAddress(dest.address)) {
      this.refuseName(dest, onError);
      return;
    }
    this.events.emit('message', 'out', dest.transport, wireKind(wire));
    if (this.events.listenerCount('wire') > 0) this.emitWireOut(wire, dest, wireCallId(wire), undefined);
    this.protocolFor(dest).send(wire, dest, onError);
  }

  /**
   * A destination that is not an IP address: nothing is sent and no name is
   * looked up (dgram and net would ask the resolver). Names only ever come
   * from messages here; configured routes are IP addresses (config/route.ts).
   */
  private refuseName(dest: Destination, onError: SendErrorCallback | undefined): void {
    this.log?.debug({ transport: dest.transport, to: dest.address }, 'not sent: the destination is not an IP address (names are never looked up)');
    const err = new Error(`not sent to "${dest.address}": not an IP address, and names are never looked up`);
    if (onError !== undefined) queueMicrotask(() => onError(err));
  }

  /**
   * Our end of a message we send: the listener it leaves from (for a stream
   * connection we opened, its listener stands in for the ephemeral port).
   */
  private emitWireOut(bytes: Buffer, dest: Destination, callId: string, message: SipMessage | undefined): void {
    const v6 = dest.address.includes(':');
    let sources = this.wireSources.get(dest.transport);
    if (sources === undefined) this.wireSources.set(dest.transport, (sources = []));
    let source = sources[v6 ? 1 : 0];
    if (source === undefined) {
      const listener = this.protocols.get(dest.transport)?.listeners.find((l) => l.family === (v6 ? 'IPv6' : 'IPv4'));
      if (listener === undefined) source = { address: v6 ? '::' : '0.0.0.0', port: 0 };
      else sources[v6 ? 1 : 0] = source = Object.freeze({ address: this.advertise(listener.address), port: listener.port });
    }
    this.emitWire('out', dest.transport, source, { address: dest.address, port: dest.port }, bytes, callId, message);
  }

  private emitWire(direction: Direction, transport: TransportName, source: Endpoint, destination: Endpoint, bytes: Buffer, callId: string, message: SipMessage | undefined): void {
    try {
      this.events.emit('wire', { direction, transport, source, destination, bytes, callId, message });
    } catch (err) {
      // an observer's bug must not stop the message
      this.log?.error({ err }, 'a wire observer threw');
    }
  }

  private protocolFor(dest: Destination): Protocol {
    const p = this.protocols.get(dest.transport);
    if (p === undefined) throw new Error(`no ${dest.transport} listener is configured`);
    return p;
  }

  responseDestination(req: SipRequest): Destination {
    const source = req.source;
    const via = req.topVia;
    if (source === undefined || via === undefined) throw new Error('responseDestination needs a received request with a Via');
    return responseDestinationFor(via, source);
  }

  watchFlow(dest: Destination, listener: (flow: Flow) => void): () => void {
    const key = dest.connectionId !== undefined ? `#${dest.connectionId}` : flowKey(dest.transport, dest.address, dest.port);
    let set = this.flowWatchers.get(key);
    if (set === undefined) {
      set = new Set();
      this.flowWatchers.set(key, set);
    }
    set.add(listener);
    return () => {
      const s = this.flowWatchers.get(key);
      if (s === undefined) return;
      s.delete(listener);
      if (s.size === 0) this.flowWatchers.delete(key);
    };
  }

  private flowClosed(flow: Flow): void {
    this.events.emit('flowClosed', flow);
    for (const key of [`#${flow.connectionId}`, flowKey(flow.transport, flow.address, flow.port)]) {
      const set = this.flowWatchers.get(key);
      if (set === undefined) continue;
      for (const listener of [...set]) listener(flow);
    }
  }

  // ---------------------------------------------------------------- receive

  private receive(buf: Buffer, source: MessageSource): void {
    const transport = source.transport;
    // Per-source rate limiting looks at requests only, before any parsing: a response
    // (to a transaction of ours) starts with "SIP/".
    if (this.gate !== undefined && !isResponseBytes(buf) && !this.gate.allow(source.address)) {
      this.events.emit('sourceLimited', transport);
      return;
    }
    const parsed = parseMessage(buf, { maxMessageBytes: this.limits.maxMessageBytes, maxHeaders: this.limits.maxHeaders, stream: transport !== 'udp' });
    if (!parsed.ok) {
      const partial = parsed.partial;
      if (partial !== undefined && partial.isRequest) {
        partial.source = source;
        this.rejectBadRequest(partial, parsed.status, parsed.reason);
      } else {
        this.events.emit('badMessage', transport, 'dropped');
        this.log?.debug({ transport, from: source.address, reason: parsed.reason }, 'dropped unparseable message');
      }
      return;
    }
    const msg = parsed.message;
    msg.source = source;
    const fault = validateMessage(msg);
    if (fault !== undefined) {
      if (msg.isRequest) this.rejectBadRequest(msg, fault.status, fault.reason);
      else {
        this.events.emit('badMessage', transport, 'dropped');
        this.log?.debug({ transport, from: source.address, reason: fault.reason }, 'dropped malformed response');
      }
      return;
    }
    if (msg.isRequest) {
      this.events.emit('message', 'in', transport, methodKind(msg.method));
    } else {
      this.events.emit('message', 'in', transport, statusClass(msg.status));
    }
    if (this.events.listenerCount('wire') > 0) {
      this.emitWire('in', transport, { address: source.address, port: source.port }, { address: this.advertise(source.localAddress), port: source.localPort }, buf, msg.callId, msg);
    }
    if (msg.isRequest) stampReceived(msg, source);
    try {
      this.receiver?.receive(msg);
    } catch (err) {
      // A bug above us must not take the listener down with it.
      this.log?.error({ err, callId: msg.callId }, 'message handler threw');
    }
  }

  private rejectHead(head: Buffer, source: MessageSource, status: number, reason: string): void {
    const partial = parseMessage(head, { stream: true, maxMessageBytes: Number.MAX_SAFE_INTEGER });
    const msg = partial.ok ? partial.message : partial.partial;
    if (msg === undefined || !msg.isRequest) {
      this.events.emit('badMessage', source.transport, 'dropped');
      return;
    }
    msg.source = source;
    this.rejectBadRequest(msg, status, reason);
  }

  /** Answer a request we cannot process, when it can be addressed; never answer an ACK. */
  private rejectBadRequest(req: SipRequest, status: number, reason: string): void {
    const source = req.source as MessageSource;
    const viaRaw = req.topViaRaw;
    const via = viaRaw === undefined ? undefined : parseVia(viaRaw);
    if (req.method === 'ACK' || via === undefined || !via.ok) {
      this.events.emit('badMessage', source.transport, 'dropped');
      this.log?.debug({ transport: source.transport, from: source.address, reason }, 'dropped malformed request');
      return;
    }
    this.events.emit('badMessage', source.transport, 'rejected');
    const res = createResponse(req, status, undefined, newTag());
    res.headers.append('Warning', `399 trunkgate "${reason.replace(/["\\]/g, "'")}"`);
    this.log?.debug({ transport: source.transport, from: source.address, status, reason }, 'rejected malformed request');
    this.send(res, responseDestinationFor(via.via, source));
  }
}

/** The default per-source connection cap: a quarter of the global cap, at least 1. */
export function defaultPerSourceCap(maxConnections: number): number {
  return Math.max(1, Math.floor(maxConnections / 4));
}

function isAddress(address: string): boolean {
  return isIP(address) !== 0;
}

/** Whether a message's bytes start like a status line (`SIP/`), past any leading CRLFs. */
function isResponseBytes(buf: Buffer): boolean {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  if (buf.length - i < 4) return false;
  const lower = (k: number): number => (buf[i + k] as number) | 0x20;
  return lower(0) === 0x73 && lower(1) === 0x69 && lower(2) === 0x70 && buf[i + 3] === 0x2f;
}

function flowKey(transport: TransportName, address: string, port: number): string {
  return `${transport}|${address}|${port}`;
}

/** The first non-internal interface address of a family (what a wildcard listener is reached at). */
export function firstInterfaceAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === family && !a.address.startsWith('fe80')) return a.address;
  }
  return undefined;
}

/**
 * Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4), hardened against
 * reflection: over UDP always to the packet's source address and port, as if
 * `rport` were present (Kamailio's default), never to a `maddr` or to a Via
 * host or port that differs from the source. Over a stream, back on the
 * connection the request came on (if it has closed, a new one to the source
 * address at the Via port). No name in a message is ever looked up.
 */
export function responseDestinationFor(via: Via, source: MessageSource): Destination {
  if (source.transport !== 'udp') {
    return { transport: source.transport, address: source.address, port: via.port ?? 5060, connectionId: source.connectionId };
  }
  return { transport: 'udp', address: source.address, port: source.port };
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
  req.headers.setFirstElement('via', formatVia(via));
}
