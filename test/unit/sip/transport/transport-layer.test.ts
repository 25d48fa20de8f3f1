/**
 * TransportLayer (RFC 3261 §18, RFC 3581) on real sockets: the layer listens
 * on 127.0.0.1 and ::1, port 0; the other end is a plain dgram/net socket.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SipMessage, type SipRequest, createRequest, createResponse } from '../../../../src/sip/message/index.js';
import { TransportCounters } from '../../../../src/metrics/transport-counters.js';
import { type BoundListener, ListenError, TransportLayer, type WireMessage } from '../../../../src/sip/transport/index.js';
import { freePort } from '../../../support/sipp.js';
import { waitFor } from '../../../support/wait-for.js';
import { TcpClientPeer, TcpServerPeer, UdpPeer, requestText, testBranch } from '../../../support/sip-peers.js';

/** ::1 must work here: IPv6 is part of what we test, so fail loudly instead of skipping. */
async function assertIpv6LoopbackBindable(): Promise<void> {
  const socket = createSocket({ type: 'udp6', ipv6Only: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '::1', () => resolve());
    });
  } catch (err) {
    throw new Error(`IPv6 loopback ::1 is not bindable on this host (${String(err)}); the IPv6 transport tests need it`, { cause: err });
  } finally {
    socket.close();
  }
}

function listener(transport: TransportLayer, kind: 'udp' | 'tcp', family: 'IPv4' | 'IPv6'): BoundListener {
  const l = transport.listeners.find((x) => x.transport === kind && x.family === family);
  if (l === undefined) throw new Error(`no ${kind} ${family} listener`);
  return l;
}

function viaParam(msg: SipMessage, name: string): string | null | undefined {
  return msg.topVia?.params.get(name);
}

