/**
 * Server transactions (RFC 3261 §17.2, RFC 6026) on a real TransportLayer:
 * the UAC is a dgram/net socket in the test; the transaction timers run on a
 * fake clock, socket I/O on real time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_TIMERS,
  InviteServerTransaction,
  NonInviteServerTransaction,
  type ServerTransaction,
  type TerminationReason,
  type TimerConfig,
} from '../../../../src/sip/transaction/index.js';
import type { SipResponse } from '../../../../src/sip/message/index.js';
import {
  type SipStack,
  TcpClientPeer,
  UdpPeer,
  doublingIntervals,
  expectRetransmissionsAt,
  pollUntil,
  requestText,
  sentCount,
  countersOf,
  startStack,
  testBranch,
  useFakeSipClock,
} from '../../../support/sip-peers.js';

/** Longer than every transaction timer at the timer settings used here. */
const PAST_ALL_TIMERS_MS = 10 * 64 * DEFAULT_TIMERS.t1Ms;

describe('server transactions', () => {
  let stack: SipStack;
  let peer: UdpPeer;
  const extraCleanups: Array<() => Promise<void>> = [];

  async function start(options: { timers?: Partial<TimerConfig>; tryingReason?: string } = {}): Promise<void> {
    stack = await startStack({ transaction: options });
    peer = await UdpPeer.open();
  }

  beforeEach(() => {
    useFakeSipClock();
  });

  afterEach(async () => {
    try {
      // No leaks: once the clock is past every timer, no transaction is left.
      vi.advanceTimersByTime(PAST_ALL_TIMERS_MS);
      expect(stack.layer.size.total).toBe(0);
    } finally {
      await stack.stop();
      await peer.close();
      while (extraCleanups.length > 0) await extraCleanups.pop()?.();
      vi.useRealTimers();
    }
  });

  interface SentRequest {
    text: string;
    branch: string;
    via: string;
    callId: string;
  }

  /** Send a request from the UDP peer (Via with rport, so responses come back to it). */
  async function sendFromPeer(
    method: string,
    opts: { branch?: string; callId?: string; toTag?: string; cseq?: number } = {},
  ): Promise<SentRequest> {
    const branch = opts.branch ?? testBranch();
    const via = `SIP/2.0/UDP ${peer.hostPort};branch=${branch};rport`;
    const callId = opts.callId ?? `${branch}@pbx.example.com`;
    const text = requestText({ method, via, callId, toTag: opts.toTag, cseq: opts.cseq });
    await peer.send(text, stack.udp.port, stack.udp.address);
    return { text, branch, via, callId };
  }

  async function resend(req: SentRequest): Promise<void> {
    await peer.send(req.text, stack.udp.port, stack.udp.address);
  }

  /** The ACK for a non-2xx final (RFC 3261 §17.1.1.3): same branch, To tag of the response. */
  async function sendAckFor(invite: SentRequest, toTag: string): Promise<void> {
    await sendFromPeer('ACK', { branch: invite.branch, callId: invite.callId, toTag });
  }

  async function txOf<T extends ServerTransaction>(method: string, kind: new (...args: never[]) => T, n = 1): Promise<T> {
    const rec = await pollUntil(() => stack.tu.requestsOf(method)[n - 1], `${method} #${n} at the TU`);
    if (!(rec.tx instanceof kind)) throw new Error(`${method} did not come with a ${kind.name}`);
    return rec.tx;
  }

  function terminations(tx: ServerTransaction): TerminationReason[] {
    const out: TerminationReason[] = [];
    tx.onTerminated = (reason) => out.push(reason);
    return out;
  }

  describe('InviteServerTransaction', () => {
    describe('Proceeding', () => {
      it('sends 100 Trying at once, without a To tag, and hands the INVITE to the TU once', async () => {
        await start();
        await sendFromPeer('INVITE');
        const trying = await peer.waitForResponse(100);
        expect(trying.reason).toBe('Trying');
        expect(trying.toTag).toBeUndefined();
        const tx = await txOf('INVITE', InviteServerTransaction);
        expect(tx.state).toBe('proceeding');
        expect(stack.tu.requests).toHaveLength(1);
        tx.reply(486);
        await peer.waitForResponse(486);
      });

      it('uses the configured reason phrase for the 100', async () => {
        await start({ tryingReason: 'Trying (trunkgate)' });
        await sendFromPeer('INVITE');
        expect((await peer.waitForResponse(100)).reason).toBe('Trying (trunkgate)');
        (await txOf('INVITE', InviteServerTransaction)).reply(503);
      });

      it.each([486, 180])('sends no 100 when the TU answers %i inside onRequest', async (status) => {
        await start();
        stack.tu.onRequestHook = (req, tx) => {
          if (req.method === 'INVITE') tx?.reply(status);
        };
        await sendFromPeer('INVITE');
        await peer.waitForResponse(status);
        expect(sentCount(stack.transport, '1xx')).toBe(status < 200 ? 1 : 0);
        // barrier: a later request's answer arrives after anything the INVITE caused
        await sendFromPeer('OPTIONS');
        (await txOf('OPTIONS', NonInviteServerTransaction)).reply(200);
        await peer.waitForResponse(200);
        expect(peer.responses.map((r) => r.status)).toEqual([status, 200]);
        if (status < 200) (await txOf('INVITE', InviteServerTransaction)).reply(486);
      });

      it('sends nothing at all when the TU drops the INVITE inside onRequest, and forgets the transaction', async () => {
        await start();
        const ended: TerminationReason[] = [];
        stack.tu.onRequestHook = (req, tx) => {
          if (req.method !== 'INVITE' || tx === undefined) {
            tx?.reply(200);
            return;
          }
          tx.onTerminated = (reason) => ended.push(reason);
          (tx as InviteServerTransaction).drop();
        };
        await sendFromPeer('INVITE');
        const tx = await txOf('INVITE', InviteServerTransaction);
        expect(tx.state).toBe('terminated');
        expect(tx.dropped).toBe(true);
        expect(ended).toEqual(['dropped']);
        expect(stack.layer.size.server).toBe(0);
        expect([...(countersOf(stack.transport).messages.out.get('udp')?.values() ?? [])]).toEqual([]);
        // barrier: a later request is answered, and it is the only thing the peer ever got
        await sendFromPeer('OPTIONS');
        await peer.waitForResponse(200);
        expect(peer.responses.map((r) => r.status)).toEqual([200]);
      });

      it('refuses drop() once something has been sent', async () => {
        await start();
        await sendFromPeer('INVITE');
        const tx = await txOf('INVITE', InviteServerTransaction);
        expect(() => tx.drop()).toThrow(/answered/);
        tx.reply(486);
      });

      it('absorbs a retransmitted INVITE and re-sends the last provisional; the TU sees the INVITE once', async () => {
        await start();
        const invite = await sendFromPeer('INVITE');
        await peer.waitForResponse(100);
        await resend(invite);
        await peer.waitForResponse(100, 2);
        const tx = await txOf('INVITE', InviteServerTransaction);
        tx.reply(180);
        await peer.waitForResponse(180);
        await resend(invite);
        const again = await peer.waitForResponse(180, 2);
        expect(again.toTag).toBe(tx.localTag);
        expect(peer.responses.map((r) => r.status)).toEqual([100, 100, 180, 180]);
        expect(stack.tu.requests).toHaveLength(1);
        expect(stack.layer.stats.retransmissionsAbsorbed).toBe(2);
        tx.reply(486);
        await peer.waitForResponse(486);
      });
    });

    describe('Completed (3xx-6xx final)', () => {
      it.each([
        ['default timers (T1 500, T2 4000)', {}],
        ['T1 100, T2 300', { t1Ms: 100, t2Ms: 300 }],
      ])(
        'retransmits the final with Timer G at T1, 2T1, 4T1 … capped at T2, until Timer H (%s)',
        async (_name, timers: Partial<TimerConfig>) => {
          await start({ timers });
          const t1 = timers.t1Ms ?? DEFAULT_TIMERS.t1Ms;
          const t2 = timers.t2Ms ?? DEFAULT_TIMERS.t2Ms;
          await sendFromPeer('INVITE');
          const tx = await txOf('INVITE', InviteServerTransaction);
          const ended = terminations(tx);
          tx.reply(486);
          expect(tx.state).toBe('completed');
          const finals = (): number => sentCount(stack.transport, '4xx');
          expect(finals()).toBe(1);

          const intervals = doublingIntervals(t1, t2, 64 * t1);
          if (t1 === 500) expect(intervals.slice(0, 5)).toEqual([500, 1000, 2000, 4000, 4000]);
          else expect(intervals.slice(0, 4)).toEqual([100, 200, 300, 300]);
          expectRetransmissionsAt(finals, intervals);

          // Timer H fires at 64*T1 with no ACK
          const elapsed = intervals.reduce((a, b) => a + b, 0);
          vi.advanceTimersByTime(64 * t1 - elapsed - 1);
          expect(tx.state).toBe('completed');
          vi.advanceTimersByTime(1);
          expect(tx.state).toBe('terminated');
          expect(ended).toEqual(['timeout']);
          expect(stack.layer.size.total).toBe(0);
          const total = 1 + intervals.length;
          expect(finals()).toBe(total);
          await peer.waitForResponse(486, total);
          // the same bytes each time
          const raws = peer.arrivals.filter((a) => !a.message.isRequest && a.message.status === 486).map((a) => a.raw.toString());
          expect(new Set(raws).size).toBe(1);
        },
      );

      it('re-sends the final for a retransmitted INVITE', async () => {
        await start();
        const invite = await sendFromPeer('INVITE');
        const tx = await txOf('INVITE', InviteServerTransaction);
        tx.reply(603);
        await peer.waitForResponse(603);
        await resend(invite);
        await peer.waitForResponse(603, 2);
        expect(stack.tu.requests).toHaveLength(1);
        await sendAckFor(invite, tx.localTag);
        await pollUntil(() => tx.state !== 'completed', 'the ACK');
      });

      it('ignores a second final from the TU', async () => {
        await start();
        await sendFromPeer('INVITE');
        const tx = await txOf('INVITE', InviteServerTransaction);
        tx.reply(486);
        tx.reply(200);
        expect(sentCount(stack.transport, '2xx')).toBe(0);
        expect(tx.state).toBe('completed');
      });

      describe('Confirmed', () => {
        it('enters Confirmed on the ACK, stops Timer G, absorbs further ACKs, and ends after Timer I (T4)', async () => {
          await start();
          const invite = await sendFromPeer('INVITE');
          const tx = await txOf('INVITE', InviteServerTransaction);
          const ended = terminations(tx);
          tx.reply(486);
          await sendAckFor(invite, tx.localTag);
          await pollUntil(() => tx.state === 'confirmed', 'Confirmed');
          const absorbed = stack.layer.stats.retransmissionsAbsorbed;

          vi.advanceTimersByTime(4 * DEFAULT_TIMERS.t1Ms);
          expect(sentCount(stack.transport, '4xx')).toBe(1);

          await sendAckFor(invite, tx.localTag);
          await pollUntil(() => stack.layer.stats.retransmissionsAbsorbed === absorbed + 1, 'the second ACK to be absorbed');
          expect(stack.tu.requestsOf('ACK')).toHaveLength(0);
          expect(tx.state).toBe('confirmed');

          vi.advanceTimersByTime(DEFAULT_TIMERS.t4Ms - 4 * DEFAULT_TIMERS.t1Ms - 1);
          expect(tx.state).toBe('confirmed');
          vi.advanceTimersByTime(1);
          expect(tx.state).toBe('terminated');
          expect(ended).toEqual(['normal']);
          expect(stack.layer.size.total).toBe(0);
        });

        it('uses the configured T4 for Timer I', async () => {
          await start({ timers: { t4Ms: 1234 } });
          const invite = await sendFromPeer('INVITE');
          const tx = await txOf('INVITE', InviteServerTransaction);
          tx.reply(480);
          await sendAckFor(invite, tx.localTag);
          await pollUntil(() => tx.state === 'confirmed', 'Confirmed');
          vi.advanceTimersByTime(1233);
          expect(tx.state).toBe('confirmed');
          vi.advanceTimersByTime(1);
          expect(tx.state).toBe('terminated');
        });
      });
    });

    describe('Accepted (2xx final, RFC 6026)', () => {
      it('absorbs INVITE retransmissions without answering, lets the TU retransmit its 2xx, and ends after Timer L (64*T1)', async () => {
        await start();
        const invite = await sendFromPeer('INVITE');
        const tx = await txOf('INVITE', InviteServerTransaction);
        const ended = terminations(tx);
        const ok = tx.reply(200) as SipResponse;
        expect(tx.state).toBe('accepted');
        await peer.waitForResponse(200);

        await resend(invite);
        await pollUntil(() => stack.layer.stats.retransmissionsAbsorbed === 1, 'the retransmitted INVITE');
        expect(sentCount(stack.transport, '1xx')).toBe(1);
        expect(sentCount(stack.transport, '2xx')).toBe(1);
        expect(stack.tu.requests).toHaveLength(1);

        // the TU (the UA core, §13.3.1.4) retransmits its 2xx through the transaction
        tx.respond(ok);
        await peer.waitForResponse(200, 2);
        // no transaction-level retransmission of a 2xx
        vi.advanceTimersByTime(8 * DEFAULT_TIMERS.t1Ms);
        expect(sentCount(stack.transport, '2xx')).toBe(2);

        vi.advanceTimersByTime(64 * DEFAULT_TIMERS.t1Ms - 8 * DEFAULT_TIMERS.t1Ms - 1);
        expect(tx.state).toBe('accepted');
        vi.advanceTimersByTime(1);
        expect(tx.state).toBe('terminated');
        expect(ended).toEqual(['normal']);
      });

      it('passes an ACK that matches the Accepted transaction to the TU, and an ACK with its own branch too', async () => {
        await start();
        const invite = await sendFromPeer('INVITE');
        const tx = await txOf('INVITE', InviteServerTransaction);
        tx.reply(200);
        // some UACs reuse the INVITE branch for the 2xx ACK: it matches the Accepted transaction
        await sendAckFor(invite, tx.localTag);
        const acks = await pollUntil(() => stack.tu.requestsOf('ACK')[0], 'the ACK at the TU');
        expect(acks.tx).toBeUndefined();
        expect(tx.state).toBe('accepted');
        // the RFC 3261 way: a new branch, which matches no transaction
        await sendFromPeer('ACK', { callId: invite.callId, toTag: tx.localTag });
        const second = await pollUntil(() => stack.tu.requestsOf('ACK')[1], 'the second ACK at the TU');
        expect(second.tx).toBeUndefined();
        expect(stack.layer.size.server).toBe(1);
      });
    });

    describe('over TCP', () => {
      it('sends 100 and the final on the connection, never retransmits (no Timer G), and ends on the ACK (Timer I = 0)', async () => {
        await start();
        const client = await TcpClientPeer.connect(stack.tcp.port);
        extraCleanups.push(() => client.close());
        const branch = testBranch();
        const via = `SIP/2.0/TCP ${client.hostPort};branch=${branch}`;
        await client.send(requestText({ method: 'INVITE', via, callId: `${branch}@tcp` }));
        await client.waitForResponse(100);
        const tx = await txOf('INVITE', InviteServerTransaction);
        expect(tx.timers).toMatchObject({ reliable: true, I: 0 });
        const ended = terminations(tx);
        tx.reply(486);
        await client.waitForResponse(486);
        vi.advanceTimersByTime(32 * DEFAULT_TIMERS.t1Ms);
        expect(sentCount(stack.transport, '4xx', 'tcp')).toBe(1);
        expect(tx.state).toBe('completed');

        await client.send(requestText({ method: 'ACK', via, callId: `${branch}@tcp`, toTag: tx.localTag }));
        await pollUntil(() => tx.state === 'terminated', 'the ACK to end the transaction');
        expect(ended).toEqual(['normal']);
        expect(stack.layer.size.total).toBe(0);
        expect(client.responses.map((r) => r.status)).toEqual([100, 486]);
      });

      it('still ends with Timer H (64*T1) when no ACK comes', async () => {
        await start();
        const client = await TcpClientPeer.connect(stack.tcp.port);
        extraCleanups.push(() => client.close());
        await client.send(requestText({ method: 'INVITE', via: `SIP/2.0/TCP ${client.hostPort};branch=${testBranch()}` }));
        const tx = await txOf('INVITE', InviteServerTransaction);
        const ended = terminations(tx);
        tx.reply(486);
        vi.advanceTimersByTime(64 * DEFAULT_TIMERS.t1Ms - 1);
        expect(tx.state).toBe('completed');
        vi.advanceTimersByTime(1);
        expect(ended).toEqual(['timeout']);
      });
    });
  });

  describe('NonInviteServerTransaction', () => {
    describe('Trying', () => {
      it('sends nothing by itself and absorbs a retransmission silently', async () => {
        await start();
        const options = await sendFromPeer('OPTIONS');
        const tx = await txOf('OPTIONS', NonInviteServerTransaction);
        expect(tx.state).toBe('trying');
        await resend(options);
        await pollUntil(() => stack.layer.stats.retransmissionsAbsorbed === 1, 'the retransmission');
        expect([...(countersOf(stack.transport).messages.out.get('udp')?.values() ?? [])]).toEqual([]);
        expect(stack.tu.requests).toHaveLength(1);
        tx.reply(200);
        await peer.waitForResponse(200);
      });
    });

    describe('Proceeding', () => {
      it('re-sends the last provisional for a retransmission', async () => {
        await start();
        const req = await sendFromPeer('SUBSCRIBE');
        const tx = await txOf('SUBSCRIBE', NonInviteServerTransaction);
        tx.reply(183);
        expect(tx.state).toBe('proceeding');
        await peer.waitForResponse(183);
        await resend(req);
        await peer.waitForResponse(183, 2);
        tx.reply(489);
        await peer.waitForResponse(489);
      });
    });

    describe('Completed', () => {
      it('re-sends the final for each retransmission, the TU sees the request once, and Timer J (64*T1) ends it', async () => {
        await start({ timers: { t1Ms: 200 } });
        const req = await sendFromPeer('OPTIONS');
        const tx = await txOf('OPTIONS', NonInviteServerTransaction);
        const ended = terminations(tx);
        tx.reply(200);
        expect(tx.state).toBe('completed');
        expect(tx.timers.J).toBe(64 * 200);
        await peer.waitForResponse(200);
        await resend(req);
        await peer.waitForResponse(200, 2);
        await resend(req);
        await peer.waitForResponse(200, 3);
        expect(stack.tu.requests).toHaveLength(1);
        const raws = peer.arrivals.map((a) => a.raw.toString());
        expect(new Set(raws).size).toBe(1);
        // no retransmission without a request retransmission
        vi.advanceTimersByTime(64 * 200 - 1);
        expect(sentCount(stack.transport, '2xx')).toBe(3);
        expect(tx.state).toBe('completed');
        vi.advanceTimersByTime(1);
        expect(tx.state).toBe('terminated');
        expect(ended).toEqual(['normal']);
      });

      it('ignores a second final from the TU', async () => {
        await start();
        await sendFromPeer('OPTIONS');
        const tx = await txOf('OPTIONS', NonInviteServerTransaction);
        tx.reply(200);
        tx.reply(500);
        expect(sentCount(stack.transport, '5xx')).toBe(0);
      });
    });

    describe('over TCP', () => {
      it('ends as soon as the final is sent (Timer J = 0)', async () => {
        await start();
        const client = await TcpClientPeer.connect(stack.tcp.port);
        extraCleanups.push(() => client.close());
        await client.send(requestText({ method: 'OPTIONS', via: `SIP/2.0/TCP ${client.hostPort};branch=${testBranch()}` }));
        const tx = await txOf('OPTIONS', NonInviteServerTransaction);
        expect(tx.timers.J).toBe(0);
        const ended = terminations(tx);
        tx.reply(200);
        expect(tx.state).toBe('terminated');
        expect(ended).toEqual(['normal']);
        expect(stack.layer.size.total).toBe(0);
        await client.waitForResponse(200);
      });
    });
  });
});
