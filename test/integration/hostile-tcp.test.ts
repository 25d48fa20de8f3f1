/**
 * TCP abuse: slowloris connections, a Content-Length far over the limit, and
 * 10,000 connections at once against a connection cap, while real calls go on.
 */
import { type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { adminClient, sampleValue } from '../support/http.js';
import { runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;

let gateway: Gateway | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await gateway?.stop();
  gateway = undefined;
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });
}

function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) resolve();
    else s.once('close', () => resolve());
  });
}

describe('TCP abuse', () => {
  it('slowloris: connections trickling a byte at a time are closed by the partial-message timeout; silent ones by the idle timeout', async () => {
    gateway = await startTestGateway({ sip: { tcpMessageTimeoutMs: 800, tcpIdleTimeoutMs: 1500 } });
    const g = gateway;
    const port = g.address('tcp').port;
    const trickling = await Promise.all(Array.from({ length: 100 }, () => open(port)));
    const silent = await Promise.all(Array.from({ length: 50 }, () => open(port)));
    for (const s of [...trickling, ...silent]) s.on('error', () => undefined);
    const text = 'INVITE sip:+14155550123@demo.pstn.twilio.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-slow\r\n';
    let i = 0;
    // a byte every 100 ms on each connection: the idle timer never fires, the message never ends
    const trickle = setInterval(() => {
      for (const s of trickling) if (!s.destroyed) s.write(text[i % text.length] as string);
      i++;
    }, 100);
    try {
      await Promise.all([...trickling, ...silent].map(closed));
    } finally {
      clearInterval(trickle);
    }
    expect(g.metrics.transport.connectionEvents('tcp', 'partial-timeout')).toBeGreaterThanOrEqual(100);
    expect(g.metrics.transport.connectionEvents('tcp', 'idle-timeout')).toBeGreaterThanOrEqual(50);
    await waitFor(() => g.transport.connectionCount === 0, { what: 'no TCP connections left' });
    // and /metrics says so
    const metrics = await adminClient(g).metrics();
    const events = (event: string): number | undefined => sampleValue(metrics, 'trunkgate_sip_connection_events_total', { transport: 'tcp', event });
    expect(events('partial_timeout')).toBe(g.metrics.transport.connectionEvents('tcp', 'partial-timeout'));
    expect(events('idle_timeout')).toBe(g.metrics.transport.connectionEvents('tcp', 'idle-timeout'));
    expect(events('accepted')).toBeGreaterThanOrEqual(150);
  }, 30_000);

  it('a Content-Length far over the limit gets 513 Message Too Large and the connection is closed', async () => {
    gateway = await startTestGateway();
    const s = await open(gateway.address('tcp').port);
    let received = '';
    s.on('data', (d: Buffer) => (received += d.toString('latin1')));
    s.write(
      [
        'INVITE sip:+14155550123@demo.pstn.twilio.com SIP/2.0',
        'Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-big',
        'Max-Forwards: 70',
        'From: <sip:+14155550100@127.0.0.1>;tag=big',
        'To: <sip:+14155550123@demo.pstn.twilio.com>',
        'Call-ID: big-1',
        'CSeq: 1 INVITE',
        'Content-Length: 900000000',
        '',
        'v=0',
      ].join('\r\n'),
    );
    await closed(s);
    expect(received).toMatch(/^SIP\/2\.0 513 Message Too Large\r\n/);
    expect((gateway.metrics.transport.parseErrors.get('tcp') ?? 0)).toBe(1);
  });

  it('10,000 connections at once: the cap refuses the excess cleanly and calls in progress are unaffected', async () => {
    const cap = 500;
    // one source may hold the whole cap here: this is the global cap's test (the per-source cap's is hardening-floods)
    gateway = await startTestGateway({ sip: { maxTcpConnections: cap, maxTcpConnectionsPerSource: cap, tcpIdleTimeoutMs: 60_000 } });
    const g = gateway;
    const port = g.address('tcp').port;
    // a TCP call held through the storm
    const held = await startSipp({
      scenario: PACK + 'basic-call.xml',
      transport: 't1',
      target: sipTarget(g, 'tcp'),
      called: '+14155550123',
      calls: 1,
      timeoutSeconds: 60,
      extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com', '-d', '6000'],
    });
    await waitFor(() => g.b2bua.activeCalls === 1 && [...g.b2bua.calls.values()][0]?.state === 'answered', { what: 'the held call to be answered' });
    let opened = 0;
    let refused = 0;
    const storm: Socket[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const results = await Promise.allSettled(Array.from({ length: 500 }, () => open(port)));
      for (const r of results) {
        if (r.status === 'fulfilled') {
          opened++;
          storm.push(r.value);
          r.value.on('error', () => undefined);
        } else refused++;
      }
    }
    // what the gateway refused: connected, then closed at once
    await waitFor(() => storm.filter((s) => !s.destroyed).length <= cap, { timeoutMs: 15_000, what: 'the excess connections to be closed' });
    console.log(`connection storm: ${opened + refused} attempts, ${storm.filter((s) => !s.destroyed).length} kept, ${g.metrics.transport.connectionEvents('tcp', 'refused')} refused by the cap`);
    expect(g.metrics.transport.connectionEvents('tcp', 'refused')).toBeGreaterThanOrEqual(10_000 - cap - 1);
    expect(sampleValue(await adminClient(g).metrics(), 'trunkgate_sip_connection_events_total', { transport: 'tcp', event: 'refused' })).toBe(
      g.metrics.transport.connectionEvents('tcp', 'refused'),
    );
    expect(g.transport.connectionCount).toBeLessThanOrEqual(cap);
    // a new UDP call during the storm completes …
    const r = await runSipp({ scenario: PACK + 'basic-call.xml', target: sipTarget(g), called: '+14155550123', calls: 3, rate: 10, extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com'] });
    expect(r.successful, r.errorLog).toBe(3);
    // … and so does the TCP call held through it
    const heldResult = await held.done;
    expect(heldResult.successful, heldResult.errorLog).toBe(1);
    for (const s of storm) s.destroy();
    await waitFor(() => g.b2bua.activeCalls === 0 && g.tracker.active === 0, { what: 'calls to end' });
    expect(g.tracker.doubleReleases).toBe(0);
  }, 90_000);
});
