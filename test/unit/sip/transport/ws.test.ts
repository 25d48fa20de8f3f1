/**
 * SIP over WebSocket (RFC 7118) on real sockets: the transport layer listens
 * on ws://127.0.0.1:0 (and wss:// with a self-signed certificate); the other
 * end is the `ws` package's client, as SIP.js uses it in Node.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generate } from 'selfsigned';
import type { SipMessage } from '../../../../src/sip/message/index.js';
import { createResponse } from '../../../../src/sip/message/index.js';
import { TransportCounters } from '../../../../src/metrics/transport-counters.js';
import { type Flow, TransportLayer, type TransportOptions } from '../../../../src/sip/transport/index.js';
import { offeredSubprotocols } from '../../../../src/sip/transport/ws.js';
import { requestText, testBranch } from '../../../support/sip-peers.js';
import { waitFor } from '../../../support/wait-for.js';

interface Peer {
  ws: WebSocket;
  /** Messages received, as text, in order. */
  received: string[];
  closed: Promise<number>;
}

const closers: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function layer(options: Partial<TransportOptions> = {}, transport: 'ws' | 'wss' = 'ws'): Promise<{ t: TransportLayer; delivered: SipMessage[]; counters: TransportCounters; url: string; flows: Flow[] }> {
  const t = new TransportLayer({ listen: [{ transport, host: '127.0.0.1', port: 0 }], ...options });
  const delivered: SipMessage[] = [];
  const flows: Flow[] = [];
  t.attach({ receive: (m) => delivered.push(m) });
  t.events.on('flowClosed', (f) => flows.push(f));
  const counters = new TransportCounters(t.events);
  await t.start();
  closers.push(() => t.stop());
  const l = t.listeners[0];
  if (l === undefined) throw new Error('no listener');
  return { t, delivered, counters, url: `${transport}://127.0.0.1:${l.port}`, flows };
}

function connect(url: string, protocols: string | string[] = 'sip', options: { rejectUnauthorized?: boolean } = {}): Promise<Peer> {
  const ws = new WebSocket(url, protocols, { rejectUnauthorized: options.rejectUnauthorized ?? true });
  const received: string[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => received.push(isBinary ? `binary:${data.toString('utf8')}` : data.toString('utf8')));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  closers.push(() => {
    ws.terminate();
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, received, closed }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
  });
}

function options(via = `SIP/2.0/WS abc123.invalid;branch=${testBranch()}`, extra: string[] = []): string {
  return requestText({ method: 'OPTIONS', uri: 'sip:demo.client.twilio.com', via, extraHeaders: extra });
}

