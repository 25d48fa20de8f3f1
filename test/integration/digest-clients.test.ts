/**
 * Real clients against the hardened digest (issue 12): baresip 1.0 and SIPp
 * 3.6 (Debian 12) authenticate with the default challenge (one MD5
 * Proxy-Authenticate); a wrong password is refused. With RFC 8760's two
 * challenges (SHA-256 first, then MD5) neither of them gets through: baresip's
 * libre 1.1 gives up on any SHA-256 challenge ("Function not implemented"),
 * SIPp 3.6 reads the first algorithm= of the challenges together and stops.
 * That is why `security.digest.algorithms` is ["MD5"] by default; a client
 * that does RFC 8760 (here: the test's own) gets through with SHA-256.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { SipResponse } from '../../src/sip/message/index.js';
import { type Baresip, startBaresip } from '../support/baresip.js';
import { challengeParams, proxyAuthorization } from '../support/digest-client.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { expectAllReleased } from '../support/assertions.js';
import { UdpPeer } from '../support/sip-peers.js';
import { runSipp } from '../support/sipp.js';

const PASSWORD = 'Secret-pass-123';
const CALLED = 'sip:+14155550123@demo.pstn.twilio.com';
const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;

let gateway: Gateway | undefined;
const phones: Baresip[] = [];

afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.stop()));
  await gateway?.stop();
  gateway = undefined;
});

async function withCredentials(algorithms?: string[]): Promise<Gateway> {
  gateway = await startTestGateway({
    trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { credentials: [{ username: 'pbx', password: PASSWORD }] }, route: 'builtin' }],
    ...(algorithms === undefined ? {} : { security: { digest: { algorithms } } }),
  });
  return gateway;
}

async function phone(g: Gateway, password: string): Promise<Baresip> {
  const ua = await startBaresip({ outboundProxy: `sip:${sipTarget(g)}`, auth: { user: 'pbx', password }, maxSeconds: 60 });
  phones.push(ua);
  return ua;
}

function received407s(ua: Baresip): string[] {
  return ua.sipTrace().filter((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 407'))
    .map((m) => m.text);
}

describe('baresip 1.0 (libre 1.1)', () => {
  it('the right password: the 407 is answered and the call is set up; the digest uri is the Request-URI', async () => {
    const g = await withCredentials();
    const ua = await phone(g, PASSWORD);
    await ua.dial(CALLED);
    const e = await ua.waitForEvent(['CALL_ESTABLISHED', 'CALL_CLOSED']);
    expect(e.type, e.param).toBe('CALL_ESTABLISHED');
    expect(received407s(ua)).toHaveLength(1);
    const answer = ua.sipTrace().find((m) => m.direction === 'sent' && /^Proxy-Authorization:/im.test(m.text));
    expect(answer?.text).toMatch(new RegExp(`uri="${CALLED.replace(/[+.]/g, '\\$&')}"`));
    await ua.hangup();
    await ua.waitForEvent('CALL_CLOSED');
    expect(g.auth.stats.failures).toBe(0);
    await expectAllReleased(g);
  });

  it('a wrong password: 403 Forbidden, one failure counted toward the ban', async () => {
    const g = await withCredentials();
    const ua = await phone(g, 'not-the-password');
    await ua.dial(CALLED);
    const e = await ua.waitForEvent(['CALL_ESTABLISHED', 'CALL_CLOSED']);
    expect([e.type, e.param]).toEqual(['CALL_CLOSED', '403 Forbidden']);
    expect(g.alerts.counts.get(32202)).toBe(1);
    expect(g.auth.stats.failures).toBe(1);
    expect(g.b2bua.stats.started).toBe(0);
  });

  it('offered SHA-256 first and MD5 (RFC 8760): baresip 1.0 gives up on the SHA-256 challenge', async () => {
    const g = await withCredentials(['SHA-256', 'MD5']);
    const ua = await phone(g, PASSWORD);
    await ua.dial(CALLED);
    const e = await ua.waitForEvent(['CALL_ESTABLISHED', 'CALL_CLOSED']);
    expect([e.type, e.param]).toEqual(['CALL_CLOSED', 'Function not implemented']);
    const [challenge] = received407s(ua);
    expect(challenge?.match(/^Proxy-Authenticate:.*algorithm=([A-Z0-9-]+)/gim)?.map((l) => /algorithm=([A-Z0-9-]+)/.exec(l)?.[1])).toEqual(['SHA-256', 'MD5']);
  });
});

describe('SIPp 3.6 [authentication]', () => {
  it('offered SHA-256 first and MD5: SIPp 3.6 reads the first algorithm (SHA-256) and stops', async () => {
    const g = await withCredentials(['SHA-256', 'MD5']);
    const r = await runSipp({
      scenario: PACK + 'digest-auth.xml',
      target: sipTarget(g),
      called: '+14155550123',
      calls: 1,
      extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com', '-auth_uri', '+14155550123@demo.pstn.twilio.com', '-au', 'pbx', '-ap', PASSWORD],
    });
    expect(r.successful).toBe(0);
    expect(`${r.stderr}${r.stdout}`).toContain('authentication must use MD5 or AKAv1-MD5');
  });

  it('without -auth_uri SIPp signs sip:<gateway IP>:<port>: refused by default, taken with requireUriMatch: false', async () => {
    for (const requireUriMatch of [true, false]) {
      gateway = await startTestGateway({
        trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { credentials: [{ username: 'pbx', password: PASSWORD }] } }],
        security: { digest: { requireUriMatch } },
      });
      const r = await runSipp({
        scenario: PACK + 'digest-auth.xml',
        target: sipTarget(gateway),
        called: '+14155550123',
        calls: 2,
        rate: 10,
        traceCounts: true,
        extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com', '-au', 'pbx', '-ap', PASSWORD],
      });
      expect(r.failed, r.errorLog).toBe(0);
      expect(gateway.b2bua.stats.ended.answered, `requireUriMatch: ${requireUriMatch}`).toBe(requireUriMatch ? 0 : 2);
      expect(gateway.alerts.counts.get(32202) ?? 0).toBe(requireUriMatch ? 2 : 0);
      await expectAllReleased(gateway);
      await gateway.stop();
      gateway = undefined;
    }
  });
});

describe('an RFC 8760 client (the test’s own, test/support/digest-client.ts)', () => {
  it('answers the SHA-256 challenge and is admitted; an MD5 answer is refused when only SHA-256 is offered', async () => {
    const g = await withCredentials(['SHA-256']);
    const peer = await UdpPeer.open('127.0.0.1');
    try {
      let n = 0;
      const invite = async (extra: string[] = []): Promise<SipResponse> => {
        n++;
        const ruri = 'sip:+15550004861@demo.pstn.twilio.com'; // the emulator's busy number: 486 once admitted
        const text = [
          `INVITE ${ruri} SIP/2.0`,
          `Via: SIP/2.0/UDP ${peer.hostPort};branch=z9hG4bK-sha-${n};rport`,
          'Max-Forwards: 70',
          `From: <sip:+14155550100@127.0.0.1>;tag=s${n}`,
          `To: <${ruri}>`,
          `Call-ID: sha-${n}@pbx`,
          'CSeq: 1 INVITE',
          ...extra,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        await peer.send(text, g.address('udp').port, '127.0.0.1');
        return peer.waitFor((m): m is SipResponse => !m.isRequest && m.callId === `sha-${n}@pbx` && m.status >= 200, 1, `the answer to #${n}`);
      };
      const answer = async (algorithm: 'SHA-256' | 'MD5'): Promise<number> => {
        const c407 = await invite();
        expect(c407.status).toBe(407);
        expect(c407.headers.getAll('proxy-authenticate')).toHaveLength(1);
        const { nonce, opaque } = challengeParams(c407.headers.get('proxy-authenticate') ?? '');
        const auth = proxyAuthorization({ username: 'pbx', password: PASSWORD, realm: 'sip.twilio.com', method: 'INVITE', uri: 'sip:+15550004861@demo.pstn.twilio.com', nonce, opaque, algorithm, qop: 'auth', nc: 1 });
        return (await invite([`Proxy-Authorization: ${auth}`])).status;
      };
      expect(await answer('SHA-256')).toBe(486);
      expect(await answer('MD5')).toBe(403);
    } finally {
      await peer.close();
    }
  });
});
