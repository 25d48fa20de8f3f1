/**
 * The HEP v3 encoder, read back by hep-js (the Homer project's own decoder)
 * for IPv4, and by the chunk layout of the HEP3 specification for IPv6
 * (hep-js decodes IPv4 addresses only).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { encodeHep } from '../../../src/observability/hep.js';

const hepjs = createRequire(import.meta.url)('hep-js') as { decapsulate(b: Buffer): { rcinfo: Record<string, unknown>; payload: string } | false };

const SIP = Buffer.from('INVITE sip:+14155550123@x SIP/2.0\r\nCall-ID: é-1\r\nContent-Length: 0\r\n\r\n', 'utf8');

function chunks(packet: Buffer): Map<number, Buffer> {
  expect(packet.toString('latin1', 0, 4)).toBe('HEP3');
  expect(packet.readUInt16BE(4)).toBe(packet.length);
  const out = new Map<number, Buffer>();
  for (let at = 6; at < packet.length; ) {
    expect(packet.readUInt16BE(at)).toBe(0);
    const type = packet.readUInt16BE(at + 2);
    const length = packet.readUInt16BE(at + 4);
    out.set(type, packet.subarray(at + 6, at + length));
    at += length;
  }
  return out;
}

describe('encodeHep', () => {
  it('IPv4/UDP: hep-js reads every field back, the payload byte for byte (non-ASCII too)', () => {
    const packet = encodeHep(
      { transport: 'udp', source: { address: '192.0.2.10', port: 5062 }, destination: { address: '192.0.2.1', port: 5060 }, time: 1_700_000_000_250.5, bytes: SIP },
      { captureId: 2001, nodeName: 'trunkgate' },
    );
    const d = hepjs.decapsulate(packet);
    expect(d).not.toBe(false);
    if (d === false) return;
    expect(d.rcinfo).toEqual({ protocolFamily: 2, protocol: 17, srcIp: '192.0.2.10', dstIp: '192.0.2.1', srcPort: 5062, dstPort: 5060, timeSeconds: 1_700_000_000, timeUseconds: 250_500, payloadType: 1, captureId: 2001, hepNodeName: 'trunkgate' });
    expect(d.payload).toBe(SIP.toString('utf8'));
  });

  it('TCP over IPv6: protocol 6, family 10, 16-byte address chunks 5 and 6', () => {
    const c = chunks(encodeHep({ transport: 'tcp', source: { address: '::1', port: 40000 }, destination: { address: '2001:db8::1', port: 5060 }, time: 0, bytes: SIP }, { captureId: 7, nodeName: 'n' }));
    expect(c.get(1)?.[0]).toBe(10);
    expect(c.get(2)?.[0]).toBe(6);
    expect(c.get(5)?.toString('hex')).toBe('00000000000000000000000000000001');
    expect(c.get(6)?.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(c.has(3)).toBe(false);
    expect(c.get(15)?.equals(SIP)).toBe(true);
    expect(c.get(12)?.readUInt32BE(0)).toBe(7);
  });

  it('refuses a message too large for one HEP packet (a RangeError the exporter counts)', () => {
    expect(() => encodeHep({ transport: 'tcp', source: { address: '::1', port: 1 }, destination: { address: '::1', port: 2 }, time: 0, bytes: Buffer.alloc(70_000) }, { captureId: 1, nodeName: 'n' })).toThrow(RangeError);
  });
});
