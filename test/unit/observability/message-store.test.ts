/**
 * The message store: what starts a capture, how the carrier leg joins its
 * call, refusals and endings, lookups by our id and either Call-ID, and the
 * bounds (calls, bytes, messages per call), oldest out first.
 */
import { describe, expect, it } from 'vitest';
import { MessageStore, type MessageStoreBounds } from '../../../src/observability/message-store.js';
import { parseMessage } from '../../../src/sip/message/index.js';
import type { Direction, WireMessage } from '../../../src/sip/transport/index.js';

const PBX = { address: '192.0.2.10', port: 5062 };
const US = { address: '192.0.2.1', port: 5060 };
const CARRIER = { address: '198.51.100.7', port: 5060 };

let branch = 1000;

function request(method: string, callId: string, extra = ''): Buffer {
  return Buffer.from(`${method} sip:+14155550123@demo.pstn.twilio.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK${branch++}\r\nFrom: <sip:+14155550100@pbx>;tag=a\r\nTo: <sip:+14155550123@demo.pstn.twilio.com>\r\nCall-ID: ${callId}\r\nCSeq: 1 ${method}\r\nContent-Length: ${extra.length}\r\n\r\n${extra}`);
}

function response(status: number, callId: string): Buffer {
  return Buffer.from(`SIP/2.0 ${status} X\r\nVia: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=a\r\nTo: <sip:c@d>;tag=b\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`);
}

function wire(direction: Direction, bytes: Buffer, ends: { source: typeof PBX; destination: typeof PBX } = direction === 'in' ? { source: PBX, destination: US } : { source: US, destination: PBX }): WireMessage {
  const parsed = parseMessage(bytes);
  if (!parsed.ok) throw new Error(parsed.reason);
  return { direction, transport: 'udp', ...ends, bytes, callId: parsed.message.callId, message: parsed.message };
}

const BOUNDS: MessageStoreBounds = { maxCalls: 10, maxBytes: 1_000_000, maxMessagesPerCall: 100 };

