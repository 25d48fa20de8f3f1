/**
 * InviteServerTransaction.replyOnce (issue 12): a refusal sent before the
 * sender is authenticated goes out once, with no Timer G retransmissions and
 * no wait for the ACK; a retransmitted INVITE is answered again, one for one;
 * the ACK is absorbed. The transactions' clock is fake: the whole Timer G/H
 * span is stepped through, and the send counter must not move.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TIMERS, type InviteServerTransaction } from '../../../../src/sip/transaction/index.js';
import { type SipStack, TcpClientPeer, UdpPeer, pollUntil, requestText, sentCount, startStack, testBranch, useFakeSipClock } from '../../../support/sip-peers.js';

const T1 = DEFAULT_TIMERS.t1Ms;

describe('InviteServerTransaction.replyOnce', () => {
  let stack: SipStack;
  let peer: UdpPeer;

  beforeEach(async () => {
    useFakeSipClock();
    stack = await startStack();
    peer = await UdpPeer.open();
  });

  afterEach(async () => {
    await stack.stop();
    await peer.close();
    vi.useRealTimers();
  });

  function invite(branch: string): string {
    return requestText({ method: 'INVITE', via: `SIP/2.0/UDP ${peer.hostPort};branch=${branch};rport`, callId: `${branch}@pbx` });
  }

  it('UDP: one response, no retransmission over the whole Timer G/H span, the transaction ended at once', async () => {
    stack.tu.onRequestHook = (_req, tx) => (tx as InviteServerTransaction).replyOnce(407, 'Proxy Authentication Required', { headers: [['Proxy-Authenticate', 'Digest realm="x"']] });
    await peer.send(invite(testBranch()), stack.udp.port, stack.udp.address);
    await peer.waitForResponse(407);
    expect(stack.layer.size.server).toBe(0);
    expect(sentCount(stack.transport, '4xx')).toBe(1);
    for (let t = 0; t < 64 * T1; t += T1) vi.advanceTimersByTime(T1);
    expect(sentCount(stack.transport, '4xx')).toBe(1);
    expect(peer.responses.map((r) => r.status)).toEqual([407]); // no 100 Trying either: the TU answered at once
    expect(stack.layer.stats.answeredOnce).toBe(1);
  });

  it('a retransmitted INVITE is answered again with the same bytes, one for one; the TU sees the INVITE once', async () => {
    stack.tu.onRequestHook = (_req, tx) => (tx as InviteServerTransaction).replyOnce(403, 'Forbidden');
    const text = invite(testBranch());
    await peer.send(text, stack.udp.port, stack.udp.address);
    await peer.waitForResponse(403);
    for (let i = 0; i < 3; i++) await peer.send(text, stack.udp.port, stack.udp.address);
    await peer.waitForResponse(403, 4);
    expect(new Set(peer.arrivals.map((a) => a.raw.toString())).size).toBe(1);
    expect(stack.tu.requestsOf('INVITE')).toHaveLength(1);
    expect(stack.layer.stats).toMatchObject({ answeredOnce: 1, answersRepeated: 3, retransmissionsAbsorbed: 3 });
    vi.advanceTimersByTime(64 * T1);
    expect(sentCount(stack.transport, '4xx')).toBe(4);
  });

  it('the ACK is absorbed: nothing waits for it and the TU never sees it', async () => {
    stack.tu.onRequestHook = (_req, tx) => (tx as InviteServerTransaction).replyOnce(403, 'Forbidden');
    const branch = testBranch();
    await peer.send(invite(branch), stack.udp.port, stack.udp.address);
    const res = await peer.waitForResponse(403);
    const ack = requestText({ method: 'ACK', via: `SIP/2.0/UDP ${peer.hostPort};branch=${branch};rport`, callId: `${branch}@pbx`, toTag: res.toTag });
    await peer.send(ack, stack.udp.port, stack.udp.address);
    await pollUntil(() => stack.layer.stats.retransmissionsAbsorbed === 1, 'the ACK to be absorbed');
    expect(stack.tu.requestsOf('ACK')).toHaveLength(0);
  });

  it('a 100 Trying sent first is fine; a 2xx or a provisional is refused (not a refusal)', async () => {
    const results: unknown[] = [];
    stack.tu.onRequestHook = (_req, tx) => {
      const ist = tx as InviteServerTransaction;
      ist.reply(100);
      expect(() => ist.replyOnce(200)).toThrow(/final refusals/);
      expect(() => ist.replyOnce(180)).toThrow(/final refusals/);
      ist.replyOnce(486, 'Busy Here');
      results.push(ist.replyOnce(486, 'Busy Here')); // already answered: undefined
    };
    await peer.send(invite(testBranch()), stack.udp.port, stack.udp.address);
    await peer.waitForResponse(486);
    expect(peer.responses.map((r) => r.status)).toEqual([100, 486]);
    expect(results).toEqual([undefined]);
  });

  it('TCP: one response on the connection, the transaction ended at once', async () => {
    stack.tu.onRequestHook = (_req, tx) => (tx as InviteServerTransaction).replyOnce(403, 'Forbidden');
    const client = await TcpClientPeer.connect(stack.tcp.port);
    try {
      await client.send(requestText({ method: 'INVITE', via: `SIP/2.0/TCP ${client.hostPort};branch=${testBranch()}`, callId: 'tcp-once' }));
      await client.waitForResponse(403);
      expect(stack.layer.size.server).toBe(0);
      expect(stack.layer.stats.answeredOnce).toBe(1);
    } finally {
      await client.close();
    }
  });
});
