/**
 * The interop suite: real SIP stacks nobody here wrote, around trunkgate, all
 * on loopback. baresip 1.0 is the phone (the PBX side) and the far-end UA;
 * Kamailio 5.6 is a record-routing SBC in front of trunkgate and a carrier
 * behind it (test/fixtures/kamailio/). Every case ends with no call up and no
 * lease released twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { type Baresip, type BaresipOptions, type TracedSip, startBaresip } from '../support/baresip.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { activeCalls, expectNoCallLeft, waitForActiveCalls } from '../support/gateway-calls.js';
import { type Kamailio, type KamailioOptions, startKamailio } from '../support/kamailio.js';
import { type TestCert, selfSignedCert } from '../support/tls-cert.js';

const CALLED = 'sip:+14155550123@demo.pstn.twilio.com';

let gateway: Gateway | undefined;
const running: Array<Baresip | Kamailio> = [];
let cert: TestCert | undefined;

async function phone(options: BaresipOptions): Promise<Baresip> {
  const ua = await startBaresip(options);
  running.push(ua);
  return ua;
}

async function proxy(options: KamailioOptions): Promise<Kamailio> {
  const k = await startKamailio(options);
  running.push(k);
  return k;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
  await gateway?.stop();
  gateway = undefined;
  cert?.remove();
  cert = undefined;
});

/** The messages of `ua`'s trace in one direction whose start line begins with `start` (and, for responses, whose CSeq method is `method`). */
function traced(ua: Baresip, direction: TracedSip['direction'], start: string, method?: string): TracedSip[] {
  return ua
    .sipTrace()
    .filter(
      (m) =>
        m.direction === direction &&
        m.startLine.startsWith(start) &&
        (method === undefined || new RegExp(`^CSeq:\\s*\\d+\\s+${method}\\s*$`, 'im').test(m.text)),
    );
}

/** `host:port` of the gateway's listener, as Kamailio logs a source. */
function gatewayAddress(g: Gateway, transport: 'udp' | 'tcp' = 'udp'): string {
  return sipTarget(g, transport);
}

