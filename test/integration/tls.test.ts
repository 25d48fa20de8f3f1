/**
 * SIP over TLS and secure trunking (SPEC §9): a tls:// listener with the
 * self-signed certificate trunkgate makes for loopback, real TLS peers
 * (stunnel carrying SIPp's traffic — this Debian SIPp has no TLS of its own —
 * and baresip in the interop suite), a TLS carrier whose certificate is
 * checked, and a secure trunk's refusals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { type PbxScenario, pbxScenario } from '../support/scenarios.js';
import { type SippResult, runSipp, startSipp } from '../support/sipp.js';
import { type Stunnel, startStunnel } from '../support/stunnel.js';
import { type TestCert, selfSignedCert } from '../support/tls-cert.js';

const ACL = { ipAcl: ['127.0.0.0/8', '::1/128'] };
const LISTEN = ['udp://127.0.0.1:0', 'tcp://127.0.0.1:0', 'tls://127.0.0.1:0'];

let gateway: Gateway | undefined;
const tunnels: Stunnel[] = [];
let cert: TestCert | undefined;

afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((t) => t.stop()));
  await gateway?.stop();
  gateway = undefined;
  cert?.remove();
  cert = undefined;
});

async function tunnel(options: Parameters<typeof startStunnel>[0]): Promise<Stunnel> {
  const t = await startStunnel(options);
  tunnels.push(t);
  return t;
}

/** A PBX whose calls reach the gateway's tls:// listener through stunnel. */
async function overTls(g: Gateway, scenario: PbxScenario, calls = 1): Promise<SippResult> {
  const t = await tunnel({ mode: 'client', connect: sipTarget(g, 'tls') });
  return runSipp({ scenario: pbxScenario(scenario), target: `127.0.0.1:${t.port}`, transport: 't1', calls, rate: 20, timeoutSeconds: 30 });
}

describe('a tls:// listener', () => {
  it('takes calls over TLS 1.2+ with the self-signed certificate made at start for loopback', async () => {
    gateway = await startTestGateway({ sip: { listen: LISTEN } });
    const g = gateway;
    const r = await overTls(g, { number: '+14155550123', final: 200, finalMustMatch: [{ header: 'Contact', regexp: 'transport=tls' }] }, 20);
    expectSippSucceeded(r, 20);
    expect(g.metrics.transport.count('in', 'tls', 'INVITE')).toBe(20);
    expect(g.metrics.transport.count('out', 'tls', '2xx')).toBeGreaterThanOrEqual(40); // the INVITEs' and the BYEs' 200s
    expect(g.metrics.transport.connectionEvents('tls', 'accepted')).toBeGreaterThanOrEqual(1);
    await expectAllReleased(g);
  });

  it('a sips: Request-URI gets a sips: Contact (RFC 3261 §8.1.1.8)', async () => {
    gateway = await startTestGateway({ sip: { listen: LISTEN } });
    const r = await overTls(gateway, {
      number: '+14155550123',
      final: 200,
      headers: [],
      finalMustMatch: [{ header: 'Contact', regexp: '^ *.sips:trunkgate@127[.]0[.]0[.]1:[0-9]+.$' }],
      sipsUri: true,
    });
    expectSippSucceeded(r, 1);
    await expectAllReleased(gateway);
  });
});

describe('a TLS carrier (route sip:HOST:PORT;transport=tls)', () => {
  async function carrierBehindTls(verifyCarriers: boolean, ca: boolean): Promise<{ g: Gateway; done: Promise<SippResult> }> {
    cert = selfSignedCert();
    const carrier = await startSipp({ scenario: 'uas', transport: 't1', calls: 1, timeoutSeconds: 30 });
    const t = await tunnel({ mode: 'server', connect: `127.0.0.1:${carrier.localPort}`, cert: cert.cert, key: cert.key });
    gateway = await startTestGateway({
      sip: { listen: LISTEN, tls: { verifyCarriers, ca: ca ? cert.cert : null } },
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100 }, auth: ACL, route: `sip:127.0.0.1:${t.port};transport=tls` }],
    });
    return { g: gateway, done: carrier.done };
  }

  it('with its certificate trusted (sip.tls.ca): the call completes over TLS', async () => {
    const { g, done } = await carrierBehindTls(true, true);
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200 }), target: sipTarget(g), calls: 1 });
    expectSippSucceeded(r, 1);
    expect((await done).successful).toBe(1);
    expect(g.metrics.transport.count('out', 'tls', 'INVITE')).toBe(1);
    await expectAllReleased(g);
  });

  it('with checks on and the certificate not trusted: the handshake fails, the PBX gets 503, nothing leaks', async () => {
    const { g } = await carrierBehindTls(true, false);
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 503 }), target: sipTarget(g), calls: 1 });
    expectSippSucceeded(r, 1);
    expect(g.metrics.transport.count('out', 'tls', 'INVITE')).toBe(1);
    await expectAllReleased(g);
  });

  it('with checks off (sip.tls.verifyCarriers: false, a lab carrier): the call completes', async () => {
    const { g, done } = await carrierBehindTls(false, false);
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200 }), target: sipTarget(g), calls: 1 });
    expectSippSucceeded(r, 1);
    expect((await done).successful).toBe(1);
    await expectAllReleased(g);
  });
});

describe('a secure trunk (trunks[].secure)', () => {
  const secure = { trunks: [{ name: 'demo', account: 'demo', cps: { default: 100 }, auth: ACL, route: 'builtin', secure: true }] };

  it('over TLS with SRTP offered: admitted, and the emulator answers SRTP with SRTP', async () => {
    gateway = await startTestGateway({ sip: { listen: LISTEN }, ...secure });
    const r = await overTls(gateway, { number: '+14155550123', final: 200, srtp: true, finalBodyMatch: 'm=audio [0-9]+ RTP/SAVP 0' });
    expectSippSucceeded(r, 1);
    await expectAllReleased(gateway);
  });

  it('a late offer over TLS: the emulator offers SRTP in its 200', async () => {
    gateway = await startTestGateway({ sip: { listen: LISTEN }, ...secure });
    const r = await overTls(gateway, { number: '+14155550123', offer: [], final: 200, finalBodyMatch: 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' });
    expectSippSucceeded(r, 1);
    await expectAllReleased(gateway);
  });

  it('over UDP: 403 Forbidden, alert 32209 (transport first, even with SRTP offered)', async () => {
    gateway = await startTestGateway({ sip: { listen: LISTEN }, ...secure });
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 403, finalReason: 'Forbidden', srtp: true }), target: sipTarget(gateway), calls: 1 });
    expectSippSucceeded(r, 1);
    expect(gateway.alerts.counts.get(32209)).toBe(1);
    await expectAllReleased(gateway);
  });

  it('over TLS with plain RTP: 488 Not Acceptable Here, alert 32208', async () => {
    gateway = await startTestGateway({ sip: { listen: LISTEN }, ...secure });
    const r = await overTls(gateway, { number: '+14155550123', final: 488, finalReason: 'Not Acceptable Here' });
    expectSippSucceeded(r, 1);
    expect(gateway.alerts.counts.get(32208)).toBe(1);
    await expectAllReleased(gateway);
  });

  it('a trunk that is not secure refuses an SRTP offer: 488, alert 32207', async () => {
    gateway = await startTestGateway();
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 488, finalReason: 'Not Acceptable Here', srtp: true }), target: sipTarget(gateway), calls: 1 });
    expectSippSucceeded(r, 1);
    expect(gateway.alerts.counts.get(32207)).toBe(1);
    await expectAllReleased(gateway);
  });
});

