/**
 * Fair under floods (issue 12): one source floods, another must still be
 * served. Two sources on the loopback: 127.0.0.1 floods, 127.0.0.2 behaves.
 *
 * - TCP: a connection storm from one source against the global cap, with and
 *   without the per-source cap; the other source's SIPp calls and OPTIONS.
 * - UDP: an OPTIONS flood from one source (its own process) with and without
 *   per-source rate limiting (Kamailio pike); the share of the other source's
 *   OPTIONS answered (its own process too) is measured and reported.
 *
 * Bounded: 300 connections, a 3 s flood at 60,000/s, all on 127.0.0.1.
 */
import { type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { runNodeScript } from '../support/node-script.js';
import { runSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;
const FLOOD = new URL('../support/flood.mjs', import.meta.url).pathname;
const PROBE = new URL('../support/udp-probe.mjs', import.meta.url).pathname;

let gateway: Gateway | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await gateway?.stop();
  gateway = undefined;
});

function tcpFrom(localAddress: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
    s.on('error', () => undefined);
    sockets.push(s);
  });
}

/** One OPTIONS on a fresh TCP connection from `from`: answered 200 or not (the connection closed, or 2 s passed). */
async function tcpOptions(from: string, port: number, i: number): Promise<boolean> {
  let s: Socket;
  try {
    s = await tcpFrom(from, port);
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    let got = '';
    const timer = setTimeout(() => finish(false), 2000);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.startsWith('SIP/2.0 200 ')) finish(true);
    });
    s.on('close', () => finish(got.startsWith('SIP/2.0 200 ')));
    s.write(
      `OPTIONS sip:demo.pstn.twilio.com SIP/2.0\r\nVia: SIP/2.0/TCP ${from}:5070;branch=z9hG4bK-tcpprobe-${i}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@${from}>;tag=t${i}\r\nTo: <sip:demo.pstn.twilio.com>\r\nCall-ID: tcpprobe-${i}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    );
  });
}

describe('a TCP connection storm from one source', () => {
  const CAP = 100;

  async function storm(perSourceCap: number | null): Promise<{ optionsShare: number; calls: number; kept: number }> {
    gateway = await startTestGateway({ sip: { maxTcpConnections: CAP, maxTcpConnectionsPerSource: perSourceCap, tcpIdleTimeoutMs: 60_000 } });
    const g = gateway;
    const port = g.address('tcp').port;
    const results = await Promise.allSettled(Array.from({ length: 3 * CAP }, () => tcpFrom('127.0.0.1', port)));
    const opened = results.filter((r): r is PromiseFulfilledResult<Socket> => r.status === 'fulfilled').map((r) => r.value);
    const refusedEvents = (): number => g.metrics.transport.connectionEvents('tcp', 'refused') + g.metrics.transport.connectionEvents('tcp', 'source-refused');
    await waitFor(() => g.transport.connectionCount + refusedEvents() >= opened.length, { timeoutMs: 10_000, what: 'every storm connection accepted or refused' });
    const kept = g.transport.connectionCount;
    // the other source: OPTIONS, each on a new connection, then SIPp calls over TCP
    let answered = 0;
    for (let i = 0; i < 20; i++) if (await tcpOptions('127.0.0.2', port, i)) answered++;
    const r = await runSipp({
      scenario: PACK + 'basic-call.xml',
      transport: 't1',
      localIp: '127.0.0.2',
      target: sipTarget(g, 'tcp'),
      called: '+14155550123',
      calls: 5,
      rate: 10,
      timeoutSeconds: 15,
      extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com'],
    });
    for (const s of opened) s.destroy();
    await expectAllReleased(g);
    await g.stop();
    gateway = undefined;
    return { optionsShare: answered / 20, calls: r.successful, kept };
  }

  it('without a per-source cap the storm takes every slot and the other source is locked out; with it the other source is served', async () => {
    const before = await storm(CAP); // the old behaviour: one source may hold the whole global cap
    const after = await storm(null); // the default: a quarter of the global cap
    console.log(
      `TCP storm (${3 * CAP} connections from 127.0.0.1, global cap ${CAP}): second source's OPTIONS answered ${(before.optionsShare * 100).toFixed(0)}% → ${(after.optionsShare * 100).toFixed(0)}%, its calls completed ${before.calls}/5 → ${after.calls}/5 (storm kept ${before.kept} → ${after.kept} connections)`,
    );
    expect(before).toEqual({ optionsShare: 0, calls: 0, kept: CAP });
    expect(after).toEqual({ optionsShare: 1, calls: 5, kept: CAP / 4 });
  }, 90_000);
});

describe('a UDP OPTIONS flood from one source', () => {
  async function share(rateLimited: boolean): Promise<{ share: number; flood: Record<string, number>; probe: Record<string, number>; dropped: number }> {
    gateway = await startTestGateway({ security: { sourceRateLimit: { enabled: rateLimited, requestsPerSecond: 500, burst: 1000, blockSeconds: 10 } } });
    const g = gateway;
    const port = String(g.address('udp').port);
    const seconds = 3;
    const [flood, probe] = await Promise.all([runNodeScript(FLOOD, [port, '60000', String(seconds), 'options'], seconds), runNodeScript(PROBE, [port, '127.0.0.2', '200', String(seconds)], seconds)]);
    const dropped = g.metrics.transport.sourceLimited.get('udp') ?? 0;
    await g.stop();
    gateway = undefined;
    return { share: (probe['answered'] ?? 0) / (probe['sent'] ?? 1), flood, probe, dropped };
  }

  it('per-source rate limiting raises the share of the other source’s OPTIONS answered during the flood', async () => {
    const before = await share(false);
    const after = await share(true);
    const rate = (f: Record<string, number>): string => `${Math.round((f['sent'] ?? 0) / (f['seconds'] ?? 1))}/s`;
    console.log(
      `UDP flood (OPTIONS from 127.0.0.1, ${rate(before.flood)} / ${rate(after.flood)}): second source's OPTIONS answered ${(before.share * 100).toFixed(1)}% (${before.probe['answered']}/${before.probe['sent']}) without per-source rate limiting → ${(after.share * 100).toFixed(1)}% (${after.probe['answered']}/${after.probe['sent']}) with it (${after.dropped} flood requests dropped unparsed)`,
    );
    expect(before.dropped).toBe(0);
    expect(after.dropped).toBeGreaterThan(0);
    expect(after.share).toBeGreaterThan(before.share);
    expect(after.share).toBeGreaterThanOrEqual(0.75);
  }, 60_000);
});
