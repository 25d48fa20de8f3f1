/**
 * Fairness at the transport (issue 12), on real sockets: the per-source cap
 * on inbound stream connections, and the request gate (per-source rate
 * limiting) that drops a flooding source's requests before they are parsed.
 * Two sources on the loopback: 127.0.0.1 and 127.0.0.2 (Linux routes all of
 * 127.0.0.0/8 to lo).
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/limits/clock.js';
import { SourceRateLimiter } from '../../../../src/limits/source-rate-limiter.js';
import { TransportCounters } from '../../../../src/metrics/transport-counters.js';
import { type SipMessage, createResponse } from '../../../../src/sip/message/index.js';
import { type TransportOptions, TransportLayer, defaultPerSourceCap } from '../../../../src/sip/transport/index.js';
import { UdpPeer, requestText, testBranch } from '../../../support/sip-peers.js';
import { waitFor } from '../../../support/wait-for.js';

const open: Array<{ close(): Promise<void> | void }> = [];

afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

async function layer(options: Omit<TransportOptions, 'listen'>): Promise<{ transport: TransportLayer; counters: TransportCounters; delivered: SipMessage[] }> {
  const transport = new TransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }, { transport: 'tcp', host: '127.0.0.1', port: 0 }], ...options });
  const counters = new TransportCounters(transport.events);
  const delivered: SipMessage[] = [];
  transport.attach({
    receive: (msg) => {
      delivered.push(msg);
      if (msg.isRequest && msg.method !== 'ACK') transport.send(createResponse(msg, 200, undefined, 't'), transport.responseDestination(msg));
    },
  });
  await transport.start();
  open.push({ close: () => transport.stop() });
  return { transport, counters, delivered };
}

function tcpFrom(localAddress: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
    s.on('error', () => undefined);
    open.push({ close: () => void s.destroy() });
  });
}

function closed(s: Socket): Promise<boolean> {
  return new Promise((resolve) => (s.destroyed ? resolve(true) : s.once('close', () => resolve(true))));
}

describe('the per-source cap on inbound stream connections', () => {
  it('one source gets at most maxTcpConnectionsPerSource; the excess is closed at once; another source still gets in', async () => {
    const { transport, counters } = await layer({ maxTcpConnections: 8, maxTcpConnectionsPerSource: 3 });
    const port = transport.localFor('tcp').port;
    const first = await Promise.all(Array.from({ length: 5 }, () => tcpFrom('127.0.0.1', port)));
    await waitFor(() => counters.connectionEvents('tcp', 'source-refused') === 2, { timeoutMs: 3000, what: 'two refusals at the per-source cap' });
    await waitFor(() => first.filter((s) => s.destroyed).length === 2, { timeoutMs: 3000, what: 'the two refused connections to close' });
    expect(counters.connectionEvents('tcp', 'accepted')).toBe(3);
    expect(counters.connectionEvents('tcp', 'refused')).toBe(0);
    // the other source: accepted, and it is answered
    const other = await tcpFrom('127.0.0.2', port);
    let received = '';
    other.on('data', (d: Buffer) => (received += d.toString()));
    other.write(requestText({ method: 'OPTIONS', via: `SIP/2.0/TCP 127.0.0.2:5070;branch=${testBranch()}` }));
    await waitFor(() => received.startsWith('SIP/2.0 200 '), { timeoutMs: 3000, what: 'the answer on the other source’s connection' });
    expect(transport.connectionCount).toBe(4);
  });

  it('a closed connection frees its source’s slot', async () => {
    const { transport, counters } = await layer({ maxTcpConnections: 8, maxTcpConnectionsPerSource: 1 });
    const port = transport.localFor('tcp').port;
    const a = await tcpFrom('127.0.0.1', port);
    await waitFor(() => transport.connectionCount === 1, { timeoutMs: 3000, what: 'the first connection' });
    const b = await tcpFrom('127.0.0.1', port);
    await closed(b);
    expect(counters.connectionEvents('tcp', 'source-refused')).toBe(1);
    a.destroy();
    await waitFor(() => transport.connectionCount === 0, { timeoutMs: 3000, what: 'the first connection to close' });
    await tcpFrom('127.0.0.1', port);
    await waitFor(() => transport.connectionCount === 1, { timeoutMs: 3000, what: 'a new connection from the same source' });
    expect(counters.connectionEvents('tcp', 'source-refused')).toBe(1);
  });

  it('defaults to a quarter of the global cap, at least 1', () => {
    expect([defaultPerSourceCap(1024), defaultPerSourceCap(8), defaultPerSourceCap(3), defaultPerSourceCap(1)]).toEqual([256, 2, 1, 1]);
  });
});

describe('the request gate (per-source rate limiting, Kamailio pike)', () => {
  it('a source over its rate is dropped before parsing and blocked; another source and responses pass', async () => {
    const clock = new ManualClock(0);
    const limiter = new SourceRateLimiter({ enabled: true, requestsPerSecond: 1, burst: 3, blockMs: 10_000 }, clock);
    const { transport, counters, delivered } = await layer({ requestGate: limiter });
    const port = transport.localFor('udp').port;
    const flooder = await UdpPeer.open('127.0.0.1');
    const other = await UdpPeer.open('127.0.0.2');
    open.push(flooder, other);
    const options = (peer: UdpPeer, callId: string): string =>
      requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()};rport`, callId });
    for (let i = 0; i < 6; i++) await flooder.send(options(flooder, `flood-${i}`), port, '127.0.0.1');
    // a response from the blocked source is never gated (it may answer a transaction of ours)
    await flooder.send('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: resp\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n', port, '127.0.0.1');
    await other.send(options(other, 'other'), port, '127.0.0.1');
    await other.waitForResponse(200);
    await waitFor(() => delivered.some((m) => m.callId === 'resp'), { timeoutMs: 3000, what: 'the response from the blocked source' });
    expect(delivered.filter((m) => m.isRequest).map((m) => m.callId)).toEqual(['flood-0', 'flood-1', 'flood-2', 'other']);
    expect(counters.sourceLimited.get('udp')).toBe(3);
    expect(limiter.blocked()).toEqual(['127.0.0.1']);
    // still blocked after the bucket would have refilled, until blockMs is over
    clock.advance(9_999);
    await flooder.send(options(flooder, 'still-blocked'), port, '127.0.0.1');
    await waitFor(() => counters.sourceLimited.get('udp') === 4, { timeoutMs: 3000, what: 'the request during the block to be dropped' });
    clock.advance(1);
    await flooder.send(options(flooder, 'after'), port, '127.0.0.1');
    await waitFor(() => delivered.some((m) => m.callId === 'after'), { timeoutMs: 3000, what: 'the request after the block' });
    expect(delivered.some((m) => m.callId === 'still-blocked')).toBe(false);
  });

  it('off (the default): nothing is gated or tracked', async () => {
    const limiter = new SourceRateLimiter({ enabled: false, requestsPerSecond: 1, burst: 1, blockMs: 10_000 }, new ManualClock(0));
    const { transport, counters, delivered } = await layer({ requestGate: limiter });
    const peer = await UdpPeer.open('127.0.0.1');
    open.push(peer);
    for (let i = 0; i < 5; i++) {
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()};rport`, callId: `c${i}` }), transport.localFor('udp').port, '127.0.0.1');
    }
    await waitFor(() => delivered.length === 5, { timeoutMs: 3000, what: 'all five requests' });
    expect(counters.sourceLimited.get('udp')).toBeUndefined();
    expect(limiter.size).toBe(0);
  });
});
