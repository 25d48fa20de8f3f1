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
import { ipBytes } from './pcap.js';

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
  const src = ipBytes(p.source.address);
  const dst = ipBytes(p.destination.address);
  const v6 = src.length === 16 || dst.length === 16;
  const ipBytesEach = v6 ? 16 : 4;
  const nodeName = Buffer.from(id.nodeName, 'utf8');
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
  const head = (type: number, bytes: number): number => {
    b.writeUInt16BE(0, at); // vendor: generic
    b.writeUInt16BE(type, at + 2);
    b.writeUInt16BE(CHUNK_HEADER + bytes, at + 4);
    return at + CHUNK_HEADER;
  };
  const u8 = (type: number, v: number): void => {
    at = b.writeUInt8(v, head(type, 1));
  };
  const u16 = (type: number, v: number): void => {
    at = b.writeUInt16BE(v, head(type, 2));
  };
  const u32 = (type: number, v: number): void => {
    at = b.writeUInt32BE(v >>> 0, head(type, 4));
  };
  const bytes = (type: number, v: Buffer): void => {
    const start = head(type, v.length);
    at = start + v.copy(b, start);
  };
  u8(CHUNK.ipFamily, v6 ? AF_INET6 : AF_INET);
  u8(CHUNK.ipProtocol, p.transport === 'udp' ? 17 : 6);
  bytes(v6 ? CHUNK.ipv6Source : CHUNK.ipv4Source, v6 ? mapped(src) : src);
  bytes(v6 ? CHUNK.ipv6Destination : CHUNK.ipv4Destination, v6 ? mapped(dst) : dst);
  u16(CHUNK.sourcePort, p.source.port);
  u16(CHUNK.destinationPort, p.destination.port);
  const seconds = Math.floor(p.time / 1000);
  u32(CHUNK.timeSeconds, seconds);
  u32(CHUNK.timeMicroseconds, Math.min(999_999, Math.round((p.time - seconds * 1000) * 1000)));
  u8(CHUNK.protocolType, PROTOCOL_TYPE_SIP);
  u32(CHUNK.captureId, id.captureId);
  bytes(CHUNK.nodeName, nodeName);
  bytes(CHUNK.payload, p.bytes);
  return b;
}

function mapped(ip: Buffer): Buffer {
  if (ip.length === 16) return ip;
  const out = Buffer.alloc(16);
  out[10] = 0xff;
  out[11] = 0xff;
  ip.copy(out, 12);
  return out;
}

/** Sends every message to a HEP collector (`observability.hep`). */
export class HepExporter {
  private socket: Socket | undefined;
  private errorsLogged = 0;
  /** Packets sent and failed (sends are fire-and-forget: UDP). */
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
    this.socket = socket;
  }

  /** The `wire` event's listener. */
  readonly send = (wire: WireMessage): void => {
    const socket = this.socket;
    if (socket === undefined) return;
    let packet: Buffer;
    try {
      packet = encodeHep({ transport: wire.transport, source: wire.source, destination: wire.destination, time: this.now(), bytes: wire.bytes }, this.identity);
    } catch (err) {
      this.failed(err as Error);
      return;
    }
    socket.send(packet, this.collector.port, this.collector.host, (err) => {
      if (err) this.failed(err);
      else this.stats.sent++;
    });
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
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