describe('the WebSocket transport (RFC 7118)', () => {
  it('reads the offered subprotocols', () => {
    expect(offeredSubprotocols('sip, foo')).toEqual(['sip', 'foo']);
    expect(offeredSubprotocols(['SIP', 'x,y'])).toEqual(['sip', 'x', 'y']);
    expect(offeredSubprotocols(undefined)).toEqual([]);
  });

  it('completes the handshake only for the sip subprotocol, and names it in the answer', async () => {
    const { url } = await layer();
    const peer = await connect(url, ['foo', 'sip']);
    expect(peer.ws.protocol).toBe('sip');
    await expect(connect(url, [])).rejects.toMatchObject({ statusCode: 400 });
    await expect(connect(url, 'chat')).rejects.toMatchObject({ statusCode: 400 });
  });

  it('answers a plain HTTP request 426 Upgrade Required', async () => {
    const { url } = await layer();
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url.replace('ws:', 'http:'), (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(426);
  });

  it('takes one SIP message per WebSocket message, without Content-Length, and answers over the same connection', async () => {
    const { t, delivered, counters, url } = await layer();
    const peer = await connect(url);
    // no Content-Length at all: the WebSocket message frames it
    const text = options().replace(/Content-Length: 0\r\n/, '');
    peer.ws.send(text);
    peer.ws.send(Buffer.from(options()), { binary: true });
    await waitFor(() => delivered.length === 2, { what: 'two messages delivered' });
    const req = delivered[0];
    if (req === undefined || !req.isRequest) throw new Error('expected a request');
    expect(req.method).toBe('OPTIONS');
    expect(req.source?.transport).toBe('ws');
    expect(req.source?.connectionId).toBeGreaterThan(0);
    // the .invalid sent-by gets received= (RFC 3261 §18.2.1); SIP.js accepts the one Via with it
    expect(req.topVia?.received).toBe('127.0.0.1');
    t.send(createResponse(req, 200), t.responseDestination(req));
    await waitFor(() => peer.received.length === 1, { what: 'the 200' });
    const answer = peer.received[0] as string;
    expect(answer).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    expect(answer.match(/^Via:/gim)?.length).toBe(1);
    expect(answer).toMatch(/^Via: SIP\/2\.0\/WS abc123\.invalid;branch=[^;]+;received=127\.0\.0\.1/m);
    expect(counters.count('in', 'ws', 'OPTIONS')).toBe(2);
    expect(counters.count('out', 'ws', '2xx')).toBe(1);
    expect(counters.connectionEvents('ws', 'accepted')).toBe(1);
  });

  it('answers a CRLF keep-alive with one CRLF and counts it', async () => {
    const { counters, url } = await layer();
    const peer = await connect(url);
    peer.ws.send('\r\n\r\n');
    await waitFor(() => peer.received.length === 1, { what: 'the pong' });
    expect(peer.received[0]).toBe('\r\n');
    expect(counters.keepAlives.get('ws')).toBe(1);
  });

  it('answers a malformed request 400 on its connection and keeps the connection', async () => {
    const { delivered, url } = await layer();
    const peer = await connect(url);
    peer.ws.send(options().replace(/^CSeq: .*\r\n/m, 'CSeq: banana\r\n'));
    await waitFor(() => peer.received.length === 1, { what: 'the 400' });
    expect(peer.received[0]).toMatch(/^SIP\/2\.0 400 /);
    peer.ws.send(options());
    await waitFor(() => delivered.length === 1, { what: 'the next request' });
  });

  it('closes a connection whose message is over maxMessageBytes (1009), and tells flow watchers', async () => {
    const { t, delivered, counters, url, flows } = await layer({ maxMessageBytes: 2048 });
    const peer = await connect(url);
    peer.ws.send(options());
    await waitFor(() => delivered.length === 1, { what: 'the first request' });
    const source = delivered[0]?.source;
    const watched: Flow[] = [];
    t.watchFlow({ transport: 'ws', address: '127.0.0.1', port: source?.port ?? 0, connectionId: source?.connectionId }, (f) => watched.push(f));
    peer.ws.send(options(undefined, [`X-Padding: ${'x'.repeat(4000)}`]));
    expect(await peer.closed).toBe(1009);
    await waitFor(() => watched.length === 1, { what: 'the flow watcher' });
    expect(flows.map((f) => f.connectionId)).toEqual([source?.connectionId]);
    expect(counters.parseErrors.get('ws')).toBe(1);
    expect(delivered).toHaveLength(1);
    expect(t.connectionCount).toBe(0);
  });

  it('sends to a client only over its open connection; after it closed, the send fails at once', async () => {
    const { t, delivered, url } = await layer();
    const peer = await connect(url);
    peer.ws.send(options());
    await waitFor(() => delivered.length === 1, { what: 'a request' });
    const req = delivered[0];
    if (req === undefined || !req.isRequest) throw new Error('expected a request');
    const dest = t.responseDestination(req);
    peer.ws.close();
    await waitFor(() => t.connectionCount === 0, { what: 'the connection to close' });
    const err = await new Promise<Error>((resolve) => t.send(createResponse(req, 200), dest, resolve));
    expect(err.message).toMatch(/no open WebSocket connection/);
  });

  it('refuses handshakes over the global cap and over the per-source cap with 503', async () => {
    const { counters, url } = await layer({ maxTcpConnections: 3, maxTcpConnectionsPerSource: 2 });
    await connect(url);
    await connect(url);
    await expect(connect(url)).rejects.toMatchObject({ statusCode: 503 });
    expect(counters.connectionEvents('ws', 'source-refused')).toBe(1);
    const global = await layer({ maxTcpConnections: 1, maxTcpConnectionsPerSource: 1 });
    await connect(global.url);
    await expect(connect(global.url)).rejects.toMatchObject({ statusCode: 503 });
    expect(global.counters.connectionEvents('ws', 'refused') + global.counters.connectionEvents('ws', 'source-refused')).toBe(1);
  });

  it('pings; a connection that answers keeps going, one that stays silent is closed', async () => {
    const { t, counters, url } = await layer({ wsPingIntervalMs: 100 });
    const lively = await connect(url);
    let pings = 0;
    lively.ws.on('ping', () => pings++);
    // a client that never answers pings: ws answers them itself unless told not to, so it is paused
    const silent = await connect(url);
    silent.ws.pause();
    await waitFor(() => t.connectionCount === 1, { what: 'the silent connection to be closed', timeoutMs: 3000 });
    expect(counters.connectionEvents('ws', 'idle-timeout')).toBe(1);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(lively.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('wss:// speaks TLS with the configured certificate', async () => {
    const pems = await generate([{ name: 'commonName', value: 'trunkgate-test' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    const { delivered, url } = await layer({ tls: () => Promise.resolve({ cert: pems.cert, key: pems.private, verifyPeers: false }) }, 'wss');
    const peer = await connect(url, 'sip', { rejectUnauthorized: false });
    peer.ws.send(options(`SIP/2.0/WSS abc123.invalid;branch=${testBranch()}`));
    await waitFor(() => delivered.length === 1, { what: 'a request over wss' });
    expect(delivered[0]?.source?.transport).toBe('wss');
  });
});
