/**
 * A libpcap file (the classic format Wireshark, tshark, sngrep and tcpdump
 * read) from captured SIP messages. trunkgate sees messages, not packets, so
 * each one is wrapped in synthetic Ethernet, IPv4/IPv6 and UDP/TCP headers
 * with correct lengths and checksums; TCP messages get running sequence
 * numbers per direction so dissectors can follow the stream. A message larger
 * than an IP packet holds is split into several TCP segments.
 *
 * Format: https://wiki.wireshark.org/Development/LibpcapFileFormat
 */
import { isIP } from 'node:net';
import type { TransportName } from '../sip/message/index.js';
import type { Endpoint } from '../sip/transport/index.js';

export interface PcapPacket {
  /** ms since the epoch. */
  time: number;
  transport: TransportName;
  source: Endpoint;
  destination: Endpoint;
  bytes: Buffer;
}

export const PCAP_CONTENT_TYPE = 'application/vnd.tcpdump.pcap';

const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262_144;
const ETHERNET_BYTES = 14;
const IPV4_BYTES = 20;
const IPV6_BYTES = 40;
const UDP_BYTES = 8;
const TCP_BYTES = 20;
/** Largest TCP payload per segment we write (well inside an IPv4 packet's 65,535 bytes). */
const TCP_SEGMENT_BYTES = 32_000;
const SOURCE_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const DESTINATION_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);

/** The whole file: the global header, then one record per packet (per TCP segment). */
export function writePcap(packets: Iterable<PcapPacket>): Buffer {
  const parts: Buffer[] = [globalHeader()];
  const tcpSeq = new Map<string, number>();
  let ipId = 1;
  for (const p of packets) {
    const src = ipBytes(p.source.address);
    const dst = ipBytes(p.destination.address);
    // one family for both ends: IPv4 becomes IPv4-mapped IPv6 beside an IPv6 address
    const v6 = src.length === 16 || dst.length === 16;
    const s = v6 ? toV6(src) : src;
    const d = v6 ? toV6(dst) : dst;
    if (p.transport === 'udp') {
      parts.push(record(p.time, frame(v6, s, d, 17, udpSegment(s, d, p.source.port, p.destination.port, p.bytes), ipId++)));
      continue;
    }
    const key = `${p.source.address}|${p.source.port}|${p.destination.address}|${p.destination.port}`;
    const reverse = `${p.destination.address}|${p.destination.port}|${p.source.address}|${p.source.port}`;
    for (let offset = 0; offset < p.bytes.length || offset === 0; offset += TCP_SEGMENT_BYTES) {
      const chunk = p.bytes.subarray(offset, offset + TCP_SEGMENT_BYTES);
      const seq = tcpSeq.get(key) ?? 1;
      tcpSeq.set(key, (seq + chunk.length) >>> 0);
      const ack = tcpSeq.get(reverse) ?? 1;
      parts.push(record(p.time, frame(v6, s, d, 6, tcpSegment(s, d, p.source.port, p.destination.port, seq, ack, chunk), ipId++)));
      if (p.bytes.length === 0) break;
    }
  }
  return Buffer.concat(parts);
}

function globalHeader(): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps, written little-endian
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8); // thiszone
  b.writeUInt32LE(0, 12); // sigfigs
  b.writeUInt32LE(SNAPLEN, 16);
  b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return b;
}

function record(timeMs: number, packet: Buffer): Buffer {
  const h = Buffer.alloc(16);
  const seconds = Math.floor(timeMs / 1000);
  h.writeUInt32LE(seconds >>> 0, 0);
  h.writeUInt32LE(Math.min(999_999, Math.round((timeMs - seconds * 1000) * 1000)), 4);
  h.writeUInt32LE(packet.length, 8); // captured
  h.writeUInt32LE(packet.length, 12); // on the wire
  return Buffer.concat([h, packet]);
}

