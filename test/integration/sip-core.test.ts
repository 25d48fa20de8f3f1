/**
 * The SIP core against real SIPp on 127.0.0.1 (issue: SIP core §5).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { createRequest, newCallId, newTag, type SipResponse } from '../../src/sip/message/index.js';
import { type Dialog, OutgoingInvite } from '../../src/sip/dialog/index.js';
import { buildOffer } from '../../src/media/sdp.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { parseMessageLog, runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const SCENARIOS = new URL('../scenarios/', import.meta.url).pathname;
/** The test config's short T1 (test/support/gateway.ts), so the timers of a whole run fit in a test. */
const TIMERS = { t1Ms: 100, t2Ms: 1000, t4Ms: 500 };

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

/** Every transaction and dialog gone once the timers have run out. */
async function expectDrained(g: Gateway): Promise<void> {
  await waitFor(() => g.transactions.size.total === 0 && g.core.dialogCount === 0, {
    timeoutMs: 64 * TIMERS.t1Ms + 5_000,
    what: 'live transactions and dialogs to return to 0',
  });
}

describe('SIPp uac against trunkgate', () => {
  it.each([
    ['UDP', 'u1', 'udp'],
    ['TCP', 't1', 'tcp'],
  ] as const)('completes 1,000 calls at 200 calls/s over %s with 0 failed calls', async (_name, sippTransport, transport) => {
    gateway = await startTestGateway();
    const result = await runSipp({
      scenario: 'uac',
      target: sipTarget(gateway, transport),
      service: '+14155550123',
      transport: sippTransport,
      calls: 1000,
      rate: 200,
      timeoutSeconds: 60,
    });
    expect(result.failed, result.errorLog).toBe(0);
    expect(result.successful).toBe(1000);
    expect(result.exitCode).toBe(0);
    expect(gateway.b2bua.stats.started).toBe(1000);
    expect(gateway.b2bua.stats.ended.answered).toBe(1000);
    await expectDrained(gateway);
  });
});

describe('100 Trying', () => {
  it('answers every INVITE with 100 Trying within 200 ms, before the application answers', async () => {
    gateway = await startTestGateway({ pstn: { answerAfterMs: 500 } });
    const calls = 20;
    const result = await runSipp({ scenario: 'uac', target: sipTarget(gateway), service: '+14155550123', calls, rate: 20, traceMessages: true, timeoutSeconds: 30 });
    expect(result.failed, result.errorLog).toBe(0);
    const log = parseMessageLog(result.messageLog ?? '');
    const callIdOf = (text: string): string => /^Call-ID:\s*(\S+)/im.exec(text)?.[1] ?? '';
    const invites = log.filter((m) => m.direction === 'sent' && m.startLine.startsWith('INVITE '));
    expect(invites).toHaveLength(calls);
    for (const invite of invites) {
      const id = callIdOf(invite.text);
      const trying = log.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 100 ') && callIdOf(m.text) === id);
      const ok = log.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200 ') && callIdOf(m.text) === id);
      expect(trying, `100 for ${id}`).toBeDefined();
      expect((trying as { atMs: number }).atMs - invite.atMs).toBeLessThan(200);
      expect((trying as { atMs: number }).atMs).toBeLessThan((ok as { atMs: number }).atMs);
      expect(trying?.startLine).toBe('SIP/2.0 100 trying -- your call is important to us');
    }
    await expectDrained(gateway);
  });
});

