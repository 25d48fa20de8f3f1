/**
 * The pcap writer, read back by an independent parser written here from the
 * libpcap format description (the integration test opens the same files with
 * tshark): headers, lengths, IPv4 header checksums, UDP and TCP checksums over
 * the pseudo-header, TCP sequence numbers per direction, IPv6.
 */
import { describe, expect, it } from 'vitest';
import { ipBytes, writePcap } from '../../../src/observability/pcap.js';

interface Frame {
  seconds: number;
  micros: number;
  etherType: number;
  protocol: number;
  src: Buffer;
  dst: Buffer;
  ipHeader: Buffer;
  segment: Buffer;
}

function readPcap(file: Buffer): { linkType: number; frames: Frame[] } {
  expect(file.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect([file.readUInt16LE(4), file.readUInt16LE(6)]).toEqual([2, 4]);
  const linkType = file.readUInt32LE(20);
  const frames: Frame[] = [];
  let at = 24;
  while (at < file.length) {
    const seconds = file.readUInt32LE(at);
    const micros = file.readUInt32LE(at + 4);
    const incl = file.readUInt32LE(at + 8);
    expect(file.readUInt32LE(at + 12)).toBe(incl);
    const packet = file.subarray(at + 16, at + 16 + incl);
    expect(packet.length).toBe(incl);
    at += 16 + incl;
    const etherType = packet.readUInt16BE(12);
    const ip = packet.subarray(14);
    if (etherType === 0x0800) {
      const ihl = ((ip[0] as number) & 0x0f) * 4;
      expect(ip.readUInt16BE(2)).toBe(ip.length);
      frames.push({ seconds, micros, etherType, protocol: ip[9] as number, src: ip.subarray(12, 16), dst: ip.subarray(16, 20), ipHeader: ip.subarray(0, ihl), segment: ip.subarray(ihl) });
    } else {
      expect(etherType).toBe(0x86dd);
      expect(ip.readUInt16BE(4)).toBe(ip.length - 40);
      frames.push({ seconds, micros, etherType, protocol: ip[6] as number, src: ip.subarray(8, 24), dst: ip.subarray(24, 40), ipHeader: ip.subarray(0, 40), segment: ip.subarray(40) });
    }
  }
  return { linkType, frames };
}

/** RFC 1071: the one's-complement sum; a correct checksummed block sums to 0xffff. */
function onesSum(...parts: Buffer[]): number {
  const all = Buffer.concat(parts);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += ((all[i] as number) << 8) + (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudo(f: Frame): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(f.segment.length);
  return Buffer.concat([f.src, f.dst, Buffer.from([0, f.protocol]), f.etherType === 0x0800 ? len.subarray(2) : len]);
}

const MSG = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n');

describe('writePcap', () => {
  it('writes Ethernet/IPv4/UDP records with the time, the ports and valid checksums', () => {
    const { linkType, frames } = readPcap(writePcap([{ time: 1_700_000_000_123.456, transport: 'udp', source: { address: '127.0.0.1', port: 5062 }, destination: { address: '10.1.2.3', port: 5060 }, bytes: MSG }]));
    expect(linkType).toBe(1);
    const f = frames[0] as Frame;
    expect([f.seconds, f.micros]).toEqual([1_700_000_000, 123_456]);
    expect(f.protocol).toBe(17);
    expect([...f.src]).toEqual([127, 0, 0, 1]);
    expect([...f.dst]).toEqual([10, 1, 2, 3]);
    expect(onesSum(f.ipHeader)).toBe(0xffff);
    expect([f.segment.readUInt16BE(0), f.segment.readUInt16BE(2), f.segment.readUInt16BE(4)]).toEqual([5062, 5060, 8 + MSG.length]);
    expect(onesSum(pseudo(f), f.segment)).toBe(0xffff);
    expect(f.segment.subarray(8).equals(MSG)).toBe(true);
  });

  it('TCP: sequence numbers run on per direction, the ACK follows the other direction, checksums valid; large messages are split', () => {
    const a = { address: '127.0.0.1', port: 40000 };
    const b = { address: '127.0.0.1', port: 5060 };
    const big = Buffer.alloc(70_000, 0x41);
    const { frames } = readPcap(
      writePcap([
        { time: 1, transport: 'tcp', source: a, destination: b, bytes: MSG },
        { time: 2, transport: 'tcp', source: b, destination: a, bytes: MSG },
        { time: 3, transport: 'tcp', source: a, destination: b, bytes: big },
      ]),
    );
    const seq = (f: Frame): number => f.segment.readUInt32BE(4);
    const ack = (f: Frame): number => f.segment.readUInt32BE(8);
    expect(frames).toHaveLength(2 + Math.ceil(big.length / 32_000));
    expect(seq(frames[0] as Frame)).toBe(1);
    expect(seq(frames[1] as Frame)).toBe(1);
    expect(ack(frames[1] as Frame)).toBe(1 + MSG.length);
    expect(seq(frames[2] as Frame)).toBe(1 + MSG.length);
    expect(ack(frames[2] as Frame)).toBe(1 + MSG.length);
    expect(seq(frames[3] as Frame)).toBe(1 + MSG.length + 32_000);
    for (const f of frames) {
      expect(f.protocol).toBe(6);
      expect(f.segment[13]).toBe(0x18); // PSH ACK
      expect(onesSum(f.ipHeader)).toBe(0xffff);
      expect(onesSum(pseudo(f), f.segment)).toBe(0xffff);
    }
    expect(Buffer.concat(frames.slice(2).map((f) => f.segment.subarray(20))).equals(big)).toBe(true);
  });

  it('IPv6, and IPv4 beside IPv6 as IPv4-mapped', () => {
    const { frames } = readPcap(writePcap([{ time: 0, transport: 'udp', source: { address: '::1', port: 1 }, destination: { address: '127.0.0.1', port: 2 }, bytes: MSG }]));
    const f = frames[0] as Frame;
    expect(f.etherType).toBe(0x86dd);
    expect(f.src.toString('hex')).toBe('00000000000000000000000000000001');
    expect(f.dst.toString('hex')).toBe('00000000000000000000ffff7f000001');
    expect(onesSum(pseudo(f), f.segment)).toBe(0xffff);
  });
});

describe('ipBytes', () => {
  it.each([
    ['192.0.2.1', 'c0000201'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::10', '20010db8000000000000000000000010'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['[2001:db8:1:2:3:4:5:6]', '20010db8000100020003000400050006'],
    ['not-an-ip', '00000000'],
  ])('%s', (address, hex) => {
    expect(ipBytes(address).toString('hex')).toBe(hex);
  });
});
