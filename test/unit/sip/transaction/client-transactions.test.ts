/**
 * Client transactions (RFC 3261 §17.1, RFC 6026) on a real TransportLayer:
 * the UAS is a dgram/net socket in the test; the transaction timers run on a
 * fake clock, socket I/O on real time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type SipRequest, type SipResponse, createRequest } from '../../../../src/sip/message/index.js';
import {
  type ClientTransaction,
  type ClientTransactionHandlers,
  DEFAULT_TIMERS,
  InviteClientTransaction,
  NonInviteClientTransaction,
  type TerminationReason,
  type TimerConfig,
} from '../../../../src/sip/transaction/index.js';
import type { Destination } from '../../../../src/sip/transport/index.js';
import { freePort } from '../../../support/sipp.js';
import {
  type SipStack,
  TcpServerPeer,
  UdpPeer,
  doublingIntervals,
  expectRetransmissionsAt,
  pollUntil,
  sentCount,
  receivedCount,
  startStack,
  useFakeSipClock,
} from '../../../support/sip-peers.js';

const T1 = DEFAULT_TIMERS.t1Ms;
const PAST_ALL_TIMERS_MS = 10 * 64 * T1;

interface Recorded extends ClientTransactionHandlers {
  responses: SipResponse[];
  timeouts: number;
  transportErrors: Error[];
  terminated: TerminationReason[];
}

function recorder(): Recorded {
  const r: Recorded = {
    responses: [],
    timeouts: 0,
    transportErrors: [],
    terminated: [],
    onResponse: (res) => r.responses.push(res),
    onTimeout: () => r.timeouts++,
    onTransportError: (err) => r.transportErrors.push(err),
    onTerminated: (reason) => r.terminated.push(reason),
  };
  return r;
}

let callSeq = 0;

function invite(target: string, transport: 'udp' | 'tcp' = 'udp'): SipRequest {
  callSeq++;
  return createRequest('INVITE', `sip:+15551230000@${target}${transport === 'tcp' ? ';transport=tcp' : ''}`, [
    ['Route', '<sip:edge.carrier.example;lr>'],
    ['From', '<sip:+15559870000@trunkgate.example>;tag=uac-tag'],
    ['To', '<sip:+15551230000@carrier.example>'],
    ['Call-ID', `ict-${callSeq}@trunkgate.example`],
    ['CSeq', '7 INVITE'],
    ['Contact', '<sip:trunkgate@127.0.0.1>'],
  ]);
}

function nonInvite(method: string, target: string): SipRequest {
  callSeq++;
  return createRequest(method, `sip:carrier@${target}`, [
    ['From', '<sip:trunkgate@trunkgate.example>;tag=nict-tag'],
    ['To', '<sip:carrier@carrier.example>'],
    ['Call-ID', `nict-${callSeq}@trunkgate.example`],
    ['CSeq', '3 ' + method],
  ]);
}

describe('client transactions', () => {
  let stack: SipStack;
  let peer: UdpPeer;
  let dest: Destination;
  const extraCleanups: Array<() => Promise<void>> = [];

  async function start(timers: Partial<TimerConfig> = {}): Promise<void> {
    stack = await startStack({ transaction: { timers } });
    peer = await UdpPeer.open();
    dest = { transport: 'udp', address: '127.0.0.1', port: peer.port };
  }

  beforeEach(() => {
    useFakeSipClock();
  });

  afterEach(async () => {
    try {
      vi.advanceTimersByTime(PAST_ALL_TIMERS_MS);
      expect(stack.layer.size.total).toBe(0);
    } finally {
      await stack.stop();
      await peer.close();
      while (extraCleanups.length > 0) await extraCleanups.pop()?.();
      vi.useRealTimers();
    }
  });

  function sendInvite(h: Recorded): InviteClientTransaction {
    const tx = stack.layer.sendRequest(invite(peer.hostPort), dest, h);
    if (!(tx instanceof InviteClientTransaction)) throw new Error('an INVITE must get an InviteClientTransaction');
    return tx;
  }

  function sendNonInvite(method: string, h: Recorded): NonInviteClientTransaction {
    const tx = stack.layer.sendRequest(nonInvite(method, peer.hostPort), dest, h);
    if (!(tx instanceof NonInviteClientTransaction)) throw new Error(`${method} must get a NonInviteClientTransaction`);
    return tx;
  }

  async function stateIs(tx: ClientTransaction, state: string): Promise<void> {
    await pollUntil(() => tx.state === state, `state ${state} (is ${tx.state})`);
  }

  describe('InviteClientTransaction', () => {
    describe('Calling', () => {
      it.each([
        ['default timers', {}],
        ['T1 100, T2 200', { t1Ms: 100, t2Ms: 200 }],
      ])(
        'retransmits the INVITE with Timer A at T1, 2T1, 4T1 … (no T2 cap) until Timer B → onTimeout (%s)',
        async (_name, timers: Partial<TimerConfig>) => {
          await start(timers);
          const t1 = timers.t1Ms ?? T1;
          const h = recorder();
          const tx = sendInvite(h);
          expect(tx.state).toBe('calling');
          const invites = (): number => sentCount(stack.transport, 'INVITE');
          expect(invites()).toBe(1);

          const intervals = doublingIntervals(t1, Number.POSITIVE_INFINITY, 64 * t1);
          expect(intervals).toEqual([1, 2, 4, 8, 16, 32].map((k) => k * t1));
          expectRetransmissionsAt(invites, intervals);

          vi.advanceTimersByTime(64 * t1 - 63 * t1 - 1);
          expect(h.timeouts).toBe(0);
          vi.advanceTimersByTime(1);
          expect(h.timeouts).toBe(1);
          expect(h.terminated).toEqual(['timeout']);
          expect(tx.state).toBe('terminated');
          expect(stack.layer.size.total).toBe(0);
          vi.advanceTimersByTime(64 * t1);
          expect(invites()).toBe(7);

          await peer.waitForRequest('INVITE', 7);
          expect(new Set(peer.arrivals.map((a) => a.raw.toString())).size).toBe(1);
        },
      );
    });

    describe('Proceeding', () => {
      it('stops Timer A on a 1xx, passes it up, and does not time out with Timer B', async () => {
        await start();
        const h = recorder();
        const tx = sendInvite(h);
        const inv = await peer.waitForRequest('INVITE');
        await peer.reply(inv, 180, 'uas-1');
        await stateIs(tx, 'proceeding');
        expect(h.responses.map((r) => r.status)).toEqual([180]);
        vi.advanceTimersByTime(2 * 64 * T1);
        expect(sentCount(stack.transport, 'INVITE')).toBe(1);
        expect(h.timeouts).toBe(0);
        expect(tx.state).toBe('proceeding');
        // more provisionals still go up
        await peer.reply(inv, 183, 'uas-1');
        await pollUntil(() => h.responses.length === 2, 'the 183');
        await peer.reply(inv, 486, 'uas-1');
        await stateIs(tx, 'completed');
      });
    });

    describe('Completed (3xx-6xx final)', () => {
      it('sends the ACK of §17.1.1.3, ACKs a retransmitted final again, and ends after Timer D', async () => {
        await start();
        const h = recorder();
        const tx = sendInvite(h);
        const inv = await peer.waitForRequest('INVITE');
        const busy = await peer.reply(inv, 486, 'uas-486');
        const ack = await peer.waitForRequest('ACK');
        await stateIs(tx, 'completed');

        expect(ack.uri).toBe(inv.uri);
        expect(ack.headers.getAll('via')).toEqual([inv.topViaRaw]);
        expect(ack.topVia?.branch).toBe(inv.topVia?.branch);
        expect(ack.headers.get('to')).toBe(busy.headers.get('to'));
        expect(ack.toTag).toBe('uas-486');
        expect(ack.headers.get('from')).toBe(inv.headers.get('from'));
        expect(ack.callId).toBe(inv.callId);
        expect(ack.headers.get('cseq')).toBe('7 ACK');
        expect(ack.headers.getAll('route')).toEqual(['<sip:edge.carrier.example;lr>']);
        expect(ack.headers.get('max-forwards')).toBe('70');
        expect(ack.headers.has('contact')).toBe(false);
        expect(h.responses.map((r) => r.status)).toEqual([486]);

        await peer.reply(inv, 486, 'uas-486');
        const ack2 = await peer.waitForRequest('ACK', 2);
        expect(ack2.headers.get('cseq')).toBe('7 ACK');
        const ackRaws = peer.arrivals.filter((a) => a.message.isRequest && a.message.method === 'ACK').map((a) => a.raw.toString());
        expect(ackRaws[0]).toBe(ackRaws[1]);
        expect(h.responses).toHaveLength(1);

        expect(tx.timers.D).toBe(32_000);
        vi.advanceTimersByTime(32_000 - 1);
        expect(tx.state).toBe('completed');
        vi.advanceTimersByTime(1);
        expect(tx.state).toBe('terminated');
        expect(h.terminated).toEqual(['normal']);
      });
    });

    describe('Accepted (2xx, RFC 6026)', () => {
      it('passes the 2xx and its retransmissions to the TU, sends no ACK itself, and ends after Timer M (64*T1)', async () => {
        // T1 250: Timer M (16 s) differs from Timer D (32 s)
        await start({ t1Ms: 250 });
        const h = recorder();
        const tx = sendInvite(h);
        const inv = await peer.waitForRequest('INVITE');
        await peer.reply(inv, 200, 'uas-200');
        await stateIs(tx, 'accepted');
        await peer.reply(inv, 200, 'uas-200');
        await pollUntil(() => h.responses.length === 2, 'the retransmitted 2xx at the TU');
        expect(h.responses.map((r) => r.status)).toEqual([200, 200]);
        expect(sentCount(stack.transport, 'ACK')).toBe(0);

        expect(tx.timers.M).toBe(16_000);
        vi.advanceTimersByTime(16_000 - 1);
        expect(tx.state).toBe('accepted');
        vi.advanceTimersByTime(1);
        expect(tx.state).toBe('terminated');
        expect(h.terminated).toEqual(['normal']);

        // after Timer M a 2xx matches nothing: it goes to the TU as a stray
        await peer.reply(inv, 200, 'uas-200');
        await pollUntil(() => stack.tu.strayResponses.length === 1, 'the stray 2xx');
        expect(h.responses).toHaveLength(2);
      });
    });

    describe('cancel()', () => {
      it('before any 1xx sends nothing; on the first 1xx sends a CANCEL with the INVITE branch', async () => {
        await start();
        const h = recorder();
        const tx = sendInvite(h);
        tx.cancel();
        expect(tx.cancelRequested).toBe(true);
        vi.advanceTimersByTime(T1); // a Timer A retransmission, still no CANCEL
        expect(sentCount(stack.transport, 'INVITE')).toBe(2);
        expect(sentCount(stack.transport, 'CANCEL')).toBe(0);

        const inv = await peer.waitForRequest('INVITE');
        await peer.reply(inv, 180, 'uas-c');
        const cancel = await peer.waitForRequest('CANCEL');
        expect(sentCount(stack.transport, 'CANCEL')).toBe(1);
        expect(cancel.uri).toBe(inv.uri);
        expect(cancel.topVia?.branch).toBe(inv.topVia?.branch);
        expect(cancel.headers.getAll('via')).toHaveLength(1);
        expect(cancel.headers.get('cseq')).toBe('7 CANCEL');
        expect(cancel.headers.get('to')).toBe(inv.headers.get('to'));
        expect(cancel.headers.get('from')).toBe(inv.headers.get('from'));
        expect(cancel.callId).toBe(inv.callId);
        expect(cancel.headers.getAll('route')).toEqual(inv.headers.getAll('route'));

        // the 200 to the CANCEL (same branch, CSeq method CANCEL) does not touch the INVITE transaction
        await peer.reply(cancel, 200, 'uas-c');
        await pollUntil(() => receivedCount(stack.transport, '2xx') === 1, 'the 200 to the CANCEL');
        expect(tx.state).toBe('proceeding');
        expect(h.responses.map((r) => r.status)).toEqual([180]);
        expect(stack.layer.stats.strayResponses).toBe(0);
        await peer.reply(inv, 487, 'uas-c');
        await peer.waitForRequest('ACK');
        expect(h.responses.map((r) => r.status)).toEqual([180, 487]);
        tx.cancel(); // too late: nothing more
        expect(sentCount(stack.transport, 'CANCEL')).toBe(1);
      });

      it('no final response 64·T1 after the CANCEL (a far end that ignores it): the transaction ends with onTimeout (§9.1)', async () => {
        await start();
        const h = recorder();
        const tx = sendInvite(h);
        const inv = await peer.waitForRequest('INVITE');
        await peer.reply(inv, 180, 'uas-deaf');
        await stateIs(tx, 'proceeding');
        // ringing without a CANCEL: no timer runs in Proceeding (the TU's Timer C decides)
        vi.advanceTimersByTime(10 * 64 * DEFAULT_TIMERS.t1Ms);
        expect(tx.state).toBe('proceeding');
        tx.cancel();
        await peer.waitForRequest('CANCEL');
        vi.advanceTimersByTime(64 * DEFAULT_TIMERS.t1Ms - 1);
        expect(tx.state).toBe('proceeding');
        vi.advanceTimersByTime(1);
        expect(tx.state).toBe('terminated');
        expect(h.timeouts).toBe(1);
        expect(h.terminated).toEqual(['timeout']);
      });

      it('in Proceeding sends the CANCEL at once, and only once', async () => {
        await start();
        const h = recorder();
        const tx = sendInvite(h);
        const inv = await peer.waitForRequest('INVITE');
        await peer.reply(inv, 183, 'uas-p');
        await stateIs(tx, 'proceeding');
        tx.cancel();
        tx.cancel();
        expect(sentCount(stack.transport, 'CANCEL')).toBe(1);
        const cancel = await peer.waitForRequest('CANCEL');
        await peer.reply(cancel, 200, 'uas-p');
        await peer.reply(inv, 487, 'uas-p');
        await peer.waitForRequest('ACK');
      });
    });

    describe('over TCP', () => {
      it('never retransmits (no Timer A) and ends as soon as it has ACKed a non-2xx (Timer D = 0)', async () => {
        await start();
        const server = await TcpServerPeer.listen();
        extraCleanups.push(() => server.close());
        const h = recorder();
        const tx = stack.layer.sendRequest(
          invite(`127.0.0.1:${server.port}`, 'tcp'),
          { transport: 'tcp', address: '127.0.0.1', port: server.port },
          h,
        );
        expect(tx.timers).toMatchObject({ reliable: true, D: 0 });
        const inv = await server.waitForRequest('INVITE');
        expect(inv.topVia?.transport).toBe('TCP');
        vi.advanceTimersByTime(32 * T1);
        expect(sentCount(stack.transport, 'INVITE', 'tcp')).toBe(1);
        await server.reply(inv, 503, 'uas-tcp');
        await server.waitForRequest('ACK');
        expect(tx.state).toBe('terminated');
        expect(h.terminated).toEqual(['normal']);
        expect(server.connections).toHaveLength(1);
      });

      it('reports a transport error and ends when nobody listens', async () => {
        await start();
        const port = await freePort();
        const h = recorder();
        const tx = stack.layer.sendRequest(invite(`127.0.0.1:${port}`, 'tcp'), { transport: 'tcp', address: '127.0.0.1', port }, h);
        await pollUntil(() => h.transportErrors.length > 0, 'the transport error');
        expect(h.transportErrors).toHaveLength(1);
        expect(h.transportErrors[0]?.message).toMatch(/ECONNREFUSED/);
        expect(h.terminated).toEqual(['transport-error']);
        expect(h.timeouts).toBe(0);
        expect(tx.state).toBe('terminated');
        expect(stack.layer.size.total).toBe(0);
      });
    });
  });

  describe('NonInviteClientTransaction', () => {
    describe('Trying', () => {
      it.each([
        ['default timers', {}],
        ['T1 100, T2 300', { t1Ms: 100, t2Ms: 300 }],
      ])(
        'retransmits with Timer E at T1, 2T1, 4T1 … capped at T2, until Timer F → onTimeout (%s)',
        async (_name, timers: Partial<TimerConfig>) => {
          await start(timers);
          const t1 = timers.t1Ms ?? T1;
          const t2 = timers.t2Ms ?? DEFAULT_TIMERS.t2Ms;
          const h = recorder();
          const tx = sendNonInvite('OPTIONS', h);
          const sent = (): number => sentCount(stack.transport, 'OPTIONS');
          expect(sent()).toBe(1);
          const intervals = doublingIntervals(t1, t2, 64 * t1);
          if (t1 === T1) expect(intervals.slice(0, 5)).toEqual([500, 1000, 2000, 4000, 4000]);
          else expect(intervals.slice(0, 4)).toEqual([100, 200, 300, 300]);
          expectRetransmissionsAt(sent, intervals);

          const elapsed = intervals.reduce((a, b) => a + b, 0);
          vi.advanceTimersByTime(64 * t1 - elapsed - 1);
          expect(h.timeouts).toBe(0);
          vi.advanceTimersByTime(1);
          expect(h.timeouts).toBe(1);
          expect(h.terminated).toEqual(['timeout']);
          expect(tx.state).toBe('terminated');
          await peer.waitForRequest('OPTIONS', 1 + intervals.length);
        },
      );
    });

    describe('Proceeding', () => {
      it('after a 1xx retransmits every T2, and Timer F still ends it with onTimeout', async () => {
        await start();
        const h = recorder();
        const tx = sendNonInvite('REGISTER', h);
        const req = await peer.waitForRequest('REGISTER');
        await peer.reply(req, 100);
        await stateIs(tx, 'proceeding');
        const sent = (): number => sentCount(stack.transport, 'REGISTER');
        // the pending Timer E (T1) fires, then E is T2 each time
        expectRetransmissionsAt(sent, [500, 4000, 4000, 4000]);
        vi.advanceTimersByTime(64 * T1 - 500 - 3 * 4000 - 1);
        expect(h.timeouts).toBe(0);
        vi.advanceTimersByTime(1);
        expect(h.timeouts).toBe(1);
        expect(h.responses.map((r) => r.status)).toEqual([100]);
      });
    });

    describe('Completed', () => {
      it('stops Timer E on a final, absorbs a retransmitted final, and ends after Timer K (T4)', async () => {
        await start({ t4Ms: 3000 });
        const h = recorder();
        const tx = sendNonInvite('OPTIONS', h);
        const req = await peer.waitForRequest('OPTIONS');
        await peer.reply(req, 200, 'uas-o');
        await stateIs(tx, 'completed');
        await peer.reply(req, 200, 'uas-o');
        await pollUntil(() => receivedCount(stack.transport, '2xx') === 2, 'the retransmitted 200');
        expect(stack.layer.stats.strayResponses).toBe(0);
        expect(h.responses.map((r) => r.status)).toEqual([200]);
        expect(tx.timers.K).toBe(3000);
        vi.advanceTimersByTime(2999);
        expect(tx.state).toBe('completed');
        expect(sentCount(stack.transport, 'OPTIONS')).toBe(1);
        vi.advanceTimersByTime(1);
        expect(tx.state).toBe('terminated');
        expect(h.terminated).toEqual(['normal']);
      });
    });

    describe('over TCP', () => {
      it('never retransmits (no Timer E) and ends on the final at once (Timer K = 0)', async () => {
        await start();
        const server = await TcpServerPeer.listen();
        extraCleanups.push(() => server.close());
        const h = recorder();
        const tx = stack.layer.sendRequest(
          nonInvite('OPTIONS', `127.0.0.1:${server.port}`),
          { transport: 'tcp', address: '127.0.0.1', port: server.port },
          h,
        );
        const req = await server.waitForRequest('OPTIONS');
        vi.advanceTimersByTime(16 * T1);
        expect(sentCount(stack.transport, 'OPTIONS', 'tcp')).toBe(1);
        await server.reply(req, 200, 'uas-t');
        await stateIs(tx, 'terminated');
        expect(h.terminated).toEqual(['normal']);
      });

      it('reports a transport error and ends when nobody listens', async () => {
        await start();
        const port = await freePort();
        const h = recorder();
        stack.layer.sendRequest(nonInvite('OPTIONS', `127.0.0.1:${port}`), { transport: 'tcp', address: '127.0.0.1', port }, h);
        await pollUntil(() => h.terminated.length > 0, 'the transaction to end');
        expect(h.transportErrors).toHaveLength(1);
        expect(h.terminated).toEqual(['transport-error']);
      });
    });
  });
});
