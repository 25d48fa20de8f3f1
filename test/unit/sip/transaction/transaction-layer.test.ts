/**
 * TransactionLayer: matching (RFC 3261 §17.1.3, §17.2.3), CANCEL (§9.2),
 * RFC 2543 peers, branch ids, and the Via it adds, on a real TransportLayer.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAGIC_COOKIE, createRequest, newBranch, parseMessage } from '../../../../src/sip/message/index.js';
import {
  DEFAULT_TIMERS,
  InviteClientTransaction,
  InviteServerTransaction,
  NonInviteServerTransaction,
  type ClientTransactionHandlers,
  clientKey,
  serverKey,
} from '../../../../src/sip/transaction/index.js';
import {
  type SipStack,
  UdpPeer,
  pollUntil,
  requestText,
  sentCount,
  receivedCount,
  startStack,
  testBranch,
  useFakeSipClock,
} from '../../../support/sip-peers.js';

const PAST_ALL_TIMERS_MS = 10 * 64 * DEFAULT_TIMERS.t1Ms;

describe('TransactionLayer', () => {
  let stack: SipStack;
  let peer: UdpPeer;

  beforeEach(async () => {
    useFakeSipClock();
    stack = await startStack();
    peer = await UdpPeer.open();
  });

  afterEach(async () => {
    try {
      vi.advanceTimersByTime(PAST_ALL_TIMERS_MS);
      expect(stack.layer.size.total).toBe(0);
    } finally {
      await stack.stop();
      await peer.close();
      vi.useRealTimers();
    }
  });

  interface Sent {
    text: string;
    branch: string;
    callId: string;
  }

  async function send(
    method: string,
    opts: { branch?: string | null; sentBy?: string; callId?: string; toTag?: string; cseq?: number; rport?: boolean } = {},
  ): Promise<Sent> {
    const branch = opts.branch === undefined ? testBranch() : opts.branch;
    const params = (branch === null ? '' : `;branch=${branch}`) + (opts.rport === false ? '' : ';rport');
    const via = `SIP/2.0/UDP ${opts.sentBy ?? peer.hostPort}${params}`;
    const callId = opts.callId ?? `${branch ?? 'no-branch'}@pbx.example.com`;
    const text = requestText({ method, via, callId, toTag: opts.toTag, cseq: opts.cseq });
    await peer.send(text, stack.udp.port, stack.udp.address);
    return { text, branch: branch ?? '', callId };
  }

  async function resend(req: Sent): Promise<void> {
    await peer.send(req.text, stack.udp.port, stack.udp.address);
  }

  async function inviteTx(n = 1): Promise<InviteServerTransaction> {
    const rec = await pollUntil(() => stack.tu.requestsOf('INVITE')[n - 1], `INVITE #${n} at the TU`);
    if (!(rec.tx instanceof InviteServerTransaction)) throw new Error('no InviteServerTransaction');
    return rec.tx;
  }

  describe('server transaction matching (§17.2.3)', () => {
    it('keeps two requests with the same branch but different sent-by apart', async () => {
      stack.tu.onRequestHook = (_req, tx) => tx?.reply(200);
      const branch = testBranch();
      await send('OPTIONS', { branch, sentBy: peer.hostPort, callId: 'a' });
      await send('OPTIONS', { branch, sentBy: `pbx.example.com:${peer.port}`, callId: 'b' });
      await peer.waitForResponse(200, 2);
      expect(stack.tu.requests.map((r) => r.req.callId)).toEqual(['a', 'b']);
      expect(stack.tu.requests[0]?.tx).not.toBe(stack.tu.requests[1]?.tx);
      expect(stack.layer.stats.retransmissionsAbsorbed).toBe(0);
    });

    it('keeps two requests with the same branch and sent-by but different methods apart', async () => {
      stack.tu.onRequestHook = (_req, tx) => tx?.reply(200);
      const branch = testBranch();
      await send('OPTIONS', { branch });
      await send('INFO', { branch });
      await peer.waitForResponse(200, 2);
      expect(stack.tu.requests.map((r) => r.req.method)).toEqual(['OPTIONS', 'INFO']);
    });

    it('matches a request retransmission by branch, sent-by and method even when other fields change', async () => {
      stack.tu.onRequestHook = (_req, tx) => tx?.reply(200);
      const branch = testBranch();
      await send('OPTIONS', { branch, callId: 'first' });
      await send('OPTIONS', { branch, callId: 'changed', cseq: 2 });
      await peer.waitForResponse(200, 2);
      expect(stack.tu.requests).toHaveLength(1);
      expect(stack.layer.stats.retransmissionsAbsorbed).toBe(1);
    });

    it('matches the ACK for a non-2xx to its INVITE: it never reaches the TU', async () => {
      const invite = await send('INVITE');
      const tx = await inviteTx();
      tx.reply(404);
      await send('ACK', { branch: invite.branch, callId: invite.callId, toTag: tx.localTag });
      await pollUntil(() => tx.state === 'confirmed', 'the ACK to confirm the INVITE transaction');
      expect(stack.tu.requestsOf('ACK')).toHaveLength(0);
    });

    it('passes an ACK that matches no transaction (a 2xx ACK) to the TU without a transaction', async () => {
      await send('ACK', { toTag: 'dialog-tag' });
      const rec = await pollUntil(() => stack.tu.requestsOf('ACK')[0], 'the ACK');
      expect(rec.tx).toBeUndefined();
      expect(stack.layer.size.total).toBe(0);
    });

    it('gives an RFC 2543 request (no magic cookie) exactly one transaction, and matches its retransmission and ACK', async () => {
      const invite = await send('INVITE', { branch: null, rport: false, callId: 'rfc2543@old-pbx' });
      await peer.waitForResponse(100);
      await resend(invite);
      await peer.waitForResponse(100, 2);
      const tx = await inviteTx();
      expect(stack.tu.requests).toHaveLength(1);
      tx.reply(486);
      await peer.waitForResponse(486);
      await send('ACK', { branch: null, rport: false, callId: 'rfc2543@old-pbx', toTag: tx.localTag });
      await pollUntil(() => tx.state === 'confirmed', 'the 2543 ACK to match');
      expect(stack.tu.requestsOf('ACK')).toHaveLength(0);
      // a new CSeq is a new transaction
      await send('INVITE', { branch: null, rport: false, callId: 'rfc2543@old-pbx', cseq: 2 });
      const second = await inviteTx(2);
      expect(second).not.toBe(tx);
      second.reply(486);
    });

    it('treats a branch without the magic cookie like RFC 2543', async () => {
      stack.tu.onRequestHook = (_req, tx) => tx?.reply(200);
      const req = await send('OPTIONS', { branch: 'abc123' });
      await peer.waitForResponse(200);
      await resend(req);
      await peer.waitForResponse(200, 2);
      expect(stack.tu.requests).toHaveLength(1);
      const first = stack.tu.requests[0];
      if (first === undefined) throw new Error('no request');
      expect(serverKey(first.req).startsWith('2543\u0000')).toBe(true);
    });
  });

  describe('CANCEL (§9.2)', () => {
    it('answers 200 to the CANCEL and 487 to the INVITE, and tells the TU once', async () => {
      const invite = await send('INVITE', { callId: 'to-cancel' });
      await peer.waitForResponse(100);
      const tx = await inviteTx();
      const cancel = await send('CANCEL', { branch: invite.branch, callId: 'to-cancel' });
      const ok = await peer.waitForResponse(200);
      expect(ok.cseq?.method).toBe('CANCEL');
      const terminated = await peer.waitForResponse(487);
      expect(terminated.cseq?.method).toBe('INVITE');
      expect(terminated.toTag).toBe(tx.localTag);
      expect(stack.tu.cancels).toHaveLength(1);
      expect(stack.tu.cancels[0]?.invite).toBe(tx);
      expect(tx.cancelled).toBe(true);
      expect(tx.state).toBe('completed');
      expect(stack.tu.requestsOf('CANCEL')).toHaveLength(0);

      // a retransmitted CANCEL gets its 200 again, and nothing else happens
      await resend(cancel);
      await peer.waitForResponse(200, 2);
      expect(stack.tu.cancels).toHaveLength(1);
      expect(sentCount(stack.transport, '4xx')).toBe(1);
      await send('ACK', { branch: invite.branch, callId: 'to-cancel', toTag: tx.localTag });
      await pollUntil(() => tx.state === 'confirmed', 'the ACK for the 487');
    });

    it('sends no 487 when the TU answers the INVITE inside onCancel', async () => {
      stack.tu.onCancelHook = (inv) => inv.reply(486, 'Busy Here (cancelled)');
      const invite = await send('INVITE');
      const tx = await inviteTx();
      await send('CANCEL', { branch: invite.branch, callId: invite.callId });
      const busy = await peer.waitForResponse(486);
      expect(busy.reason).toBe('Busy Here (cancelled)');
      await peer.waitForResponse(200);
      expect(sentCount(stack.transport, '4xx')).toBe(1);
      expect(tx.state).toBe('completed');
    });

    it('answers 481 to a CANCEL that matches no INVITE', async () => {
      await send('CANCEL');
      const res = await peer.waitForResponse(481);
      expect(res.cseq?.method).toBe('CANCEL');
      expect(stack.layer.stats.cancelsUnmatched).toBe(1);
      expect(stack.tu.cancels).toHaveLength(0);
      expect(stack.tu.requests).toHaveLength(0);
    });

    it('answers 481 to a CANCEL whose branch matches an INVITE from another sent-by', async () => {
      const invite = await send('INVITE');
      const tx = await inviteTx();
      await send('CANCEL', { branch: invite.branch, sentBy: `other.example.com:${peer.port}`, callId: invite.callId });
      await peer.waitForResponse(481);
      expect(tx.state).toBe('proceeding');
      tx.reply(486);
    });

    it('answers 200 but sends no 487 when the INVITE already has its final', async () => {
      const invite = await send('INVITE');
      const tx = await inviteTx();
      tx.reply(200);
      await send('CANCEL', { branch: invite.branch, callId: invite.callId });
      await pollUntil(() => peer.responses.find((r) => r.status === 200 && r.cseq?.method === 'CANCEL'), 'the 200 to the CANCEL');
      expect(stack.tu.cancels).toHaveLength(0);
      expect(sentCount(stack.transport, '4xx')).toBe(0);
    });
  });

  describe('client transaction matching (§17.1.3)', () => {
    const handlers = (log: number[]): ClientTransactionHandlers => ({ onResponse: (res) => log.push(res.status) });

    it('matches responses on branch and CSeq method: the 200 to a CANCEL does not complete the INVITE', async () => {
      const log: number[] = [];
      const tx = stack.layer.sendRequest(
        createRequest('INVITE', `sip:b@${peer.hostPort}`, [
          ['From', '<sip:a@x>;tag=1'],
          ['To', '<sip:b@y>'],
          ['Call-ID', 'match-1'],
          ['CSeq', '1 INVITE'],
        ]),
        { transport: 'udp', address: '127.0.0.1', port: peer.port },
        handlers(log),
      );
      if (!(tx instanceof InviteClientTransaction)) throw new Error('expected an ICT');
      const inv = await peer.waitForRequest('INVITE');
      await peer.reply(inv, 180, 'x');
      await pollUntil(() => tx.state === 'proceeding', 'Proceeding');
      tx.cancel();
      const cancel = await peer.waitForRequest('CANCEL');
      expect(clientKey(cancel)).not.toBe(clientKey(inv));
      expect(cancel.topVia?.branch).toBe(inv.topVia?.branch);
      await peer.reply(cancel, 200, 'x');
      await pollUntil(() => stack.layer.size.client === 2 && receivedCount(stack.transport, '2xx') === 1, 'the CANCEL 200');
      expect(tx.state).toBe('proceeding');
      expect(log).toEqual([180]);
      await peer.reply(inv, 487, 'x');
      await pollUntil(() => tx.state === 'completed', 'the 487');
      expect(log).toEqual([180, 487]);
    });

    it('hands a response that matches no client transaction to onStrayResponse', async () => {
      await peer.send(
        `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${stack.transport.localHostPort({ transport: "udp", address: stack.udp.address })};branch=${newBranch()}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
        stack.udp.port,
        stack.udp.address,
      );
      await pollUntil(() => stack.tu.strayResponses.length === 1, 'the stray response');
      expect(stack.layer.stats.strayResponses).toBe(1);
    });
  });

  describe('sending', () => {
    it('adds a Via with its own sent-by, a fresh branch and rport, and Max-Forwards when missing', async () => {
      const req = createRequest('OPTIONS', `sip:b@${peer.hostPort}`, [
        ['Via', 'SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKupstream'],
        ['From', '<sip:a@x>;tag=1'],
        ['To', '<sip:b@y>'],
        ['Call-ID', 'via-1'],
        ['CSeq', '1 OPTIONS'],
      ]);
      stack.layer.sendRequest(req, { transport: 'udp', address: '127.0.0.1', port: peer.port }, { onResponse: () => undefined });
      const got = await peer.waitForRequest('OPTIONS');
      const vias = got.headers.getAll('via');
      expect(vias).toHaveLength(2);
      expect(vias[0]).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${stack.udp.port};branch=z9hG4bK[0-9a-f]+;rport$`));
      expect(vias[1]).toBe('SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKupstream');
      expect(got.headers.get('max-forwards')).toBe('70');
      await peer.reply(got, 200, 't');
      await pollUntil(() => receivedCount(stack.transport, '2xx') === 1, 'the 200');
    });

    it('makes branch ids of z9hG4bK plus at least 64 random bits, all different', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 5000; i++) {
        const b = newBranch();
        expect(b.startsWith(MAGIC_COOKIE)).toBe(true);
        const random = b.slice(MAGIC_COOKIE.length);
        expect(random).toMatch(/^[0-9a-f]+$/);
        expect(random.length * 4).toBeGreaterThanOrEqual(64);
        seen.add(b);
      }
      expect(seen.size).toBe(5000);
      // every hex digit position varies: no fixed prefix or counter
      const first = [...seen].slice(0, 200).map((b) => b.slice(MAGIC_COOKIE.length));
      const length = first[0]?.length ?? 0;
      for (let pos = 0; pos < length; pos++) expect(new Set(first.map((r) => r[pos])).size).toBeGreaterThan(4);
    });

    it('uses a new branch per client transaction', async () => {
      const branches: string[] = [];
      for (let i = 0; i < 3; i++) {
        const req = createRequest('OPTIONS', `sip:b@${peer.hostPort}`, [
          ['Call-ID', `b-${i}`],
          ['CSeq', '1 OPTIONS'],
          ['From', '<sip:a@x>;tag=1'],
          ['To', '<sip:b@y>'],
        ]);
        stack.layer.sendRequest(req, { transport: 'udp', address: '127.0.0.1', port: peer.port }, { onResponse: () => undefined });
        branches.push(req.topVia?.branch ?? '');
      }
      expect(new Set(branches).size).toBe(3);
      for (let i = 1; i <= 3; i++) await peer.reply(await peer.waitForRequest('OPTIONS', i), 200, 't');
      await pollUntil(() => stack.layer.size.client === 3 && receivedCount(stack.transport, '2xx') === 3, 'the 200s');
    });

    it('refuses to send an ACK in a client transaction', () => {
      const ack = createRequest('ACK', 'sip:b@127.0.0.1', [['CSeq', '1 ACK']]);
      expect(() =>
        stack.layer.sendRequest(ack, { transport: 'udp', address: '127.0.0.1', port: peer.port }, { onResponse: () => undefined }),
      ).toThrow(/sendAck/);
    });

    it('sends a 2xx ACK outside any transaction with its own branch, and resends the same bytes', async () => {
      const ack = createRequest('ACK', `sip:b@${peer.hostPort}`, [
        ['Call-ID', 'ack-1'],
        ['CSeq', '1 ACK'],
        ['From', '<sip:a@x>;tag=1'],
        ['To', '<sip:b@y>;tag=2'],
      ]);
      const dest = { transport: 'udp' as const, address: '127.0.0.1', port: peer.port };
      const wire = stack.layer.sendAck(ack, dest);
      stack.layer.resend(wire, dest);
      await peer.waitForRequest('ACK', 2);
      expect(peer.arrivals[0]?.raw.equals(wire)).toBe(true);
      expect(peer.arrivals[1]?.raw.equals(wire)).toBe(true);
      expect(stack.layer.size.total).toBe(0);
      const parsed = parseMessage(wire);
      expect(parsed.ok && parsed.message.topVia?.branch?.startsWith(MAGIC_COOKIE)).toBe(true);
    });
  });

  describe('terminateAll', () => {
    it('ends every transaction with reason shutdown', async () => {
      const reasons: string[] = [];
      stack.tu.onRequestHook = (_req, tx) => {
        if (tx !== undefined) tx.onTerminated = (r) => reasons.push(`server:${r}`);
      };
      await send('INVITE');
      await send('OPTIONS');
      await pollUntil(() => stack.tu.requests.length === 2, 'both requests');
      expect(stack.tu.requests[1]?.tx).toBeInstanceOf(NonInviteServerTransaction);
      stack.layer.sendRequest(
        createRequest('OPTIONS', `sip:b@${peer.hostPort}`, [
          ['Call-ID', 'x'],
          ['CSeq', '1 OPTIONS'],
          ['From', '<sip:a@x>;tag=1'],
          ['To', '<sip:b@y>'],
        ]),
        { transport: 'udp', address: '127.0.0.1', port: peer.port },
        { onResponse: () => undefined, onTerminated: (r) => reasons.push(`client:${r}`) },
      );
      expect(stack.layer.size).toEqual({ server: 2, client: 1, total: 3 });
      stack.layer.terminateAll();
      expect(reasons.sort()).toEqual(['client:shutdown', 'server:shutdown', 'server:shutdown']);
      expect(stack.layer.size.total).toBe(0);
    });
  });
});