describe('baresip → trunkgate (built-in PSTN emulator)', () => {
  it.each(['udp', 'tcp'] as const)(
    'basic call over %s: ringing, established, the phone hangs up, the call is released',
    async (transport) => {
      gateway = await startTestGateway({ pstn: { answerAfterMs: 200 } });
      const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway, transport)}${transport === 'tcp' ? ';transport=tcp' : ''}` });

      await ua.dial(CALLED);
      await ua.waitForEvent('CALL_RINGING');
      const up = await ua.waitForEvent('CALL_ESTABLISHED');
      expect(up.direction).toBe('outgoing');
      expect(activeCalls(gateway)).toBe(1);

      await ua.hangup();
      const closed = await ua.waitForEvent('CALL_CLOSED');
      expect(closed.param).toBe('Connection reset by user');
      await expectNoCallLeft(gateway);
      // the BYE went out over the chosen transport and trunkgate answered it
      expect(traced(ua, 'sent', 'BYE ').map((m) => m.transport)).toEqual([transport.toUpperCase()]);
      expect(traced(ua, 'received', 'SIP/2.0 200', 'BYE')).toHaveLength(1);
    },
  );

  it('busy number: the call closes with 486 Busy Here', async () => {
    gateway = await startTestGateway();
    const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway)}` });
    await ua.dial('sip:+15550004861@demo.pstn.twilio.com');
    const closed = await ua.waitForEvent('CALL_CLOSED');
    expect(closed.param).toBe('486 Busy Here');
    await expectNoCallLeft(gateway);
  });

  it.each([
    ['the right password', 'Secret-pass-123', 'CALL_ESTABLISHED'],
    ['a wrong password', 'not-the-password', 'CALL_CLOSED'],
  ] as const)('digest auth with %s: baresip answers the 407 challenge', async (_, password, outcome) => {
    const auth = { ipAcl: ['127.0.0.0/8'], credentials: [{ username: 'pbx', password: 'Secret-pass-123' }] };
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth, route: 'builtin' }] });
    const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway)}`, auth: { user: 'pbx', password } });
    await ua.dial(CALLED);
    const e = await ua.waitForEvent(['CALL_ESTABLISHED', 'CALL_CLOSED']);
    expect(e.type, e.param).toBe(outcome);
    if (outcome === 'CALL_CLOSED') expect(e.param).toBe('403 Forbidden');
    expect(traced(ua, 'received', 'SIP/2.0 407', 'INVITE')).toHaveLength(1);
    expect(traced(ua, 'sent', 'INVITE ').filter((m) => /^Proxy-Authorization:\s*Digest /im.test(m.text))).toHaveLength(1);
    if (outcome === 'CALL_ESTABLISHED') await ua.hangup();
    await expectNoCallLeft(gateway);
  });

  // RFC 3264 §6.1 and §8: a=sendonly (hold) is answered a=recvonly, the resume sendrecv again;
  // one o= session id for the call, its version up by one per changed answer.
  it('hold and resume: recvonly, then sendrecv, one o= session id with the version going up', async () => {
    gateway = await startTestGateway();
    const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway)}` });
    await ua.dial(CALLED);
    await ua.waitForEvent('CALL_ESTABLISHED');
    let before = ua.events.length;
    await ua.hold();
    await ua.waitForEvent('CALL_REMOTE_SDP', { from: before });
    expect(traced(ua, 'sent', 'INVITE ').at(1)?.text).toMatch(/^a=sendonly\r?$/m);
    before = ua.events.length;
    await ua.resume();
    await ua.waitForEvent('CALL_REMOTE_SDP', { from: before });
    expect(traced(ua, 'sent', 'INVITE ').at(2)?.text).toMatch(/^a=sendrecv\r?$/m);
    const answers = traced(ua, 'received', 'SIP/2.0 200', 'INVITE');
    expect(answers).toHaveLength(3);
    expect(answers.map((a) => /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(a.text)?.[1])).toEqual(['sendrecv', 'recvonly', 'sendrecv']);
    const origins = answers.map((a) => /^o=\S+ (\d+) (\d+) /m.exec(a.text)?.slice(1).map(Number));
    const [id, version] = origins[0] as [number, number];
    expect(origins).toEqual([
      [id, version],
      [id, version + 1],
      [id, version + 2],
    ]);
    await ua.hangup();
    await ua.waitForEvent('CALL_CLOSED');
    await expectNoCallLeft(gateway);
  });

  it('no answer: the phone gives up while it rings, CANCEL → 487, the call is released', async () => {
    gateway = await startTestGateway();
    const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway)}` });
    await ua.dial('sip:+15550004801@demo.pstn.twilio.com');
    await ua.waitForEvent('CALL_RINGING');
    expect(activeCalls(gateway)).toBe(1);
    await ua.hangup();
    await ua.waitForEvent('CALL_CLOSED');
    await expectNoCallLeft(gateway);
    expect(traced(ua, 'sent', 'CANCEL ')).toHaveLength(1);
    expect(traced(ua, 'received', 'SIP/2.0 487', 'INVITE')).toHaveLength(1);
    expect(gateway.b2bua.stats.ended.canceled).toBe(1);
  });

  it('the far end hangs up: trunkgate’s BYE ends the phone’s call', async () => {
    gateway = await startTestGateway({ pstn: { answerAfterMs: 0, rules: [{ number: '+1555000777*', behaviour: 'hangup-after', hangupAfterMs: 300 }] } });
    const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway)}` });
    await ua.dial('sip:+15550007770@demo.pstn.twilio.com');
    await ua.waitForEvent('CALL_ESTABLISHED');
    const closed = await ua.waitForEvent('CALL_CLOSED');
    expect(closed.param).toBe('Connection reset by peer');
    expect(traced(ua, 'received', 'BYE ')).toHaveLength(1);
    await expectNoCallLeft(gateway);
  });

  it('the CPS limit: the second call within a second gets 503 Trunk CPS limit exceeded', async () => {
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 1 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin' }] });
    const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway)}` });
    await ua.dial(CALLED);
    const first = await ua.waitForEvent('CALL_ESTABLISHED');
    const before = ua.events.length;
    await ua.dial('sip:+14155550124@demo.pstn.twilio.com');
    const refused = await ua.waitForEvent('CALL_CLOSED', { from: before });
    expect(refused.param).toBe('503 Trunk CPS limit exceeded');
    expect(refused.id).not.toBe(first.id);
    expect(gateway.alerts.counts.get(32001)).toBe(1);
    await ua.hangup();
    await ua.waitForEvent('CALL_CLOSED', { from: ua.events.length - 1 });
    await expectNoCallLeft(gateway);
  });

  it('over TLS to trunkgate’s tls:// listener (its self-signed certificate for loopback)', async () => {
    gateway = await startTestGateway({ sip: { listen: ['udp://127.0.0.1:0', 'tls://127.0.0.1:0'] } });
    const ua = await phone({ outboundProxy: `sip:${sipTarget(gateway, 'tls')};transport=tls` });
    await ua.dial(CALLED);
    await ua.waitForEvent('CALL_ESTABLISHED');
    expect(traced(ua, 'sent', 'INVITE ').map((m) => m.transport)).toEqual(['TLS']);
    const ok = traced(ua, 'received', 'SIP/2.0 200', 'INVITE')[0];
    expect(ok?.text).toMatch(/^Contact: <sip:trunkgate@127\.0\.0\.1:\d+;transport=tls>/im);
    await ua.hangup();
    await ua.waitForEvent('CALL_CLOSED');
    expect(traced(ua, 'received', 'SIP/2.0 200', 'BYE')).toHaveLength(1);
    expect(gateway.metrics.transport.count('in', 'tls', 'BYE')).toBe(1);
    await expectNoCallLeft(gateway);
  });

  it('over IPv6 to trunkgate’s [::1] listener', async () => {
    gateway = await startTestGateway({ sip: { listen: ['udp://[::1]:0', 'tcp://[::1]:0'] } });
    const ua = await phone({ host: '::1', outboundProxy: `sip:[::1]:${gateway.address('udp').port}` });
    await ua.dial(CALLED);
    await ua.waitForEvent('CALL_ESTABLISHED');
    const ok = traced(ua, 'received', 'SIP/2.0 200', 'INVITE')[0];
    expect(ok?.text).toMatch(/^Contact: <sip:trunkgate@\[::1\]:\d+>/im);
    expect(ok?.text).toMatch(/^c=IN IP[46] /m);
    await ua.hangup();
    await ua.waitForEvent('CALL_CLOSED');
    await expectNoCallLeft(gateway);
  });
});

describe('baresip → Kamailio SBC (record-routing) → trunkgate', () => {
  it.each(['udp', 'tcp', 'tls'] as const)(
    'phone on %s: the INVITE passes through the SBC, the call is established and released',
    async (transport) => {
      gateway = await startTestGateway();
      if (transport === 'tls') cert = selfSignedCert();
      const sbc = await proxy({
        config: 'sbc',
        defines: { NEXT_HOP: `sip:${sipTarget(gateway)}` },
        ...(cert !== undefined ? { tls: cert } : {}),
      });
      const ua = await phone({ outboundProxy: sbc.uri({ transport }) });

      await ua.dial(CALLED);
      await ua.waitForEvent('CALL_ESTABLISHED');
      const invites = sbc.requests('INVITE');
      expect(invites.map((t) => t.proto)).toEqual([transport]);
      expect(traced(ua, 'sent', 'INVITE ').map((m) => m.transport)).toEqual([transport.toUpperCase()]);
      expect(
        sbc.trace().some((t) => t.kind === 'rpl' && t.method === 'INVITE' && t.status === 200 && t.source === gatewayAddress(gateway!)),
      ).toBe(true);

      await ua.hangup();
      await ua.waitForEvent('CALL_CLOSED');
      await expectNoCallLeft(gateway);
    },
  );

  // RFC 3261 §12.1.1: the 2xx carries the INVITE's Record-Route, so the phone's
  // ACK and BYE go back through the SBC.
  it.each(['udp', 'tcp'] as const)('phone and trunkgate on %s: ACK and BYE follow the route set through the SBC', async (transport) => {
    gateway = await startTestGateway();
    const sbc = await proxy({ config: 'sbc', defines: { NEXT_HOP: `sip:${sipTarget(gateway, transport)}${transport === 'tcp' ? ';transport=tcp' : ''}` } });
    const ua = await phone({ outboundProxy: sbc.uri({ transport }) });

    await ua.dial(CALLED);
    await ua.waitForEvent('CALL_ESTABLISHED');
    await ua.hangup();
    await ua.waitForEvent('CALL_CLOSED');
    await expectNoCallLeft(gateway);

    const ok = traced(ua, 'received', 'SIP/2.0 200', 'INVITE')[0];
    expect(ok?.text).toMatch(/^Record-Route:.*sip:127\.0\.0\.1:\d+;.*lr/im);
    // only the phone sends ACK and BYE in this call (on TCP from an ephemeral port): both crossed the SBC
    expect(sbc.requests('ACK').map((t) => t.proto)).toEqual([transport]);
    expect(sbc.requests('BYE').map((t) => t.proto)).toEqual([transport]);
  });

  // The SBC takes an IPv6 phone to an IPv4 trunkgate (two Record-Routes, one per
  // side): the ::1-only phone reaches trunkgate's IPv4 Contact only through them.
  it('IPv6 phone, IPv4 trunkgate: the call is established and ACK and BYE pass through the SBC', async () => {
    gateway = await startTestGateway();
    const sbc = await proxy({ config: 'sbc', hosts: ['::1', '127.0.0.1'], defines: { NEXT_HOP: `sip:${sipTarget(gateway)}` } });
    const ua = await phone({ host: '::1', outboundProxy: sbc.uri({ host: '::1' }) });

    await ua.dial(CALLED);
    const outcome = await ua.waitForEvent(['CALL_ESTABLISHED', 'CALL_CLOSED']);
    expect(sbc.requests('INVITE', `[::1]:${ua.sipPort}`)).toHaveLength(1);
    expect(outcome.type, outcome.param).toBe('CALL_ESTABLISHED');
    await sbc.waitForTrace((t) => t.some((x) => x.kind === 'req' && x.method === 'ACK'), { what: 'the ACK at the SBC', timeoutMs: 3000 });
    await ua.hangup();
    await sbc.waitForTrace((t) => t.some((x) => x.kind === 'req' && x.method === 'BYE'), { what: 'the BYE at the SBC', timeoutMs: 3000 });
    await expectNoCallLeft(gateway);
  });
});

describe('trunkgate → Kamailio carrier (record-routing) → baresip', () => {
  async function carrierCall(): Promise<{ g: Gateway; caller: Baresip; far: Baresip; carrier: Kamailio }> {
    const far = await phone({ user: 'far', answerMode: 'auto' });
    const carrier = await proxy({ config: 'carrier', defines: { FAR_END: far.contact } });
    const g = await startTestGateway({
      trunks: [
        { name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8', '::1/128'] }, route: carrier.uri() },
      ],
    });
    gateway = g;
    const caller = await phone({ outboundProxy: `sip:${sipTarget(g)}` });
    await caller.dial(CALLED);
    await caller.waitForEvent('CALL_ESTABLISHED');
    const answered = await far.waitForEvent('CALL_ESTABLISHED');
    expect(answered.direction).toBe('incoming');
    await waitForActiveCalls(g, 1);
    // trunkgate honours the carrier's Record-Route: its ACK goes through Kamailio
    await carrier.waitForTrace((t) => t.some((x) => x.kind === 'req' && x.method === 'ACK' && x.source === gatewayAddress(g)), {
      what: "trunkgate's ACK at the carrier",
    });
    return { g, caller, far, carrier };
  }

  it('the caller hangs up: BYE from trunkgate through the carrier to the far end', async () => {
    const { g, caller, far, carrier } = await carrierCall();
    await caller.hangup();
    const closed = await far.waitForEvent('CALL_CLOSED');
    expect(closed.param).toBe('Connection reset by peer');
    expect(carrier.requests('BYE', gatewayAddress(g))).toHaveLength(1);
    expect(carrier.trace().some((t) => t.kind === 'rpl' && t.method === 'BYE' && t.status === 200)).toBe(true);
    await expectNoCallLeft(g);
  });

  it('the far end hangs up: BYE through the carrier to trunkgate, then to the caller', async () => {
    const { g, caller, far, carrier } = await carrierCall();
    await far.hangup();
    const closed = await caller.waitForEvent('CALL_CLOSED');
    expect(closed.param).toBe('Connection reset by peer');
    expect(carrier.requests('BYE', `127.0.0.1:${far.sipPort}`)).toHaveLength(1);
    expect(traced(caller, 'received', 'BYE ')).toHaveLength(1);
    await expectNoCallLeft(g);
  });
});

describe('trunkgate → baresip as the carrier', () => {
  async function carrierCall(transport: 'udp' | 'tcp'): Promise<{ g: Gateway; caller: Baresip; far: Baresip }> {
    // the carrier leg's Request-URI is sip:<called number>@carrier: baresip takes calls to its own user only
    const far = await phone({ user: '+14155550123', answerMode: 'auto' });
    const g = await startTestGateway({
      trunks: [
        { name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8', '::1/128'] }, route: `sip:127.0.0.1:${far.sipPort}${transport === 'tcp' ? ';transport=tcp' : ''}` },
      ],
    });
    gateway = g;
    const caller = await phone({ outboundProxy: `sip:${sipTarget(g)}` });
    await caller.dial(CALLED);
    await caller.waitForEvent('CALL_ESTABLISHED');
    const answered = await far.waitForEvent('CALL_ESTABLISHED');
    expect(answered.direction).toBe('incoming');
    expect(traced(far, 'received', 'INVITE ').map((m) => m.transport)).toEqual([transport.toUpperCase()]);
    await waitForActiveCalls(g, 1);
    return { g, caller, far };
  }

  it.each(['udp', 'tcp'] as const)('over %s, the caller hangs up: trunkgate BYEs the carrier', async (transport) => {
    const { g, caller, far } = await carrierCall(transport);
    await caller.hangup();
    const closed = await far.waitForEvent('CALL_CLOSED');
    expect(closed.param).toBe('Connection reset by peer');
    await expectNoCallLeft(g);
  });

  it.each(['udp', 'tcp'] as const)('over %s, the carrier hangs up: its BYE ends the caller’s call', async (transport) => {
    const { g, caller, far } = await carrierCall(transport);
    await far.hangup();
    const closed = await caller.waitForEvent('CALL_CLOSED');
    expect(closed.param).toBe('Connection reset by peer');
    expect(g.b2bua.stats.ended.answered).toBe(1);
    await expectNoCallLeft(g);
  });
});
