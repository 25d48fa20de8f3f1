/**
 * HEP v3 (the Homer Encapsulation Protocol, as Kamailio's siptrace,
 * FreeSWITCH and drachtio send it): every SIP message trunkgate receives or
 * sends, with its addresses, ports and time, to a Homer collector over UDP.
 *
 * Our own encoder, not the hep-js package: hep-js is GPL-2.0 (trunkgate is
 * MIT), its encoder writes IPv4 addresses only and sizes the payload chunk by
 * string length (wrong for non-ASCII bytes). HEP v3 is a flat list of
 * type-length-value chunks, so the encoder is short. The tests decode what
 * arrives with hep-js's decoder, written by Homer's authors.
 *
 * Format: https://github.com/sipcapture/HEP/blob/master/docs/HEP3_Network_Protocol_Specification_REV_36.pdf
 */
import { type Socket, createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { TransportName } from '../sip/message/index.js';
import type { Endpoint, WireMessage } from '../sip/transport/index.js';
import { ipBytes, toV6 } from './pcap.js';

/** Chunk types of vendor 0 (the generic ones). */
const CHUNK = {
  ipFamily: 0x0001,
  ipProtocol: 0x0002,
  ipv4Source: 0x0003,
  ipv4Destination: 0x0004,
  ipv6Source: 0x0005,
  ipv6Destination: 0x0006,
  sourcePort: 0x0007,
  destinationPort: 0x0008,
  timeSeconds: 0x0009,
  timeMicroseconds: 0x000a,
  protocolType: 0x000b,
  captureId: 0x000c,
  payload: 0x000f,
  nodeName: 0x0013,
} as const;

const AF_INET = 2;
const AF_INET6 = 10;
const PROTOCOL_TYPE_SIP = 1;
const CHUNK_HEADER = 6;

export interface HepPacket {
  transport: TransportName;
  source: Endpoint;
  destination: Endpoint;
  /** ms since the epoch. */
  time: number;
  bytes: Buffer;
}

export interface HepIdentity {
  /** The capture agent id Homer shows (`captureId`). */
  captureId: number;
  /** The node name Homer shows. */
  nodeName: string;
}

/** One HEP v3 packet. */
export function encodeHep(p: HepPacket, id: HepIdentity): Buffer {
  const src = addressBytes(p.source.address);
  const dst = addressBytes(p.destination.address);
  const v6 = src.length === 16 || dst.length === 16;
  const ipBytesEach = v6 ? 16 : 4;
  const nodeName = nodeNameBytes(id.nodeName);
  const length =
    6 + // "HEP3" and the total length
    (CHUNK_HEADER + 1) * 3 + // family, protocol, protocol type
    (CHUNK_HEADER + ipBytesEach) * 2 +
    (CHUNK_HEADER + 2) * 2 + // ports
    (CHUNK_HEADER + 4) * 3 + // seconds, microseconds, capture id
    (CHUNK_HEADER + nodeName.length) +
    (CHUNK_HEADER + p.bytes.length);
  if (length > 0xffff) throw new RangeError(`a SIP message of ${p.bytes.length} bytes does not fit in one HEP packet`);
  const b = Buffer.allocUnsafe(length);
  b.write('HEP3', 0, 'latin1');
  b.writeUInt16BE(length, 4);
  let at = 6;
  at = b.writeUInt8(v6 ? AF_INET6 : AF_INET, chunkHead(b, at, CHUNK.ipFamily, 1));
  at = b.writeUInt8(p.transport === 'udp' ? 17 : 6, chunkHead(b, at, CHUNK.ipProtocol, 1));
  at = chunkBytes(b, at, v6 ? CHUNK.ipv6Source : CHUNK.ipv4Source, v6 ? toV6(src) : src);
  at = chunkBytes(b, at, v6 ? CHUNK.ipv6Destination : CHUNK.ipv4Destination, v6 ? toV6(dst) : dst);
  at = b.writeUInt16BE(p.source.port, chunkHead(b, at, CHUNK.sourcePort, 2));
  at = b.writeUInt16BE(p.destination.port, chunkHead(b, at, CHUNK.destinationPort, 2));
  const seconds = Math.floor(p.time / 1000);
  at = b.writeUInt32BE(seconds >>> 0, chunkHead(b, at, CHUNK.timeSeconds, 4));
  at = b.writeUInt32BE(Math.min(999_999, Math.round((p.time - seconds * 1000) * 1000)), chunkHead(b, at, CHUNK.timeMicroseconds, 4));
  at = b.writeUInt8(PROTOCOL_TYPE_SIP, chunkHead(b, at, CHUNK.protocolType, 1));
  at = b.writeUInt32BE(id.captureId >>> 0, chunkHead(b, at, CHUNK.captureId, 4));
  at = chunkBytes(b, at, CHUNK.nodeName, nodeName);
  chunkBytes(b, at, CHUNK.payload, p.bytes);
  return b;
}

/** Addresses as bytes, parsed once: a gateway talks to few peers (bounded: cleared when it grows large). */
const ADDRESSES = new Map<string, Buffer>();
function addressBytes(address: string): Buffer {
  let b = ADDRESSES.get(address);
  if (b === undefined) {
    if (ADDRESSES.size >= 1024) ADDRESSES.clear();
    b = ipBytes(address);
    ADDRESSES.set(address, b);
  }
  return b;
}

let lastNodeName: { text: string; bytes: Buffer } = { text: '', bytes: Buffer.alloc(0) };
function nodeNameBytes(text: string): Buffer {
  if (lastNodeName.text !== text) lastNodeName = { text, bytes: Buffer.from(text, 'utf8') };
  return lastNodeName.bytes;
}

/** A chunk's header (vendor 0, type, length with the header); returns where its value goes. */
function chunkHead(b: Buffer, at: number, type: number, valueBytes: number): number {
  b.writeUInt16BE(0, at);
  b.writeUInt16BE(type, at + 2);
  b.writeUInt16BE(CHUNK_HEADER + valueBytes, at + 4);
  return at + CHUNK_HEADER;
}

function chunkBytes(b: Buffer, at: number, type: number, value: Buffer): number {
  const start = chunkHead(b, at, type, value.length);
  return start + value.copy(b, start);
}

/** Sends every message to a HEP collector (`observability.hep`). */
export class HepExporter {
  private socket: Socket | undefined;
  private connected = false;
  private errorsLogged = 0;
  /** Packets handed to the socket, and failures (sends are fire-and-forget: UDP). */
  readonly stats = { sent: 0, failed: 0 };

  constructor(
    private readonly collector: { host: string; port: number },
    private readonly identity: HepIdentity,
    private readonly now: () => number,
    private readonly log: Logger | undefined,
  ) {}

  start(): void {
    if (this.socket !== undefined) return;
    const socket = createSocket(isIP(this.collector.host) === 6 ? 'udp6' : 'udp4');
    socket.on('error', (err) => this.failed(err));
    socket.unref();
    // a connected socket sends without an address lookup per packet; until it is, packets are not sent
    socket.connect(this.collector.port, this.collector.host, () => {
      this.connected = true;
    });
    this.socket = socket;
  }

  /** The `wire` event's listener. */
  readonly send = (wire: WireMessage): void => {
    const socket = this.socket;
    if (socket === undefined || !this.connected) return;
    let packet: Buffer;
    try {
      packet = encodeHep({ transport: wire.transport, source: wire.source, destination: wire.destination, time: this.now(), bytes: wire.bytes }, this.identity);
    } catch (err) {
      this.failed(err as Error);
      return;
    }
    // fire and forget: a failure comes back as the socket's 'error' event
    socket.send(packet);
    this.stats.sent++;
  };

  private failed(err: Error): void {
    this.stats.failed++;
    // the first few failures are worth a line; a dead collector must not flood the log
    if (this.errorsLogged < 5) {
      this.errorsLogged++;
      this.log?.warn({ err, collector: `${this.collector.host}:${this.collector.port}` }, 'HEP export failed');
    }
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.connected = false;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
