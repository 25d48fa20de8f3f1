/**
 * No reflection, no amplification (issue 12), with raw datagrams on 127.0.0.1:
 * an "attacker" socket sends INVITEs whose Via names another socket (the
 * "victim") as sent-by and as maddr. Whatever the refusal — an ACL miss, a
 * missing or bad credential, a banned source, an unknown trunk with
 * `unknownDomain: reject` — the victim gets nothing, and the sender gets
 * exactly one datagram per datagram it sent: no 100 Trying, no Timer G
 * retransmission (the transaction is gone at once), a retransmitted INVITE
 * answered once more. Before this, two INVITEs with a maddr of another
 * address made 16 datagrams go there over 16 s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { UdpPeer } from '../support/sip-peers.js';
import { waitFor } from '../support/wait-for.js';

let gateway: Gateway | undefined;
const peers: UdpPeer[] = [];

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  for (const p of peers.splice(0)) await p.close();
});

async function peer(address = '127.0.0.1'): Promise<UdpPeer> {
  const p = await UdpPeer.open(address);
  peers.push(p);
  return p;
}

let seq = 0;

/** An INVITE whose Via sends responses elsewhere: sent-by port and maddr name the victim. */
function reflectingInvite(host: string, victim: UdpPeer, extra: string[] = [], branch = `z9hG4bK-reflect-${++seq}`): string {
  const ruri = `sip:+14155550123@${host}`;
  return [
    `INVITE ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${victim.address}:${victim.port};branch=${branch};maddr=${victim.address}`,
    'Max-Forwards: 70',
    `From: <sip:+14155550100@${victim.address}>;tag=r${seq}`,
    `To: <${ruri}>`,
    `Call-ID: reflect-${seq}@attacker`,
    'CSeq: 1 INVITE',
    `Contact: <sip:x@${victim.address}:${victim.port}>`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('refusals before authentication: no reflection, one datagram out per datagram in', () => {
  it('ACL miss, no credentials, bad credentials, unknown trunk: the maddr/sent-by socket gets nothing; the source gets one answer per INVITE sent', async () => {
    gateway = await startTestGateway({
      sip: { fallbackTrunk: null, unknownDomain: 'reject' },
      trunks: [
        { name: 'demo', account: 'demo', auth: { ipAcl: ['127.0.0.0/8'] } },
        { name: 'aclmiss', account: 'demo', auth: { ipAcl: ['10.0.0.0/8'] } },
        { name: 'creds', account: 'demo', auth: { credentials: [{ username: 'pbx', password: 'Secret-pass-123' }] } },
      ],
    });
    const g = gateway;
    const port = g.address('udp').port;
    const attacker = await peer();
    const victim = await peer();
    const forged = 'Proxy-Authorization: Digest username="pbx", realm="sip.twilio.com", nonce="1.2.3", uri="sip:+14155550123@creds.pstn.twilio.com", response="00000000000000000000000000000000", qop=auth, nc=00000001, cnonce="x"';
    const cases: Array<[string, string, number]> = [
      ['an ACL miss', reflectingInvite('aclmiss.pstn.twilio.com', victim), 403],
      ['no credentials', reflectingInvite('creds.pstn.twilio.com', victim), 407],
      ['bad credentials', reflectingInvite('creds.pstn.twilio.com', victim, [forged]), 403],
      ['an unknown trunk (unknownDomain: reject)', reflectingInvite('nosuch.pstn.twilio.com', victim), 403],
      ['an unknown trunk with a host-name maddr', reflectingInvite('nosuch.pstn.twilio.com', victim).replace(/maddr=[^\r]+/, 'maddr=victim.example.invalid'), 403],
    ];
    // each INVITE twice: the original and a retransmission
    for (const [, text] of cases) {
      await attacker.send(text, port, '127.0.0.1');
      await attacker.send(text, port, '127.0.0.1');
    }
    await waitFor(() => attacker.arrivals.length >= 2 * cases.length, { timeoutMs: 5000, what: 'an answer to every datagram', detail: () => JSON.stringify(attacker.responses.map((r) => r.status)) });
    // barrier: the victim sends a request of its own; anything sent to it before is in by the time its answer is
    await victim.send(
      'OPTIONS sip:demo.pstn.twilio.com SIP/2.0\r\nVia: SIP/2.0/UDP ' +
        `${victim.hostPort};branch=z9hG4bK-barrier-${++seq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:v@127.0.0.1>;tag=v\r\nTo: <sip:demo.pstn.twilio.com>\r\nCall-ID: barrier@victim\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      port,
      '127.0.0.1',
    );
    await victim.waitForResponse(200);
    // also a barrier for the attacker: nothing more than its two answers per INVITE
    await attacker.send(
      `OPTIONS sip:demo.pstn.twilio.com SIP/2.0\r\nVia: SIP/2.0/UDP ${attacker.hostPort};branch=z9hG4bK-barrier-${++seq}\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a\r\nTo: <sip:demo.pstn.twilio.com>\r\nCall-ID: barrier@attacker\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      port,
      '127.0.0.1',
    );
    await waitFor(() => attacker.messages.some((m) => m.callId === 'barrier@attacker'), { timeoutMs: 3000, what: 'the attacker’s barrier' });

    expect(victim.arrivals.map((a) => a.message.callId)).toEqual(['barrier@victim']);
    const answers = attacker.responses.filter((r) => r.callId !== 'barrier@attacker');
    expect(answers).toHaveLength(2 * cases.length);
    for (const [i, [name, , status]] of cases.entries()) {
      const callId = `reflect-${i + 1}@attacker`;
      const mine = answers.filter((r) => r.callId === callId);
      expect(mine.map((r) => r.status), name).toEqual([status, status]);
      // the retransmission got the very same answer (one for one), not a new challenge
      expect(mine[0]?.headers.get('proxy-authenticate'), name).toBe(mine[1]?.headers.get('proxy-authenticate'));
    }
    // nothing left that could retransmit later: every refusal's transaction ended when it was sent
    expect(g.transactions.size.server).toBe(0);
    expect(g.transactions.stats).toMatchObject({ answeredOnce: cases.length, answersRepeated: cases.length });
    const invitesIn = g.metrics.transport.count('in', 'udp', 'INVITE');
    const answersOut = g.metrics.transport.count('out', 'udp', '4xx') + g.metrics.transport.count('out', 'udp', '1xx');
    console.log(`reflection: ${invitesIn} INVITE datagrams in (maddr and sent-by naming another socket), ${answersOut} datagrams out (${(answersOut / invitesIn).toFixed(2)} per datagram in), 0 to the named address`);
    expect(answersOut).toBe(invitesIn);
  });

  it('the ACK of a refusal sent once is absorbed, and a banned source gets one 403 per INVITE too', async () => {
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', auth: { credentials: [{ username: 'pbx', password: 'Secret-pass-123' }] } }],
      security: { digest: { maxFailures: 1 } },
    });
    const g = gateway;
    const port = g.address('udp').port;
    const attacker = await peer();
    const victim = await peer();
    const challenge = reflectingInvite('demo.pstn.twilio.com', victim);
    await attacker.send(challenge, port, '127.0.0.1');
    const res407 = await attacker.waitForResponse(407);
    const nonce = /nonce="([^"]+)"/.exec(res407.headers.get('proxy-authenticate') ?? '')?.[1] ?? '';
    const ack = challenge.replace(/^INVITE /, 'ACK ').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace('Content-Length: 0', `Content-Length: 0`).replace(/(To: <[^>]+>)/, `$1;tag=${res407.toTag ?? ''}`);
    await attacker.send(ack, port, '127.0.0.1');
    await waitFor(() => g.transactions.stats.retransmissionsAbsorbed >= 1, { timeoutMs: 3000, what: 'the ACK to be absorbed' });
    expect(g.core.stats.strayAcks).toBe(0);
    // one wrong guess with that nonce bans the source (maxFailures 1); then every INVITE: one 403
    const guess = `Proxy-Authorization: Digest username="pbx", realm="sip.twilio.com", nonce="${nonce}", uri="sip:+14155550123@demo.pstn.twilio.com", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="c"`;
    await attacker.send(reflectingInvite('demo.pstn.twilio.com', victim, [guess]), port, '127.0.0.1');
    await attacker.waitForResponse(403);
    for (let i = 0; i < 5; i++) await attacker.send(reflectingInvite('demo.pstn.twilio.com', victim), port, '127.0.0.1');
    await attacker.waitForResponse(403, 6);
    // the two bans starting (the source, and the username), then each refusal while they last
    expect(g.alerts.counts.get(32216)).toBe(2 + 5);
    expect(g.alerts.counts.get(32202)).toBe(1);
    expect(g.transactions.size.server).toBe(0);
    await victim.send(
      `OPTIONS sip:demo.pstn.twilio.com SIP/2.0\r\nVia: SIP/2.0/UDP ${victim.hostPort};branch=z9hG4bK-barrier-${++seq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:v@127.0.0.1>;tag=v\r\nTo: <sip:demo.pstn.twilio.com>\r\nCall-ID: barrier@victim\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      port,
      '127.0.0.1',
    );
    await victim.waitForResponse(200);
    expect(victim.arrivals).toHaveLength(1);
    expect(attacker.responses.map((r) => r.status)).toEqual([407, 403, 403, 403, 403, 403, 403]);
  });
});
