/**
 * Fuzzing the whole receive path over real sockets: transport → parser →
 * transaction layer → termination checks → B2BUA. fast-check generates
 * datagrams and TCP streams (mutated RFC 4475 messages, mutated INVITEs to a
 * real trunk, random bytes, truncations, huge header counts). Afterwards the
 * gateway still answers, nothing threw, and once the timers have run out the
 * live transactions, dialogs and calls are back to 0.
 *
 * Time-boxed for CI; `npm run fuzz` runs it longer (FUZZ_SECONDS).
 */
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait-for.js';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? '8');
const FIXTURES = new URL('../fixtures/rfc4475/', import.meta.url).pathname;
const TORTURE = readdirSync(FIXTURES).map((f) => readFileSync(FIXTURES + f));

function invite(i: number, host = 'demo.pstn.twilio.com'): Buffer {
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n';
  return Buffer.from(
    [
      `INVITE sip:+1415555${String(1000 + (i % 9000))}@${host} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-fz-${i};rport`,
      'Max-Forwards: 70',
      `From: "Fuzz" <sip:+14155550100@127.0.0.1>;tag=fz${i}`,
      `To: <sip:+14155551234@${host}>`,
      `Call-ID: fuzz-${i}@127.0.0.1`,
      'CSeq: 1 INVITE',
      'Contact: <sip:fuzz@127.0.0.1:9>',
      'Content-Type: application/sdp',
      `Content-Length: ${sdp.length}`,
      '',
      sdp,
    ].join('\r\n'),
  );
}

const BASES = [...TORTURE, invite(1), invite(2, 'nosuch.pstn.twilio.com'), invite(3, 'demo.pstn.dublin.twilio.com')];

/** A mutation of one base message: byte flips, truncation, duplicated or removed lines, inserted delimiters. */
const mutated = fc
  .record({
    base: fc.integer({ min: 0, max: BASES.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    dupLine: fc.option(fc.nat(), { nil: undefined }),
    insert: fc.option(fc.tuple(fc.nat(), fc.constantFrom('\r\n', '\n', '\0', ',', ';', ':', '<', '>', '"', ' ', '\r\n\r\n', 'Via: x\r\n')), { nil: undefined }),
  })
  .map(({ base, flips, cut, dupLine, insert }) => {
    let buf = Buffer.from(BASES[base] as Buffer);
    for (const [at, byte] of flips) if (buf.length > 0) buf[at % buf.length] = byte;
    if (dupLine !== undefined) {
      const lines = buf.toString('latin1').split('\r\n');
      const i = dupLine % lines.length;
      lines.splice(i, 0, lines[i] as string);
      buf = Buffer.from(lines.join('\r\n'), 'latin1');
    }
    if (insert !== undefined) {
      const at = insert[0] % (buf.length + 1);
      buf = Buffer.concat([buf.subarray(0, at), Buffer.from(insert[1], 'latin1'), buf.subarray(at)]);
    }
    if (cut !== undefined && buf.length > 0) buf = buf.subarray(0, cut % buf.length);
    return buf;
  });

const hugeHeaders = fc.integer({ min: 200, max: 3000 }).map((n) => {
  const lines = ['OPTIONS sip:demo.pstn.twilio.com SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-huge', 'Call-ID: huge', 'CSeq: 1 OPTIONS', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>'];
  for (let i = 0; i < n; i++) lines.push(`X-H${i}: ${'v'.repeat(i % 50)}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n');
});

const datagram = fc.oneof(
  { weight: 6, arbitrary: mutated },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 1500 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: hugeHeaders },
  { weight: 1, arbitrary: fc.constantFrom(...BASES) },
);

let gateway: Gateway;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  gateway = await startTestGateway({ sip: { tcpMessageTimeoutMs: 500, tcpIdleTimeoutMs: 2000 } });
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await gateway?.stop();
});

/** The gateway answers a fresh OPTIONS (retransmitted like a real UA would, Timer E style, for up to 10 s). */
async function stillAnswers(g: Gateway): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const branch = `z9hG4bK-alive-${Date.now()}`;
  const options = [
    'OPTIONS sip:demo.pstn.twilio.com SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=probe',
    'To: <sip:demo.pstn.twilio.com>',
    `Call-ID: alive-${Date.now()}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  let answer: string | undefined;
  socket.on('message', (m) => {
    answer ??= m.toString('latin1');
  });
  try {
    await waitFor(
      () => {
        if (answer === undefined) socket.send(options, g.address('udp').port, '127.0.0.1');
        return answer;
      },
      { timeoutMs: 10_000, intervalMs: 500, what: 'an answer to OPTIONS', detail: () => unhandled.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n') },
    );
  } finally {
    socket.close();
  }
  expect(answer?.startsWith('SIP/2.0 200 OK')).toBe(true);
}

describe('fuzzing the receive path (UDP and TCP, real sockets)', () => {
  it(`survives ${SECONDS} s of generated datagrams and streams, and ends with nothing live`, async () => {
    const g = gateway;
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    udp.on('message', () => undefined);
    const udpPort = g.address('udp').port;
    const tcpPort = g.address('tcp').port;
    const deadline = Date.now() + SECONDS * 1000;
    let sent = 0;
    let streams = 0;
    while (Date.now() < deadline) {
      const batch = fc.sample(datagram, 200);
      for (const d of batch) {
        if (d.length <= 65_507) udp.send(d, udpPort, '127.0.0.1');
        sent++;
      }
      // a TCP stream: several generated messages, cut into random chunks
      const pieces = fc.sample(fc.oneof(mutated, fc.constantFrom(...BASES)), 5);
      const stream = Buffer.concat(pieces);
      const cuts = fc.sample(fc.integer({ min: 1, max: 200 }), 40);
      await new Promise<void>((resolve) => {
        const sock = connect(tcpPort, '127.0.0.1', () => {
          let at = 0;
          for (const c of cuts) {
            if (at >= stream.length) break;
            sock.write(stream.subarray(at, at + c));
            at += c;
          }
          if (at < stream.length) sock.write(stream.subarray(at));
          sock.end();
        });
        sock.on('data', () => undefined);
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
      });
      streams++;
      await new Promise((r) => setImmediate(r));
    }
    udp.close();
    expect(sent).toBeGreaterThan(1000);
    await stillAnswers(g);
    expect(unhandled).toEqual([]);
    expect((g.metrics.transport.parseErrors.get('udp') ?? 0) + (g.metrics.transport.parseErrors.get('tcp') ?? 0)).toBeGreaterThan(0);
    // Every timer runs out within 64·T1 (6.4 s here) plus the answered calls' no-ACK teardown.
    await waitFor(() => g.transactions.size.total === 0 && g.b2bua.activeCalls === 0 && g.core.dialogCount === 0 && g.tracker.active === 0, {
      timeoutMs: 40_000,
      intervalMs: 200,
      what: 'live transactions, dialogs and calls to return to 0',
      detail: () => `tx ${JSON.stringify(g.transactions.size)}, calls ${g.b2bua.activeCalls}, dialogs ${g.core.dialogCount}, leases ${g.tracker.active}`,
    });
    expect(g.tracker.doubleReleases).toBe(0);
    console.log(`fuzz: ${sent} datagrams and ${streams} TCP streams in ${SECONDS} s; ${(g.metrics.transport.parseErrors.get('udp') ?? 0) + (g.metrics.transport.parseErrors.get('tcp') ?? 0)} parse errors; ${g.frontDoor.stats.admitted} calls admitted`);
  }, (SECONDS + 60) * 1000);
});