function frame(v6: boolean, src: Buffer, dst: Buffer, protocol: 6 | 17, segment: Buffer, id: number): Buffer {
  const eth = Buffer.alloc(ETHERNET_BYTES);
  DESTINATION_MAC.copy(eth, 0);
  SOURCE_MAC.copy(eth, 6);
  eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  return Buffer.concat([eth, v6 ? ipv6Header(src, dst, protocol, segment.length) : ipv4Header(src, dst, protocol, segment.length, id), segment]);
}

function ipv4Header(src: Buffer, dst: Buffer, protocol: number, payloadBytes: number, id: number): Buffer {
  const h = Buffer.alloc(IPV4_BYTES);
  h[0] = 0x45; // version 4, 5 words
  h.writeUInt16BE(IPV4_BYTES + payloadBytes, 2);
  h.writeUInt16BE(id & 0xffff, 4);
  h.writeUInt16BE(0x4000, 6); // don't fragment
  h[8] = 64; // TTL
  h[9] = protocol;
  src.copy(h, 12);
  dst.copy(h, 16);
  h.writeUInt16BE(finish(sum(h, 0)), 10);
  return h;
}

function ipv6Header(src: Buffer, dst: Buffer, protocol: number, payloadBytes: number): Buffer {
  const h = Buffer.alloc(IPV6_BYTES);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payloadBytes, 4);
  h[6] = protocol;
  h[7] = 64; // hop limit
  src.copy(h, 8);
  dst.copy(h, 24);
  return h;
}

function udpSegment(src: Buffer, dst: Buffer, sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(UDP_BYTES);
  const length = UDP_BYTES + payload.length;
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(length & 0xffff, 4);
  const c = finish(sum(payload, sum(h, pseudoHeader(src, dst, 17, length))));
  h.writeUInt16BE(c === 0 ? 0xffff : c, 6); // 0 means "no checksum" in UDP
  return Buffer.concat([h, payload]);
}

function tcpSegment(src: Buffer, dst: Buffer, sport: number, dport: number, seq: number, ack: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(TCP_BYTES);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h[12] = (TCP_BYTES / 4) << 4;
  h[13] = 0x18; // PSH, ACK
  h.writeUInt16BE(0xffff, 14); // window
  h.writeUInt16BE(finish(sum(payload, sum(h, pseudoHeader(src, dst, 6, TCP_BYTES + payload.length)))), 16);
  return Buffer.concat([h, payload]);
}

/** The one's-complement sum of the IPv4 or IPv6 pseudo-header (RFC 768, RFC 793, RFC 8200 §8.1). */
function pseudoHeader(src: Buffer, dst: Buffer, protocol: number, length: number): number {
  let s = sum(src, sum(dst, 0));
  s += protocol + (length >>> 16) + (length & 0xffff);
  return s;
}

/** Add 16-bit big-endian words of `b` to `s` (an odd last byte is padded with zero). */
function sum(b: Buffer, s: number): number {
  const even = b.length & ~1;
  for (let i = 0; i < even; i += 2) s += (b[i] as number) * 256 + (b[i + 1] as number);
  if (even !== b.length) s += (b[even] as number) * 256;
  // fold now and then so the sum stays a small integer
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

function finish(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** An IP address as 4 or 16 bytes; what is not an IP address (it should not happen) becomes 0.0.0.0. */
export function ipBytes(address: string): Buffer {
  const bare = address.startsWith('[') ? address.slice(1, -1) : address;
  const kind = isIP(bare);
  if (kind === 4) return Buffer.from(bare.split('.').map(Number));
  if (kind !== 6) return Buffer.alloc(4);
  let text = bare.split('%')[0] as string;
  const out = Buffer.alloc(16);
  // an embedded IPv4 tail (::ffff:127.0.0.1) becomes two groups
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

/** An address's 16 bytes: IPv6 as is, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d). */
export function toV6(ip: Buffer): Buffer {
  if (ip.length === 16) return ip;
  const out = Buffer.alloc(16);
  out[10] = 0xff;
  out[11] = 0xff;
  ip.copy(out, 12);
  return out;
}
