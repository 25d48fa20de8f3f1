/**
 * Calls end to end (issue: the B2BUA, the PSTN emulator, carrier routing and
 * leases released on every path): the PBX is real SIPp, the far leg is the
 * built-in emulator or a SIPp carrier. After every scenario: active calls
 * back to 0 (with a deadline) and no double release.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { type PbxScenario, pbxScenario } from '../support/scenarios.js';
import { type SippResult, freePort, runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});


async function runPbx(g: Gateway, scenario: PbxScenario, options: { calls?: number; rate?: number; transport?: 'udp' | 'tcp'; noRetrans?: boolean } = {}): Promise<SippResult> {
  const transport = options.transport ?? 'udp';
  return runSipp({
    scenario: pbxScenario(scenario),
    target: sipTarget(g, transport),
    transport: transport === 'tcp' ? 't1' : 'u1',
    calls: options.calls ?? 1,
    rate: options.rate ?? 10,
    timeoutSeconds: 40,
    extraArgs: options.noRetrans ? ['-nr'] : [],
  });
}


describe('built-in PSTN emulator', () => {
  it.each(['udp', 'tcp'] as const)('basic call, caller hangs up (%s): answered, BYE relayed, lease released', async (transport) => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, { number: '+14155550123', final: 200, requireProvisional: [100, 180], then: { kind: 'bye', afterMs: 200 } }, { calls: 20, rate: 20, transport });
    expectSippSucceeded(r, 20);
    expect(gateway.b2bua.stats.ended.answered).toBe(20);
    await expectAllReleased(gateway);
  });

  it('callee hangs up (hangup-after): the gateway sends BYE to the PBX', async () => {
    gateway = await startTestGateway({ pstn: { answerAfterMs: 0, rules: [{ number: '+1415555*', behaviour: 'hangup-after', hangupAfterMs: 300 }] } });
    const r = await runPbx(gateway, { number: '+14155550123', final: 200, then: { kind: 'wait-bye' } }, { calls: 10, rate: 10 });
    expectSippSucceeded(r, 10);
    expect(gateway.b2bua.stats.ended.answered).toBe(10);
    expect(gateway.emulator.stats.hungUp).toBe(10);
    await expectAllReleased(gateway);
  });

  it('busy: 486 Busy Here relayed, ACKed, lease released', async () => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, { number: '+15550004861', final: 486, finalReason: 'Busy Here' }, { calls: 10, rate: 10 });
    expectSippSucceeded(r, 10);
    expect(gateway.b2bua.stats.ended.busy).toBe(10);
    await expectAllReleased(gateway);
  });

  it('reject rule: the configured status (503) is relayed', async () => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, { number: '+15550005031', final: 503 }, { calls: 5, rate: 10 });
    expectSippSucceeded(r, 5);
    expect(gateway.b2bua.stats.ended.failed).toBe(5);
    await expectAllReleased(gateway);
  });

  it('CANCEL while ringing: 200 to the CANCEL, 487 to the INVITE, lease released', async () => {
    gateway = await startTestGateway({ pstn: { answerAfterMs: 5000 } });
    const r = await runPbx(gateway, { number: '+14155550123', final: 487, requireProvisional: [180], cancelAfterMs: 200 }, { calls: 10, rate: 10 });
    expectSippSucceeded(r, 10);
    expect(gateway.b2bua.stats.ended.canceled).toBe(10);
    await expectAllReleased(gateway);
  });

  it('no-answer cancelled by the caller', async () => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, { number: '+15550004801', final: 487, requireProvisional: [180], cancelAfterMs: 300 }, { calls: 5, rate: 10 });
    expectSippSucceeded(r, 5);
    expect(gateway.b2bua.stats.ended.canceled).toBe(5);
    await expectAllReleased(gateway);
  });

  it('no-answer until ringTimeoutMs: 480 Temporarily Unavailable', async () => {
    gateway = await startTestGateway({ pstn: { ringTimeoutMs: 500 } });
    const r = await runPbx(gateway, { number: '+15550004801', final: 480, finalReason: 'Temporarily Unavailable', requireProvisional: [180] }, { calls: 5, rate: 10 });
    expectSippSucceeded(r, 5);
    expect(gateway.b2bua.stats.ended.no_answer).toBe(5);
    await expectAllReleased(gateway);
  });

  it('BYE glare: both sides send BYE at once; each gets 200 and the lease is released once', async () => {
    gateway = await startTestGateway({ pstn: { answerAfterMs: 0, rules: [{ number: '+1415555*', behaviour: 'hangup-after', hangupAfterMs: 200 }] } });
    const r = await runPbx(gateway, { number: '+14155550123', final: 200, then: { kind: 'glare' } }, { calls: 10, rate: 10, noRetrans: true });
    expectSippSucceeded(r, 10);
    expect(gateway.b2bua.stats.ended.answered).toBe(10);
    await expectAllReleased(gateway);
  });

  it('ACK never sent: after 64·T1 the gateway BYEs the PBX, raises alert 32022, releases the lease', async () => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, { number: '+14155550123', final: 200, then: { kind: 'no-ack' } }, { calls: 3, rate: 10 });
    expectSippSucceeded(r, 3);
    expect(gateway.b2bua.stats.ended.timeout).toBe(3);
    expect(gateway.alerts.counts.get(32022)).toBe(3);
    await expectAllReleased(gateway);
  });

  it('maximum call duration (config): BYE both legs, alert 32015', async () => {
    gateway = await startTestGateway({ accounts: [{ name: 'demo', type: 'business-pcp', limits: { maxCallDurationSeconds: 0.5 } }] });
    const r = await runPbx(gateway, { number: '+14155550123', final: 200, then: { kind: 'wait-bye' } }, { calls: 5, rate: 10 });
    expectSippSucceeded(r, 5);
    expect(gateway.b2bua.stats.ended.max_duration).toBe(5);
    expect(gateway.alerts.counts.get(32015)).toBe(5);
    await expectAllReleased(gateway);
  });

  it('early media: 183 Session Progress with SDP, then 200', async () => {
    gateway = await startTestGateway({ pstn: { answerAfterMs: 100, earlyMedia: true } });
    const r = await runPbx(gateway, { number: '+14155550123', final: 200, requireProvisional: [183] }, { calls: 3, rate: 10 });
    expectSippSucceeded(r, 3);
    await expectAllReleased(gateway);
  });

  it.each([
    [[8, 0], 'PCMA'],
    [[0, 8], 'PCMU'],
    [[18, 8, 0], 'PCMA'],
  ])('the SDP answer takes the first offered PCMU/PCMA (offer %j → %s)', async (offer, codec) => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, { number: '+14155550123', offer, final: 200, finalBodyMatch: `a=rtpmap:[0-9]+ ${codec}/8000` });
    expectSippSucceeded(r, 1);
    await expectAllReleased(gateway);
  });

  it.each(['+16504894546', '+14154758378', '+441618508378', '+551940422255'])("the provider's test number %s answers", async (number) => {
    // the UK and Brazil numbers need the account's geo permissions for +44 and +55
    const accounts = [{ name: 'demo', type: 'business-pcp', geoPermissions: ['1', '44', '55'] }];
    // a catch-all rule does not touch the provider's test numbers: they answer …
    gateway = await startTestGateway({ accounts, pstn: { answerAfterMs: 0, rules: [{ number: '*', behaviour: 'busy' }] } });
    const ok = await runPbx(gateway, { number, final: 200 });
    expectSippSucceeded(ok, 1);
    // … while the rule does apply to other numbers
    const other = await runPbx(gateway, { number: '+14155550123', final: 486 });
    expectSippSucceeded(other, 1);
    await expectAllReleased(gateway);
    await gateway.stop();
    // only a rule naming the test number itself changes it
    gateway = await startTestGateway({ accounts, pstn: { answerAfterMs: 0, rules: [{ number, behaviour: 'busy' }] } });
    const busy = await runPbx(gateway, { number, final: 486 });
    expectSippSucceeded(busy, 1);
    await expectAllReleased(gateway);
  });
});

describe('protocol rules at the front door', () => {
  it('Require: 100rel gets 420 Bad Extension with Unsupported: 100rel, and takes no lease', async () => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, {
      number: '+14155550123',
      headers: ['Require: 100rel'],
      final: 420,
      finalReason: 'Bad Extension',
      finalMustMatch: [{ header: 'Unsupported', regexp: '100rel' }],
    });
    expectSippSucceeded(r, 1);
    expect(gateway.tracker.issued).toBe(0);
  });

  it('Supported: timer is not echoed towards the PBX', async () => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, {
      number: '+14155550123',
      headers: ['Supported: timer, replaces', 'Session-Expires: 1800'],
      final: 200,
      finalMustNotMatch: [
        { header: 'Supported', regexp: 'timer' },
        { header: 'Require', regexp: 'timer' },
        { header: 'Session-Expires', regexp: '.' },
      ],
    });
    expectSippSucceeded(r, 1);
    await expectAllReleased(gateway);
  });

  it('re-INVITE, UPDATE and INFO in the call are answered through the far leg; unknown in-dialog methods get 501', async () => {
    gateway = await startTestGateway();
    const r = await runPbx(gateway, {
      number: '+14155550123',
      final: 200,
      then: { kind: 'in-dialog', methods: ['INVITE', 'UPDATE', 'INFO', 'OPTIONS', 'NOTIFY'], expect: [200, 200, 200, 200, 501] },
    });
    expectSippSucceeded(r, 1);
    await expectAllReleased(gateway);
  });
});

const SCENARIOS = new URL('../scenarios/', import.meta.url).pathname;

describe('carrier route (SIPp as the downstream carrier)', () => {
  async function withCarrier(scenario: string, calls: number, transport: 'udp' | 'tcp' = 'udp', extra: Record<string, unknown> = {}, trunkExtra: Record<string, unknown> = {}) {
    const carrier = await startSipp({
      scenario: scenario === 'uas' ? 'uas' : SCENARIOS + scenario,
      transport: transport === 'tcp' ? 't1' : 'u1',
      calls,
      timeoutSeconds: 40,
    });
    const route = `sip:127.0.0.1:${carrier.localPort}${transport === 'tcp' ? ';transport=tcp' : ''}`;
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route, ...trunkExtra }],
      ...extra,
    });
    return carrier;
  }

  it.each(['udp', 'tcp'] as const)('calls complete through SIPp uas as the carrier (%s)', async (transport) => {
    const carrier = await withCarrier('uas', 20, transport);
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', final: 200, requireProvisional: [180], then: { kind: 'bye', afterMs: 100 } }, { calls: 20, rate: 20, transport });
    expectSippSucceeded(r, 20);
    const c = await carrier.done;
    expect(c.successful, c.errorLog).toBe(20);
    expect(g.b2bua.stats.ended.answered).toBe(20);
    await expectAllReleased(g);
  });

  it('the carrier hangs up: BYE relayed to the PBX', async () => {
    const carrier = await withCarrier('carrier-hangup.xml', 5);
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', final: 200, then: { kind: 'wait-bye' } }, { calls: 5, rate: 10 });
    expectSippSucceeded(r, 5);
    expect((await carrier.done).successful).toBe(5);
    await expectAllReleased(g);
  });

  it("the carrier's session timers do not reach the PBX", async () => {
    const carrier = await withCarrier('carrier-answer-timer.xml', 1);
    const g = gateway as Gateway;
    const r = await runPbx(g, {
      number: '+14155550123',
      final: 200,
      finalMustNotMatch: [
        { header: 'Supported', regexp: 'timer' },
        { header: 'Require', regexp: 'timer' },
        { header: 'Session-Expires', regexp: '.' },
      ],
      finalMustMatch: [{ header: 'Supported', regexp: 'replaces' }],
    });
    expectSippSucceeded(r, 1);
    expect((await carrier.done).successful).toBe(1);
    await expectAllReleased(g);
  });

  it('CANCEL while ringing: the carrier leg is cancelled, then 487 to the PBX', async () => {
    const carrier = await withCarrier('carrier-cancel.xml', 5);
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', final: 487, requireProvisional: [180], cancelAfterMs: 200 }, { calls: 5, rate: 10 });
    expectSippSucceeded(r, 5);
    const c = await carrier.done;
    expect(c.successful, c.errorLog).toBe(5);
    expect(g.b2bua.stats.ended.canceled).toBe(5);
    await expectAllReleased(g);
  });

  it('re-INVITE, UPDATE and INFO are relayed to the carrier', async () => {
    const carrier = await withCarrier('carrier-in-dialog.xml', 1);
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', final: 200, then: { kind: 'in-dialog', methods: ['INVITE', 'UPDATE', 'INFO'], expect: [200, 200, 200] } });
    expectSippSucceeded(r, 1);
    const c = await carrier.done;
    expect(c.successful, c.errorLog).toBe(1);
    await expectAllReleased(g);
  });

  it('late offer: the carrier’s 200 carries the offer to the PBX, and the carrier’s ACK carries the PBX’s answer', async () => {
    const carrier = await withCarrier('carrier-late-offer.xml', 3);
    const g = gateway as Gateway;
    const r = await runPbx(g, {
      number: '+14155550123',
      offer: [],
      final: 200,
      finalBodyMatch: 'm=audio [0-9]+ RTP/AVP 8 0',
      ackAnswer: 8,
      then: { kind: 'bye', afterMs: 300 },
    }, { calls: 3, rate: 10 });
    expectSippSucceeded(r, 3);
    const c = await carrier.done;
    expect(c.successful, c.errorLog).toBe(3);
    await expectAllReleased(g);
  });

  it('late offer, the PBX never ACKs: after 64·T1 both legs are torn down (32022), the carrier ACKed then BYEd', async () => {
    const carrier = await withCarrier('carrier-late-offer-no-ack.xml', 1);
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', offer: [], final: 200, then: { kind: 'no-ack' } });
    expectSippSucceeded(r, 1);
    const c = await carrier.done;
    expect(c.successful, c.errorLog).toBe(1);
    expect(g.alerts.counts.get(32022)).toBe(1);
    expect(g.b2bua.stats.ended.timeout).toBe(1);
    await expectAllReleased(g);
  });

  it('ring timeout (Timer C, trunks[].ringTimeoutMs): the ringing carrier is cancelled, the PBX gets 408, the lease is released', async () => {
    const carrier = await withCarrier('carrier-cancel.xml', 1, 'udp', {}, { ringTimeoutMs: 1000 });
    const g = gateway as Gateway;
    const started = Date.now();
    const r = await runPbx(g, { number: '+14155550123', final: 408, finalReason: 'Request Timeout', requireProvisional: [180] });
    expectSippSucceeded(r, 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const c = await carrier.done;
    expect(c.successful, c.errorLog).toBe(1);
    expect(g.b2bua.stats.ended.no_answer).toBe(1);
    await expectAllReleased(g);
  });

  it('a carrier that rings forever and ignores the CANCEL: 408 to the PBX, and the INVITE transaction ends 64·T1 after the CANCEL', async () => {
    const carrier = await withCarrier('carrier-ring-forever.xml', 1, 'udp', {}, { ringTimeoutMs: 1000 });
    const gw = gateway as Gateway;
    const r = await runPbx(gw, { number: '+14155550123', final: 408, requireProvisional: [180] });
    expectSippSucceeded(r, 1);
    await expectAllReleased(gw);
    await waitFor(() => gw.transactions.size.client === 0, { timeoutMs: 20_000, what: 'the cancelled INVITE transaction to end without a final response' });
    carrier.kill();
  });

  it('a TCP carrier whose connection closes while it rings: the PBX gets 503 at once, the lease is released', async () => {
    const carrier = await withCarrier('carrier-ring-forever.xml', 1, 'tcp');
    const g = gateway as Gateway;
    const pbx = runPbx(g, { number: '+14155550123', final: 503, requireProvisional: [180] });
    await waitFor(() => [...g.b2bua.calls.values()].some((c) => c.state === 'early'), { what: 'the call ringing' });
    carrier.kill('SIGKILL');
    const r = await pbx;
    expectSippSucceeded(r, 1);
    expect(g.b2bua.stats.ended.failed).toBe(1);
    await expectAllReleased(g);
    await waitFor(() => g.transactions.size.client === 0, { what: 'no INVITE transaction left to the dead carrier' });
  });

  it('carrier silent: Timer B fires and the PBX gets 408', async () => {
    const carrier = await withCarrier('carrier-silent.xml', 1);
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', final: 408 });
    expectSippSucceeded(r, 1);
    expect(g.b2bua.stats.ended.timeout).toBe(1);
    carrier.kill();
    await expectAllReleased(g);
  });

  it('carrier refusing TCP: the PBX gets 503 at once', async () => {
    const closedPort = await freePort();
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: `sip:127.0.0.1:${closedPort};transport=tcp` }],
    });
    const r = await runPbx(gateway, { number: '+14155550123', final: 503 }, { calls: 3, rate: 10 });
    expectSippSucceeded(r, 3);
    expect(gateway.b2bua.stats.ended.failed).toBe(3);
    await expectAllReleased(gateway);
  });

  it('ACK never sent by the PBX: BYE on both legs, alert 32022', async () => {
    const carrier = await withCarrier('carrier-ack-or-bye.xml', 1);
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', final: 200, then: { kind: 'no-ack' } });
    expectSippSucceeded(r, 1);
    expect((await carrier.done).successful).toBe(1);
    expect(g.alerts.counts.get(32022)).toBe(1);
    await expectAllReleased(g);
  });

  it('maximum call duration: BYE on both legs, alert 32015', async () => {
    const carrier = await withCarrier('carrier-ack-or-bye.xml', 2, 'udp', {
      accounts: [{ name: 'demo', type: 'business-pcp', limits: { maxCallDurationSeconds: 0.5 } }],
    });
    const g = gateway as Gateway;
    const r = await runPbx(g, { number: '+14155550123', final: 200, then: { kind: 'wait-bye' } }, { calls: 2, rate: 10 });
    expectSippSucceeded(r, 2);
    expect((await carrier.done).successful).toBe(2);
    expect(g.b2bua.stats.ended.max_duration).toBe(2);
    await expectAllReleased(g);
  });
});

describe('admin hang-up and shutdown', () => {
  it('an admin hang-up sends BYE on both legs and releases the lease', async () => {
    const carrier = await startSipp({ scenario: SCENARIOS + 'carrier-ack-or-bye.xml', calls: 1, timeoutSeconds: 40 });
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: `sip:127.0.0.1:${carrier.localPort}` }],
    });
    const g = gateway;
    const pbx = runPbx(g, { number: '+14155550123', final: 200, then: { kind: 'wait-bye' } });
    const call = await waitFor(() => [...g.b2bua.calls.values()].find((c) => c.state === 'answered'), { what: 'an answered call' });
    expect(g.b2bua.hangup(call.id)).toBe(true);
    expect(g.b2bua.hangup('CA-no-such-call')).toBe(false);
    expectSippSucceeded(await pbx, 1);
    expect((await carrier.done).successful).toBe(1);
    expect(g.b2bua.stats.ended.admin).toBe(1);
    await expectAllReleased(g);
  });

  it('stopping the gateway ends answered calls with BYE on both legs', async () => {
    const carrier = await startSipp({ scenario: SCENARIOS + 'carrier-ack-or-bye.xml', calls: 1, timeoutSeconds: 40 });
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.1/32'] }, route: `sip:127.0.0.1:${carrier.localPort}` }],
    });
    const g = gateway;
    const pbx = runPbx(g, { number: '+14155550123', final: 200, then: { kind: 'wait-bye' } });
    await waitFor(() => [...g.b2bua.calls.values()].some((c) => c.state === 'answered'), { what: 'an answered call' });
    await g.stop();
    gateway = undefined;
    expectSippSucceeded(await pbx, 1);
    expect((await carrier.done).successful).toBe(1);
    expect(g.b2bua.stats.ended.shutdown).toBe(1);
    expect(g.tracker.active).toBe(0);
    expect(g.tracker.doubleReleases).toBe(0);
  });
});

describe('outside a call', () => {
  it.each(['udp', 'tcp'] as const)('OPTIONS gets 200, REGISTER 405, a BYE for an unknown dialog 481 (%s)', async (transport) => {
    gateway = await startTestGateway();
    const r = await runSipp({
      scenario: SCENARIOS + 'out-of-dialog.xml',
      target: sipTarget(gateway, transport),
      transport: transport === 'tcp' ? 't1' : 'u1',
      calls: 1,
      timeoutSeconds: 20,
    });
    expectSippSucceeded(r, 1);
    expect(gateway.core.stats.unknownDialog).toBe(1);
    expect(gateway.tracker.issued).toBe(0);
  });

  it("the SDP answer points at the emulator's media port, which accepts and discards RTP", async () => {
    gateway = await startTestGateway();
    const port = gateway.rtp.port;
    expect(port).toBeGreaterThan(0);
    const r = await runPbx(gateway, { number: '+14155550123', final: 200, finalBodyMatch: `m=audio ${port} RTP/AVP` });
    expectSippSucceeded(r, 1);
    const socket = createSocket('udp4');
    const rtp = Buffer.alloc(172); // RTP header + 20 ms of PCMU
    rtp[0] = 0x80;
    await new Promise<void>((resolve, reject) => socket.send(rtp, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    const g = gateway;
    await waitFor(() => g.rtp.packets === 1, { what: 'the RTP packet to arrive' });
    socket.close();
    await expectAllReleased(g);
  });
});

describe('sip-scenarios pack', () => {
  it("basic-call.xml, as the README runs it, completes against the default trunk's URI", async () => {
    gateway = await startTestGateway({ sip: { fallbackTrunk: null } });
    const r = await runSipp({
      scenario: new URL('../../sip-scenarios/basic-call.xml', import.meta.url).pathname,
      target: sipTarget(gateway),
      called: '+14155550123',
      calls: 3,
      rate: 10,
      timeoutSeconds: 20,
      extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com', '-d', '100'],
    });
    expectSippSucceeded(r, 3);
    expect(gateway.b2bua.stats.ended.answered).toBe(3);
    await expectAllReleased(gateway);
  });
});