describe('ACK withheld', () => {
  it('retransmits a 486 with Timer G doubling from T1 up to T2, until Timer H', async () => {
    gateway = await startTestGateway();
    const result = await runSipp({
      scenario: SCENARIOS + 'ack-withheld-busy.xml',
      target: sipTarget(gateway),
      calls: 1,
      traceMessages: true,
      timeoutSeconds: 30,
    });
    expect(result.exitCode, result.errorLog).toBe(0);
    const busy = parseMessageLog(result.messageLog ?? '').filter((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 486'));
    // Retransmissions at T1·(1, 2, 4, 8) then T2 = 10·T1 each, while t < 64·T1: 1 + 8.
    expect(busy).toHaveLength(9);
    const intervals = busy.slice(1).map((m, i) => m.atMs - (busy[i] as { atMs: number }).atMs);
    const expected = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    intervals.forEach((interval, i) => {
      // timers never fire early, but SIPp stamps arrivals late under load: a delayed first copy shortens the next gap
      expect(interval).toBeGreaterThanOrEqual((expected[i] as number) - 25);
      expect(interval).toBeLessThan((expected[i] as number) + 150);
    });
    const last = busy[busy.length - 1] as { atMs: number };
    expect(last.atMs - (busy[0] as { atMs: number }).atMs).toBeLessThan(64 * TIMERS.t1Ms);
    await expectDrained(gateway);
  });

  it('retransmits the 2xx from T1 doubling up to T2 for 64·T1, then ends the call with a BYE', async () => {
    gateway = await startTestGateway();
    const result = await runSipp({
      scenario: SCENARIOS + 'ack-withheld-200.xml',
      target: sipTarget(gateway),
      calls: 1,
      traceMessages: true,
      timeoutSeconds: 30,
    });
    expect(result.exitCode, result.errorLog).toBe(0);
    const log = parseMessageLog(result.messageLog ?? '');
    const oks = log.filter((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200'));
    const bye = log.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
    expect(bye).toBeDefined();
    expect(oks).toHaveLength(9);
    const first = (oks[0] as { atMs: number }).atMs;
    const intervals = oks.slice(1).map((m, i) => m.atMs - (oks[i] as { atMs: number }).atMs);
    const expected = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    intervals.forEach((interval, i) => {
      // timers never fire early, but SIPp stamps arrivals late under load: a delayed first copy shortens the next gap
      expect(interval).toBeGreaterThanOrEqual((expected[i] as number) - 25);
      expect(interval).toBeLessThan((expected[i] as number) + 150);
    });
    const byeAfter = (bye as { atMs: number }).atMs - first;
    expect(byeAfter).toBeGreaterThanOrEqual(64 * TIMERS.t1Ms - 5);
    expect(byeAfter).toBeLessThan(64 * TIMERS.t1Ms + 500);
    expect(gateway.b2bua.stats.ended.timeout).toBe(1);
    expect(gateway.alerts.counts.get(32022)).toBe(1);
    await expectDrained(gateway);
  });
});

describe('INVITE retransmitted with the same branch', () => {
  it.each([
    ['UDP', 'u1', 'udp'],
    ['TCP', 't1', 'tcp'],
  ] as const)('yields one transaction and the application sees each INVITE once (%s)', async (_name, sippTransport, transport) => {
    gateway = await startTestGateway({ pstn: { answerAfterMs: 300 } });
    const calls = 20;
    const result = await runSipp({
      scenario: SCENARIOS + 'invite-retransmitted.xml',
      target: sipTarget(gateway, transport),
      transport: sippTransport,
      calls,
      rate: 20,
      timeoutSeconds: 30,
      // SIPp would answer our (correct) repeated 100 by resending its INVITE, forever; -nr turns its UDP retransmissions off
      extraArgs: ['-nr'],
    });
    expect(result.failed, result.errorLog).toBe(0);
    expect(result.successful).toBe(calls);
    expect(gateway.b2bua.stats.started).toBe(calls);
    expect(gateway.emulator.stats.answered).toBe(calls);
    expect(gateway.transactions.stats.retransmissionsAbsorbed).toBeGreaterThanOrEqual(calls);
    // 100 and 180 per call, and the retransmission answered with the last provisional (180) again
    expect(gateway.metrics.transport.count('out', transport, '1xx')).toBe(3 * calls);
    await expectDrained(gateway);
  });
});

describe("trunkgate's UAC against SIPp uas", () => {
  it.each([
    ['UDP', 'u1', 'udp'],
    ['TCP', 't1', 'tcp'],
  ] as const)('places calls that complete: INVITE, 200, ACK, BYE, 200 (%s)', async (_name, sippTransport, transport) => {
    const g = await startTestGateway();
    gateway = g;
    const calls = 50;
    const uas = await startSipp({ scenario: 'uas', transport: sippTransport, calls, timeoutSeconds: 60 });
    const local = g.transport.localFor(transport);
    const contact = `<sip:trunkgate@${local.address}:${local.port}${transport === 'tcp' ? ';transport=tcp' : ''}>`;
    const dest = { transport, address: '127.0.0.1', port: uas.localPort } as const;
    let answered = 0;
    let byesOk = 0;
    let failures = 0;
    const placeCall = (): void => {
      const callId = newCallId('trunkgate.test');
      const invite = createRequest(
        'INVITE',
        `sip:service@127.0.0.1:${uas.localPort}`,
        [
          ['From', `<sip:+14155550100@${local.address}>;tag=${newTag()}`],
          ['To', `<sip:service@127.0.0.1:${uas.localPort}>`],
          ['Call-ID', callId],
          ['CSeq', '1 INVITE'],
          ['Contact', contact],
          ['Content-Type', 'application/sdp'],
        ],
        Buffer.from(buildOffer('127.0.0.1', 40000)),
      );
      new OutgoingInvite(g.core, invite, dest, contact, { onRequest: (_req, tx) => tx?.reply(200) }, {
        onAnswer: (_res: SipResponse, dialog: Dialog) => {
          answered++;
          g.transactions.sendRequest(dialog.createRequest('BYE'), dialog.destination, {
            onResponse: (res) => {
              if (res.status === 200) byesOk++;
            },
          });
          g.core.unregister(dialog.key);
        },
        onFailure: () => {
          failures++;
        },
      });
    };
    for (let i = 0; i < calls; i++) placeCall();
    await waitFor(() => byesOk + failures >= calls, {
      timeoutMs: 30_000,
      what: 'all calls to end',
      detail: () => `answered ${answered}, BYE 200s ${byesOk}, failures ${failures}`,
    });
    const result = await uas.done;
    expect(failures).toBe(0);
    expect(answered).toBe(calls);
    expect(byesOk).toBe(calls);
    expect(result.successful, result.errorLog).toBe(calls);
    expect(result.failed).toBe(0);
    await expectDrained(g);
  });
});