describe('MessageStore', () => {
  it('a new INVITE starts a capture; other messages of unknown Call-IDs (OPTIONS, stray BYE, responses) are not kept', () => {
    const store = new MessageStore(BOUNDS, () => 1000);
    store.record(wire('in', request('OPTIONS', 'ping-1')));
    store.record(wire('in', request('BYE', 'stray-1')));
    store.record(wire('in', response(200, 'unknown-1')));
    expect(store.size).toEqual({ calls: 0, bytes: 0 });
    const invite = request('INVITE', 'call-1');
    store.record(wire('in', invite));
    store.record(wire('out', response(100, 'call-1')));
    expect(store.size).toEqual({ calls: 1, bytes: invite.length + response(100, 'call-1').length });
    const c = store.find('call-1');
    expect(c?.messages.map((m) => [m.direction, m.leg, m.time])).toEqual([
      ['in', 'a', 1000],
      ['out', 'a', 1000],
    ]);
    expect(c?.messages[0]?.source).toEqual(PBX);
    expect(c?.messages[0]?.bytes).toBe(invite); // the transport's buffer, not a copy
  });

  it('ties the carrier leg to the call (associate), so its messages join it as leg b; found by our id and both Call-IDs', () => {
    const store = new MessageStore(BOUNDS);
    store.record(wire('in', request('INVITE', 'a-leg')));
    store.decided('a-leg', 'demo', 'us1', { kind: 'admitted', disposition: undefined });
    store.associate('a-leg', 'CA1', 'b-leg');
    store.record(wire('out', request('INVITE', 'b-leg'), { source: US, destination: CARRIER }));
    store.record(wire('in', response(200, 'b-leg'), { source: CARRIER, destination: US }));
    store.record(wire('out', response(200, 'a-leg')));
    store.ended('CA1', 'answered');
    const c = store.find('CA1');
    expect(c).toBe(store.find('a-leg'));
    expect(c).toBe(store.find('b-leg'));
    expect(c?.callIds).toEqual(['a-leg', 'b-leg']);
    expect(c?.messages.map((m) => `${m.leg} ${m.direction}`)).toEqual(['a in', 'b out', 'b in', 'a out']);
    expect(c).toMatchObject({ id: 'CA1', trunk: 'demo', region: 'us1', outcome: { kind: 'admitted', disposition: 'answered' } });
    expect(store.size.calls).toBe(1);
  });

  it('keeps refusals with their status, reason and outcome', () => {
    const store = new MessageStore(BOUNDS);
    store.record(wire('in', request('INVITE', 'refused-1')));
    store.decided('refused-1', 'demo', 'us1', { kind: 'refused', status: 503, reason: 'Service Unavailable', outcome: 'cps_limited' });
    store.record(wire('out', response(503, 'refused-1')));
    expect(store.find('refused-1')).toMatchObject({ id: undefined, outcome: { kind: 'refused', status: 503, outcome: 'cps_limited' } });
    expect(store.find('refused-1')?.messages).toHaveLength(2);
  });

  it('bounded by calls: the oldest capture goes first, with its index entries', () => {
    const store = new MessageStore({ ...BOUNDS, maxCalls: 3 });
    for (let i = 1; i <= 5; i++) {
      store.record(wire('in', request('INVITE', `c${i}`)));
      store.associate(`c${i}`, `CA${i}`, undefined);
    }
    expect(store.size.calls).toBe(3);
    expect(store.evicted).toBe(2);
    expect(['c1', 'c2', 'CA1', 'CA2'].map((k) => store.find(k))).toEqual([undefined, undefined, undefined, undefined]);
    expect(store.recent(10).map((c) => c.id)).toEqual(['CA5', 'CA4', 'CA3']);
    // a message of an evicted call does not bring it back
    store.record(wire('in', response(200, 'c1')));
    expect(store.find('c1')).toBeUndefined();
  });

  it('bounded by bytes: the byte count follows evictions exactly', () => {
    const one = request('INVITE', 'b1', 'x'.repeat(400)).length;
    const store = new MessageStore({ ...BOUNDS, maxBytes: one * 2 + 10 });
    for (let i = 1; i <= 4; i++) store.record(wire('in', request('INVITE', `b${i}`, 'x'.repeat(400))));
    expect(store.size).toEqual({ calls: 2, bytes: 2 * one });
    expect(store.find('b3')).toBeDefined();
    expect(store.find('b2')).toBeUndefined();
  });

  it('bounded per call: messages past maxMessagesPerCall are counted, not kept', () => {
    const store = new MessageStore({ ...BOUNDS, maxMessagesPerCall: 3 });
    store.record(wire('in', request('INVITE', 'long')));
    for (let i = 0; i < 5; i++) store.record(wire('in', request('INFO', 'long')));
    expect(store.find('long')?.messages).toHaveLength(3);
    expect(store.find('long')?.omitted).toBe(3);
  });

  it('copies a message that is a small slice of a large buffer (a TCP read), so the store holds only what it counts', () => {
    const store = new MessageStore(BOUNDS);
    const msg = request('INVITE', 'slice');
    const big = Buffer.alloc(256 * 1024);
    msg.copy(big, 1000);
    const slice = big.subarray(1000, 1000 + msg.length);
    store.record({ ...wire('in', msg), bytes: slice });
    const kept = store.find('slice')?.messages[0]?.bytes as Buffer;
    expect(kept.equals(msg)).toBe(true);
    expect(kept.buffer.byteLength).toBeLessThan(big.length);
  });

  it('maxCalls 0 keeps nothing; setBounds shrinks a full store at once', () => {
    const store = new MessageStore({ ...BOUNDS, maxCalls: 0 });
    store.record(wire('in', request('INVITE', 'x')));
    expect(store.size.calls).toBe(0);
    store.setBounds({ ...BOUNDS, maxCalls: 5 });
    for (let i = 0; i < 5; i++) store.record(wire('in', request('INVITE', `y${i}`)));
    store.setBounds({ ...BOUNDS, maxCalls: 2 });
    expect(store.recent(10).map((c) => c.callIds[0])).toEqual(['y4', 'y3']);
  });
});