describe('TransportLayer', () => {
  let transport: TransportLayer;
  let counters: TransportCounters;
  /** What the layer above does with each message (a test may swap it). */
  let onMessage: (msg: SipMessage) => void;
  /** Everything handed to onMessage, in order. */
  let delivered: SipMessage[];
  /** Answer every non-ACK request with 200 through responseDestination (RFC 3261 §18.2.2). */
  let autoAnswer: boolean;
  const closers: Array<() => Promise<void>> = [];

  async function udpPeer(address = '127.0.0.1'): Promise<UdpPeer> {
    const p = await UdpPeer.open(address);
    closers.push(() => p.close());
    return p;
  }

  async function tcpClient(port: number, host = '127.0.0.1'): Promise<TcpClientPeer> {
    const p = await TcpClientPeer.connect(port, host);
    closers.push(() => p.close());
    return p;
  }

  async function tcpServer(address = '127.0.0.1'): Promise<TcpServerPeer> {
    const p = await TcpServerPeer.listen(address);
    closers.push(() => p.close());
    return p;
  }

  beforeAll(async () => {
    await assertIpv6LoopbackBindable();
  });

  beforeEach(async () => {
    delivered = [];
    autoAnswer = true;
    transport = new TransportLayer({
      listen: [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
        { transport: 'udp', host: '::1', port: 0 },
        { transport: 'tcp', host: '::1', port: 0 },
      ],
    });
    counters = new TransportCounters(transport.events);
    transport.attach({ receive: (msg) => onMessage(msg) });
    onMessage = (msg) => {
      delivered.push(msg);
      if (autoAnswer && msg.isRequest && msg.method !== 'ACK') {
        transport.send(createResponse(msg, 200, undefined, 'uas-tag'), transport.responseDestination(msg));
      }
    };
    await transport.start();
  });

  afterEach(async () => {
    await transport.stop();
    while (closers.length > 0) await closers.pop()?.();
  });

  describe('the wire event (captures, HEP, SIP traces)', () => {
    it('carries each message in and out with its bytes, both ends and Call-ID; a retransmission too', async () => {
      const wires: WireMessage[] = [];
      transport.events.on('wire', (w) => wires.push(w));
      const peer = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      const text = requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}`, callId: 'wire-1@pbx' });
      await peer.send(text, l.port, '127.0.0.1');
      await waitFor(() => wires.length === 2, { timeoutMs: 3000, what: 'the request and its 200' });
      const [incoming, outgoing] = wires as [WireMessage, WireMessage];
      expect(incoming).toMatchObject({ direction: 'in', transport: 'udp', source: { address: '127.0.0.1', port: peer.port }, destination: { address: '127.0.0.1', port: l.port }, callId: 'wire-1@pbx' });
      expect(incoming.bytes.toString()).toBe(text);
      expect(incoming.message?.isRequest).toBe(true);
      expect(outgoing).toMatchObject({ direction: 'out', transport: 'udp', source: { address: '127.0.0.1', port: l.port }, destination: { address: '127.0.0.1', port: peer.port }, callId: 'wire-1@pbx' });
      expect(outgoing.bytes.toString()).toMatch(/^SIP\/2\.0 200 OK\r\n/);
      // bytes sent again: no parsed message at hand, the Call-ID read from the bytes
      transport.resend(outgoing.bytes, { transport: 'udp', address: '127.0.0.1', port: peer.port });
      expect(wires[2]).toMatchObject({ direction: 'out', callId: 'wire-1@pbx', message: undefined, bytes: outgoing.bytes });
    });

    it('is not built while nobody listens (the hot path does not pay for it)', async () => {
      const emitted: string[] = [];
      const emit = transport.events.emit.bind(transport.events);
      transport.events.emit = ((name: string, ...args: unknown[]) => {
        emitted.push(name);
        return (emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
      }) as typeof transport.events.emit;
      const peer = await udpPeer();
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}` }), listener(transport, 'udp', 'IPv4').port, '127.0.0.1');
      await waitFor(() => emitted.filter((n) => n === 'message').length === 2, { timeoutMs: 3000, what: 'the request and its 200' });
      expect(emitted).not.toContain('wire');
    });

    it('an observer that throws does not stop the message', async () => {
      transport.events.on('wire', () => {
        throw new Error('observer bug');
      });
      const peer = await udpPeer();
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}` }), listener(transport, 'udp', 'IPv4').port, '127.0.0.1');
      await waitFor(() => delivered.length === 1 && peer.arrivals.length === 1, { timeoutMs: 3000, what: 'the request delivered and answered' });
    });
  });

  describe('listening on port 0', () => {
    it('binds UDP and TCP on IPv4 and IPv6 and reports the ports it got', () => {
      const bound = transport.listeners;
      expect(bound).toHaveLength(4);
      for (const l of bound) expect(l.port).toBeGreaterThan(0);
      expect(listener(transport, 'udp', 'IPv6').address).toBe('::1');
      expect(transport.localFor('udp', '::1').family).toBe('IPv6');
      expect(transport.localFor('tcp', '127.0.0.1').family).toBe('IPv4');
      expect(transport.localHostPort({ transport: 'tcp', address: '::1' })).toMatch(/^\[::1\]:\d+$/);
    });

    it.each([
      ['IPv4', '127.0.0.1'],
      ['IPv6', '::1'],
    ] as const)('delivers a UDP request over %s with its source', async (family, address) => {
      autoAnswer = false;
      const peer = await udpPeer(address);
      const l = listener(transport, 'udp', family);
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}` }), l.port, address);
      await waitFor(() => delivered.length === 1, { timeoutMs: 3000, what: 'the request at onMessage' });
      const msg = delivered[0] as SipRequest;
      expect(msg.isRequest && msg.method).toBe('OPTIONS');
      expect(msg.source).toEqual({
        transport: 'udp',
        address,
        port: peer.port,
        family,
        localAddress: address,
        localPort: l.port,
        connectionId: undefined,
        receivedAt: expect.any(Number),
      });
      expect(counters.count('in', 'udp', 'OPTIONS')).toBe(1);
    });

    it.each([
      ['IPv4', '127.0.0.1'],
      ['IPv6', '::1'],
    ] as const)('delivers a TCP request over %s with its source and connection id', async (family, address) => {
      autoAnswer = false;
      const l = listener(transport, 'tcp', family);
      const peer = await tcpClient(l.port, address);
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/TCP ${peer.hostPort};branch=${testBranch()}` }));
      await waitFor(() => delivered.length === 1, { timeoutMs: 3000, what: 'the request at onMessage' });
      const source = delivered[0]?.source;
      expect(source).toMatchObject({ transport: 'tcp', address, port: peer.localPort, family, localAddress: address, localPort: l.port });
      expect(source?.connectionId).toEqual(expect.any(Number));
      expect(transport.connectionCount).toBe(1);
      expect(counters.connectionEvents('tcp', 'accepted')).toBe(1);
    });
  });

  describe('response routing (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
    it('with ;rport sends to the source IP:port and stamps received= and rport=<port>', async () => {
      const source = await udpPeer();
      const sentBy = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      await source.send(
        requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP 127.0.0.1:${sentBy.port};branch=${testBranch()};rport` }),
        l.port,
        '127.0.0.1',
      );
      const res = await source.waitForResponse(200);
      expect(counters.count('out', 'udp', '2xx')).toBe(1);
      expect(sentBy.arrivals).toHaveLength(0);
      expect(viaParam(res, 'received')).toBe('127.0.0.1');
      expect(viaParam(res, 'rport')).toBe(String(source.port));
      expect(res.headers.get('via')).toBe(
        `SIP/2.0/UDP 127.0.0.1:${sentBy.port};branch=${res.topVia?.branch};rport=${source.port};received=127.0.0.1`,
      );
      // the request the TU sees carries the same stamped Via
      expect(delivered[0]?.topVia?.rport).toBe(source.port);
    });

    // Hardened (issue 12): over UDP a response always goes to the packet's source address and
    // port, as if rport were present (Kamailio's default), never to the Via's sent-by port or host,
    // nor to a maddr. Each test ends with a barrier: the other socket sends a request of its own
    // and gets its answer, so anything sent to it before would already have arrived.
    async function barrier(peer: UdpPeer): Promise<void> {
      const l = listener(transport, 'udp', peer.address.includes(':') ? 'IPv6' : 'IPv4');
      const before = peer.arrivals.length;
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()};rport`, callId: 'barrier' }), l.port, peer.address);
      await waitFor(() => peer.arrivals.length > before && peer.messages.at(-1)?.callId === 'barrier', { timeoutMs: 3000, what: 'the barrier response' });
    }

    it('without rport still sends to the source address and port, never the sent-by port; Via untouched', async () => {
      const source = await udpPeer();
      const sentBy = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      const via = `SIP/2.0/UDP 127.0.0.1:${sentBy.port};branch=${testBranch()}`;
      await source.send(requestText({ method: 'OPTIONS', via }), l.port, '127.0.0.1');
      const res = await source.waitForResponse(200);
      expect(res.headers.get('via')).toBe(via);
      await barrier(sentBy);
      expect(sentBy.arrivals).toHaveLength(1); // its own barrier response only
      expect(counters.count('out', 'udp', '2xx')).toBe(2);
    });

    it('adds received= when the sent-by host differs from the source address, and answers the source', async () => {
      const source = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      await source.send(
        requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP 192.0.2.10:5099;branch=${testBranch()}` }),
        l.port,
        '127.0.0.1',
      );
      const res = await source.waitForResponse(200);
      expect(viaParam(res, 'received')).toBe('127.0.0.1');
      expect(viaParam(res, 'rport')).toBeUndefined();
      expect(res.topVia?.host).toBe('192.0.2.10');
      expect(transport.responseDestination(delivered[0] as SipRequest)).toEqual({ transport: 'udp', address: '127.0.0.1', port: source.port });
    });

    it('adds received= for a host name in sent-by, and with rport uses the source port', async () => {
      const source = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      await source.send(
        requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP pbx.example.com;branch=${testBranch()};rport` }),
        l.port,
        '127.0.0.1',
      );
      const res = await source.waitForResponse(200);
      expect(viaParam(res, 'received')).toBe('127.0.0.1');
      expect(viaParam(res, 'rport')).toBe(String(source.port));
    });

    it('ignores maddr: the response goes to the source, nothing to the maddr address (no reflection)', async () => {
      // The request comes from ::1; maddr and sent-by name a socket on 127.0.0.1 (the "victim").
      const source = await udpPeer('::1');
      const victim = await udpPeer('127.0.0.1');
      const l = listener(transport, 'udp', 'IPv6');
      await source.send(
        requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP 127.0.0.1:${victim.port};branch=${testBranch()};maddr=127.0.0.1` }),
        l.port,
        '::1',
      );
      await source.waitForResponse(200);
      expect(transport.responseDestination(delivered[0] as SipRequest)).toEqual({ transport: 'udp', address: '::1', port: source.port });
      await barrier(victim);
      expect(victim.arrivals).toHaveLength(1);
    });

    it('never looks a name up: a maddr host name is ignored, and a send to a name fails at once, sending nothing', async () => {
      const source = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      await source.send(
        requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP reflect.example.invalid:5060;branch=${testBranch()};maddr=victim.example.invalid` }),
        l.port,
        '127.0.0.1',
      );
      await source.waitForResponse(200);
      const out = counters.count('out', 'udp', '2xx');
      const errors: Error[] = [];
      const res = createResponse(delivered[0] as SipRequest, 200, undefined, 'x');
      transport.send(res, { transport: 'udp', address: 'victim.example.invalid', port: 5060 }, (e) => errors.push(e));
      transport.resend(Buffer.from('SIP/2.0 200 OK\r\n\r\n'), { transport: 'tcp', address: 'localhost.example.invalid', port: 5060 }, (e) => errors.push(e));
      await waitFor(() => errors.length === 2, { timeoutMs: 1000, what: 'both sends to fail' });
      expect(errors.map((e) => e.message)).toEqual([
        'not sent to "victim.example.invalid": not an IP address, and names are never looked up',
        'not sent to "localhost.example.invalid": not an IP address, and names are never looked up',
      ]);
      expect(counters.count('out', 'udp', '2xx')).toBe(out);
      expect(transport.connectionCount).toBe(0);
    });

    it.each([
      ['IPv4', '127.0.0.1'],
      ['IPv6', '::1'],
    ] as const)('over TCP/%s sends the response back on the connection the request came on', async (family, address) => {
      const sentBy = await tcpServer(address);
      const l = listener(transport, 'tcp', family);
      const client = await tcpClient(l.port, address);
      const host = address.includes(':') ? `[${address}]` : address;
      await client.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/TCP ${host}:${sentBy.port};branch=${testBranch()}` }));
      const res = await client.waitForResponse(200);
      expect(res.topVia?.port).toBe(sentBy.port);
      expect(sentBy.connections).toHaveLength(0);
      expect(transport.connectionCount).toBe(1);
      expect(counters.connectionEvents('tcp', 'connected')).toBe(0);
      expect(transport.responseDestination(delivered[0] as SipRequest)).toMatchObject({
        transport: 'tcp',
        connectionId: delivered[0]?.source?.connectionId,
      });
    });
  });

  describe('TCP connections', () => {
    it('reuses one connection for requests to the same destination', async () => {
      const server = await tcpServer();
      const dest = { transport: 'tcp' as const, address: '127.0.0.1', port: server.port };
      const options = (n: number): SipRequest =>
        createRequest('OPTIONS', `sip:127.0.0.1:${server.port}`, [
          ['Via', `SIP/2.0/TCP ${transport.localHostPort({ transport: 'tcp', address: '127.0.0.1' })};branch=${testBranch()}`],
          ['Call-ID', `reuse-${n}`],
          ['CSeq', `${n} OPTIONS`],
        ]);
      // two while the connection is still coming up, one after
      transport.send(options(1), dest);
      transport.send(options(2), dest);
      await server.waitForMessages(2);
      transport.send(options(3), dest);
      await server.waitForMessages(3);
      expect(server.connections).toHaveLength(1);
      expect(server.messages.map((m) => m.callId)).toEqual(['reuse-1', 'reuse-2', 'reuse-3']);
      expect(transport.connectionCount).toBe(1);
      expect(counters.connectionEvents('tcp', 'connected')).toBe(1);
    });

    it('uses the connection a peer opened for requests to that peer', async () => {
      const l = listener(transport, 'tcp', 'IPv4');
      const client = await tcpClient(l.port);
      await waitFor(() => transport.connectionCount === 1, { timeoutMs: 3000, what: 'the accepted connection' });
      transport.send(
        createRequest('OPTIONS', `sip:${client.hostPort}`, [['Via', `SIP/2.0/TCP ${transport.localHostPort({ transport: 'tcp', address: l.address })};branch=${testBranch()}`]]),
        { transport: 'tcp', address: client.localAddress, port: client.localPort },
      );
      await client.waitForRequest('OPTIONS');
      expect(transport.connectionCount).toBe(1);
      expect(counters.connectionEvents('tcp', 'connected')).toBe(0);
    });

    it('closes connections idle for tcpIdleTimeoutMs, in both directions', async () => {
      await transport.stop();
      transport = new TransportLayer({ listen: [{ transport: 'tcp', host: '127.0.0.1', port: 0 }], tcpIdleTimeoutMs: 200 });
      counters = new TransportCounters(transport.events);
      await transport.start();
      const server = await tcpServer();
      transport.send(createRequest('OPTIONS', `sip:127.0.0.1:${server.port}`, [['Call-ID', 'idle']]), {
        transport: 'tcp',
        address: '127.0.0.1',
        port: server.port,
      });
      const client = await tcpClient(transport.localFor('tcp').port);
      await server.waitForMessages(1);
      await waitFor(() => transport.connectionCount === 2, { timeoutMs: 3000, what: 'two open connections' });
      await waitFor(() => transport.connectionCount === 0, { timeoutMs: 3000, what: 'idle connections to close' });
      await waitFor(() => server.closedConnections === 1 && client.closed, { timeoutMs: 3000, what: 'the peers to see the close' });
      expect(counters.connectionEvents('tcp', 'idle-timeout')).toBe(2);
    });

    it('answers a double-CRLF keep-alive with exactly one CRLF', async () => {
      const l = listener(transport, 'tcp', 'IPv4');
      const client = await tcpClient(l.port);
      await client.send('\r\n\r\n');
      await waitFor(() => client.rawReceived.length >= 2, { timeoutMs: 3000, what: 'the pong' });
      // barrier: a request sent after the ping; its response must follow the single CRLF directly
      await client.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/TCP ${client.hostPort};branch=${testBranch()}` }));
      await client.waitForResponse(200);
      expect(client.rawReceived.subarray(0, 14).toString()).toBe('\r\nSIP/2.0 200 ');
      expect([...counters.keepAlives.values()].reduce((a, b) => a + b, 0)).toBe(1);
      expect(delivered).toHaveLength(1);
    });

    it('counts a CRLF keep-alive datagram on UDP and sends nothing back', async () => {
      const peer = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      await peer.send('\r\n\r\n', l.port, '127.0.0.1');
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}` }), l.port, '127.0.0.1');
      await peer.waitForResponse(200);
      expect(peer.arrivals).toHaveLength(1);
      expect([...counters.keepAlives.values()].reduce((a, b) => a + b, 0)).toBe(1);
      expect((counters.parseErrors.get('udp') ?? 0)).toBe(0);
    });
  });

  describe('malformed input', () => {
    it('drops garbage, answers a readable bad request with 400 + Warning, ignores a bad ACK, and keeps working', async () => {
      const peer = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      const via = (): string => `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()};rport`;
      await peer.send(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a, 0x42]), l.port, '127.0.0.1');
      await peer.send('this is not SIP at all\r\n\r\n', l.port, '127.0.0.1');
      await peer.send(requestText({ method: 'ACK', via: via(), cseqMethod: 'INVITE', toTag: 'x' }), l.port, '127.0.0.1');
      await peer.send(
        requestText({ method: 'INVITE', via: via(), callId: 'bad-cseq' }).replace('CSeq: 1 INVITE', 'CSeq: one INVITE'),
        l.port,
        '127.0.0.1',
      );
      await peer.send(requestText({ method: 'OPTIONS', via: via(), callId: 'good' }), l.port, '127.0.0.1');

      await waitFor(() => delivered.length === 1, { timeoutMs: 3000, what: 'the good request' });
      expect(delivered[0]?.callId).toBe('good');
      await peer.waitForMessages(2);
      const bad = await peer.waitForResponse(400);
      expect(bad.callId).toBe('bad-cseq');
      expect(bad.headers.get('warning')).toBe('399 trunkgate "Malformed CSeq"');
      expect(bad.toTag).toEqual(expect.any(String));
      expect(peer.responses.map((r) => r.status).sort()).toEqual([200, 400]);
      expect((counters.parseErrors.get('udp') ?? 0)).toBe(4);
      expect(counters.rejected).toBe(1);
      expect(counters.dropped).toBe(3);
    });

    it('answers 400 on the same TCP connection and keeps the connection open', async () => {
      const l = listener(transport, 'tcp', 'IPv4');
      const client = await tcpClient(l.port);
      const via = (): string => `SIP/2.0/TCP ${client.hostPort};branch=${testBranch()}`;
      await client.send(requestText({ method: 'OPTIONS', via: via(), callId: 'no-from' }).replace(/^From: .*\r\n/m, ''));
      await client.send(requestText({ method: 'OPTIONS', via: via(), callId: 'good' }));
      const bad = await client.waitForResponse(400);
      expect(bad.headers.get('warning')).toBe('399 trunkgate "Missing From"');
      await client.waitForResponse(200);
      expect(delivered.map((m) => m.callId)).toEqual(['good']);
      expect((counters.parseErrors.get('tcp') ?? 0)).toBe(1);
      expect(transport.connectionCount).toBe(1);
    });

    it('closes a TCP connection whose stream cannot be framed', async () => {
      const l = listener(transport, 'tcp', 'IPv4');
      const client = await tcpClient(l.port);
      await client.send('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: lots\r\n\r\n');
      await waitFor(() => client.closed, { timeoutMs: 3000, what: 'the layer to close the connection' });
      await waitFor(() => transport.connectionCount === 0, { timeoutMs: 3000, what: 'the connection to be forgotten' });
      expect((counters.parseErrors.get('tcp') ?? 0)).toBe(1);
      expect(delivered).toHaveLength(0);
    });

    it('drops a malformed response without passing it up', async () => {
      const peer = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      await peer.send(
        `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}\r\nContent-Length: 0\r\n\r\n`,
        l.port,
        '127.0.0.1',
      );
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}` }), l.port, '127.0.0.1');
      await peer.waitForResponse(200);
      expect(delivered.map((m) => m.isRequest)).toEqual([true]);
      expect((counters.parseErrors.get('udp') ?? 0)).toBe(1);
      expect(counters.dropped).toBe(1);
    });

    it('survives a message handler that throws', async () => {
      autoAnswer = false;
      let calls = 0;
      onMessage = () => {
        calls++;
        throw new Error('bug above the transport');
      };
      const peer = await udpPeer();
      const l = listener(transport, 'udp', 'IPv4');
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}` }), l.port, '127.0.0.1');
      await peer.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()}` }), l.port, '127.0.0.1');
      await waitFor(() => calls === 2, { timeoutMs: 3000, what: 'both requests at the throwing handler' });
    });
  });

  describe('start-up errors', () => {
    async function portIsFree(kind: 'udp' | 'tcp', port: number): Promise<boolean> {
      if (kind === 'udp') {
        const s = createSocket('udp4');
        return new Promise((resolve) => {
          s.once('error', () => resolve(false));
          s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
        });
      }
      const srv = createServer();
      return new Promise((resolve) => {
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
      });
    }

    it('rejects with a ListenError saying "already in use" for a taken TCP port, and closes the UDP listener it had opened', async () => {
      const port = await freePort();
      const taken = await TcpServerPeer.listen('127.0.0.1', port);
      closers.push(() => taken.close());
      const layer = new TransportLayer({
        listen: [
          { transport: 'udp', host: '127.0.0.1', port },
          { transport: 'tcp', host: '127.0.0.1', port },
        ],
      });
      const err = await layer.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ListenError);
      expect((err as ListenError).code).toBe('SIP_LISTEN_IN_USE');
      expect((err as ListenError).message).toContain('already in use');
      expect((err as ListenError).message).toContain(`tcp://127.0.0.1:${port}`);
      expect(layer.listeners).toEqual([]);
      expect(await portIsFree('udp', port)).toBe(true);
    });

    it('rejects for a taken UDP port and closes the TCP listener it had opened', async () => {
      const port = await freePort();
      const taken = createSocket('udp4');
      await new Promise<void>((resolve) => taken.bind(port, '127.0.0.1', () => resolve()));
      closers.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
      const layer = new TransportLayer({
        listen: [
          { transport: 'tcp', host: '127.0.0.1', port },
          { transport: 'udp', host: '127.0.0.1', port },
        ],
      });
      const udpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
      // sockets closed by earlier tests leave the handle list on the loop's next close phase
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      const before = udpHandles();
      await expect(layer.start()).rejects.toThrow(/udp:\/\/127\.0\.0\.1:\d+: the address is already in use/);
      expect(layer.listeners).toEqual([]);
      expect(await portIsFree('tcp', port)).toBe(true);
      // the socket that failed to bind is closed too (it would hold a file descriptor)
      await waitFor(() => udpHandles() === before, { timeoutMs: 2000, what: 'the unbound UDP socket to be closed' });
      // a later start on free ports works: the layer is not left half-started
      await new Promise<void>((resolve) => taken.close(() => resolve()));
      closers.pop();
      await layer.start();
      expect(layer.listeners).toHaveLength(2);
      await layer.stop();
    });
  });
});
