/**
 * The provider's front door against real SIPp (issue: config, trunks,
 * accounts, auth, number rules, and CPS and concurrency limits): the exact
 * 503s under load, held to SPEC §4.3's accuracy contract, and the other
 * refusals of SPEC §4.2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { createRateLimiter, defaultToleranceMs } from '../../src/limits/rate-limiters.js';
import type { AdmissionDecision } from '../../src/termination/admission.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { pbxScenario } from '../support/scenarios.js';
import { runSipp, stepCount } from '../support/sipp.js';
import { expectAllReleased } from '../support/assertions.js';
import { adminClient, sampleValue } from '../support/http.js';
import { UdpPeer, requestText, testBranch } from '../support/sip-peers.js';
import { waitFor } from '../support/wait-for.js';

const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;
const SCENARIOS = new URL('../scenarios/', import.meta.url).pathname;
const TRUNK_HOST = ['-key', 'trunk', 'demo.pstn.twilio.com'];

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

/** Every admission decision with the time it was made (the gateway's own clock). */
function recordDecisions(g: Gateway): Array<{ at: number; decision: AdmissionDecision }> {
  const log: Array<{ at: number; decision: AdmissionDecision }> = [];
  g.frontDoor.events.on('decision', (decision) => log.push({ at: g.clock.now(), decision }));
  return log;
}



function trunk(extra: Record<string, unknown>): Record<string, unknown> {
  return { name: 'demo', account: 'demo', auth: { ipAcl: ['127.0.0.0/8', '::1/128'] }, route: 'builtin', ...extra };
}

describe('CPS: 5× overload for 10 s, counted by SIPp, held to the accuracy contract', () => {
  it.each([
    [1, 'udp'],
    [5, 'udp'],
    [20, 'udp'],
    [5, 'tcp'],
  ] as const)('CPS %i over %s', async (cps, transport) => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: cps } })] });
    const g = gateway;
    const decisions = recordDecisions(g);
    const offered = 5 * cps;
    const calls = offered * 10;
    const r = await runSipp({
      scenario: PACK + 'cps-burst.xml',
      target: sipTarget(g, transport),
      transport: transport === 'tcp' ? 't1' : 'u1',
      called: '+14155550123',
      calls,
      rate: offered,
      timeoutSeconds: 40,
      traceCounts: true,
      extraArgs: TRUNK_HOST,
    });
    expect(r.failed, r.errorLog).toBe(0);
    expect(r.successful).toBe(calls);
    const ok = stepCount(r, /^\d+_200_Recv$/);
    const refused = stepCount(r, /^\d+_503_Recv$/);
    expect(ok + refused).toBe(calls);
    // SIPp's counts and the gateway's agree, and every refusal was the CPS one
    const admitted = decisions.filter((d) => d.decision.kind === 'admit');
    const rejected = decisions.filter((d) => d.decision.kind === 'reject');
    expect(admitted).toHaveLength(ok);
    expect(rejected).toHaveLength(refused);
    expect(rejected.every((d) => d.decision.kind === 'reject' && d.decision.reason === 'Trunk CPS limit exceeded' && d.decision.outcome === 'cps_limited')).toBe(true);
    expect(g.alerts.counts.get(32001)).toBe(refused);
    // SPEC §4.3, §9: admitted ≤ burst + CPS × (elapsed + τ), and ≥ CPS × elapsed − 1 under steady overload
    const elapsed = ((decisions[decisions.length - 1]?.at ?? 0) - (decisions[0]?.at ?? 0)) / 1000;
    const burst = Math.max(1, Math.ceil(cps));
    expect(ok).toBeLessThanOrEqual(burst + cps * (elapsed + defaultToleranceMs(cps) / 1000));
    expect(ok).toBeGreaterThanOrEqual(cps * elapsed - 1);
    await expectAllReleased(g);
  });
});

describe('CPS: a PBX pacing at exactly its CPS is never refused for jitter (SPEC §9, cps.toleranceMs)', () => {
  /** What the limits predict for `calls` evenly spaced at `rate`: the trunk's own limiter, as the scenario runner uses it. */
  function predicted(cps: number, rate: number, calls: number): number {
    const limiter = createRateLimiter('token-bucket', cps, null, defaultToleranceMs(cps));
    let admitted = 0;
    for (let i = 0; i < calls; i++) if (limiter.tryTake(1_700_000_000_000 + (i * 1000) / rate)) admitted++;
    return admitted;
  }

  async function offer(cps: number, rate: number, calls: number): Promise<{ ok: number; refused: number }> {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: cps } })] });
    const r = await runSipp({
      scenario: PACK + 'cps-burst.xml',
      target: sipTarget(gateway),
      called: '+14155550123',
      calls,
      rate,
      timeoutSeconds: 40,
      traceCounts: true,
      extraArgs: TRUNK_HOST,
    });
    expect(r.failed, r.errorLog).toBe(0);
    const result = { ok: stepCount(r, /^\d+_200_Recv$/), refused: stepCount(r, /^\d+_503_Recv$/) };
    expect(result.ok + result.refused).toBe(calls);
    await expectAllReleased(gateway);
    return result;
  }

  it.each([
    [1, 8],
    [5, 40],
    [20, 160],
  ])('CPS %i, SIPp at exactly %i calls over 8 s: none refused', async (cps, calls) => {
    const r = await offer(cps, cps, calls);
    expect(r).toEqual({ ok: calls, refused: 0 });
  });

  it.each([
    [1, 10],
    [5, 50],
    [20, 200],
  ])('CPS %i at twice the rate (%i calls): refusals as the limiter predicts', async (cps, calls) => {
    const r = await offer(cps, 2 * cps, calls);
    const expected = predicted(cps, 2 * cps, calls);
    expect(expected).toBeLessThan(calls);
    // SIPp's pacing is not exact: ± 1, or 5% of the admitted calls
    expect(Math.abs(r.ok - expected)).toBeLessThanOrEqual(Math.max(1, Math.ceil(expected * 0.05)));
  });
});

describe('concurrency', () => {
  it('a trial account (trunking cap 4), calls held 3 s at 10 calls/s: never more than 4 at once, the rest 503', async () => {
    gateway = await startTestGateway({
      accounts: [{ name: 'demo', type: 'trial', verifiedNumbers: ['+14155550123'] }],
      trunks: [trunk({ cps: { default: 100 } })],
    });
    const g = gateway;
    let peak = 0;
    const decisions: AdmissionDecision[] = [];
    g.frontDoor.events.on('decision', (d) => {
      decisions.push(d);
      peak = Math.max(peak, g.tracker.active);
    });
    const calls = 50;
    const r = await runSipp({
      scenario: PACK + 'cps-burst.xml',
      target: sipTarget(g),
      called: '+14155550123',
      calls,
      rate: 10,
      timeoutSeconds: 40,
      traceCounts: true,
      extraArgs: [...TRUNK_HOST, '-d', '3000'],
    });
    expect(r.failed, r.errorLog).toBe(0);
    const ok = stepCount(r, /^\d+_200_Recv$/);
    const refused = stepCount(r, /^\d+_503_Recv$/);
    expect(ok + refused).toBe(calls);
    expect(peak).toBe(4);
    // 5 s of offers, 3 s holds: the four slots are filled twice
    expect(ok).toBeGreaterThanOrEqual(8);
    expect(ok).toBeLessThanOrEqual(12);
    const rejected = decisions.filter((d) => d.kind === 'reject');
    expect(rejected.every((d) => d.kind === 'reject' && d.status === 503 && d.reason === 'Trunk concurrent call limit exceeded')).toBe(true);
    expect(g.alerts.counts.get(10004)).toBe(refused);
    await expectAllReleased(g);
  });
});

describe('digest authentication', () => {
  // SIPp's digest uri is sip:<our IP>:<port> unless told the Request-URI (security.digest.requireUriMatch)
  const AUTH_URI = ['-auth_uri', '+14155550123@demo.pstn.twilio.com'];
  const credentials = { ipAcl: ['127.0.0.0/8'], credentials: [{ username: 'pbx', password: 'Secret-pass-123' }] };

  it('SIPp with [authentication] gets past the 407 with the right password', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, auth: credentials })] });
    const r = await runSipp({
      scenario: PACK + 'digest-auth.xml',
      target: sipTarget(gateway),
      called: '+14155550123',
      calls: 5,
      rate: 10,
      traceCounts: true,
      extraArgs: [...TRUNK_HOST, ...AUTH_URI, '-au', 'pbx', '-ap', 'Secret-pass-123'],
    });
    expect(r.failed, r.errorLog).toBe(0);
    expect(stepCount(r, /^\d+_407_Recv$/)).toBe(5);
    expect(stepCount(r, /^\d+_403_Recv$/)).toBe(0);
    expect(gateway.b2bua.stats.ended.answered).toBe(5);
    await expectAllReleased(gateway);
  });

  it('a wrong password gets 403 Forbidden (alert 32202)', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, auth: credentials })] });
    const r = await runSipp({
      scenario: PACK + 'digest-auth.xml',
      target: sipTarget(gateway),
      called: '+14155550123',
      calls: 3,
      rate: 10,
      traceCounts: true,
      extraArgs: [...TRUNK_HOST, ...AUTH_URI, '-au', 'pbx', '-ap', 'not-the-password'],
    });
    expect(r.failed, r.errorLog).toBe(0);
    expect(stepCount(r, /^\d+_403_Recv$/)).toBe(3);
    expect(gateway.alerts.counts.get(32202)).toBe(3);
    expect(gateway.tracker.issued).toBe(0);
  });
});

describe('other refusals', () => {
  it('an ACL miss gets 403 Forbidden (alert 32201)', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ auth: { ipAcl: ['10.0.0.0/8'] } })] });
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 403, finalReason: 'Forbidden' }), target: sipTarget(gateway), calls: 2, rate: 10 });
    expect(r.failed, r.errorLog).toBe(0);
    expect(gateway.alerts.counts.get(32201)).toBe(2);
  });

  it('a non-E.164 number gets 400 Invalid Phone Number (alert 32101)', async () => {
    gateway = await startTestGateway();
    const r = await runSipp({ scenario: pbxScenario({ number: '4155550123', final: 400, finalReason: 'Invalid Phone Number' }), target: sipTarget(gateway), calls: 2, rate: 10 });
    expect(r.failed, r.errorLog).toBe(0);
    expect(gateway.alerts.counts.get(32101)).toBe(2);
  });

  it('an unknown domain gets no response at all, not even 100', async () => {
    gateway = await startTestGateway({ sip: { fallbackTrunk: null } });
    const r = await runSipp({
      scenario: SCENARIOS + 'expect-silence.xml',
      target: sipTarget(gateway),
      service: '+14155550123',
      calls: 3,
      rate: 10,
      traceCounts: true,
      extraArgs: ['-key', 'trunk', 'nosuchtrunk.pstn.twilio.com'],
    });
    expect(stepCount(r, /^\d+_100_Recv$/)).toBe(0);
    expect((gateway.metrics.transport.messages.out.get('udp')?.size ?? 0)).toBe(0);
    expect(gateway.frontDoor.stats.dropped).toBe(3);
  });

  it('a dropped INVITE is counted once: its retransmissions are absorbed, not dropped again', async () => {
    gateway = await startTestGateway({ sip: { fallbackTrunk: null } });
    const g = gateway;
    const peer = await UdpPeer.open();
    try {
      const invite = requestText({ method: 'INVITE', uri: 'sip:+14155550123@nosuchtrunk.pstn.twilio.com', via: `SIP/2.0/UDP ${peer.hostPort};branch=${testBranch()};rport` });
      const target = g.address('udp');
      for (let i = 0; i < 4; i++) await peer.send(invite, target.port, target.address);
      await waitFor(() => g.metrics.transport.count('in', 'udp', 'INVITE') === 4, { what: 'the four copies at the gateway' });
      expect(g.frontDoor.stats.dropped).toBe(1);
      expect(g.transactions.stats.retransmissionsAbsorbed).toBe(3);
      expect(peer.arrivals).toHaveLength(0);
      const metrics = await adminClient(g).metrics();
      expect(sampleValue(metrics, 'trunkgate_invites_dropped_total', { reason: 'unknown_domain' })).toBe(1);
      expect(sampleValue(metrics, 'trunkgate_sip_transaction_events_total', { event: 'retransmission_absorbed' })).toBe(3);
    } finally {
      await peer.close();
    }
  });

  it('with unknownDomain: reject, an unknown domain gets 403 Forbidden', async () => {
    gateway = await startTestGateway({ sip: { fallbackTrunk: null, unknownDomain: 'reject' } });
    const r = await runSipp({
      scenario: pbxScenario({ domain: 'nosuchtrunk.pstn.twilio.com', number: '+14155550123', final: 403, finalReason: 'Forbidden' }),
      target: sipTarget(gateway),
      calls: 1,
    });
    expect(r.failed, r.errorLog).toBe(0);
  });
});

describe('what never touches a limiter', () => {
  it('a retransmitted INVITE takes one CPS token, not two', async () => {
    // burst 2 at a negligible rate: the bucket tells exactly how many tokens were taken
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 0.001 }, burst: 2 })], pstn: { answerAfterMs: 300 } });
    const g = gateway;
    const r = await runSipp({ scenario: SCENARIOS + 'invite-retransmitted.xml', target: sipTarget(g), calls: 1, timeoutSeconds: 20, extraArgs: ['-nr'] });
    expect(r.failed, r.errorLog).toBe(0);
    expect(g.transactions.stats.retransmissionsAbsorbed).toBeGreaterThanOrEqual(1);
    const limiter = g.directory.trunks.get('demo')?.cps.get('us1')?.peek();
    expect(limiter?.available(g.clock.now())).toBeCloseTo(1, 1);
    await expectAllReleased(g);
  });

  it('in-dialog requests (re-INVITE, UPDATE, INFO) pass at CPS 1 right after the call setup took the only token', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 1 } })] });
    const g = gateway;
    const r = await runSipp({
      scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'in-dialog', methods: ['INVITE', 'UPDATE', 'INFO', 'INVITE'], expect: [200, 200, 200, 200] } }),
      target: sipTarget(g),
      calls: 1,
    });
    expect(r.failed, r.errorLog).toBe(0);
    expect(g.frontDoor.stats.admitted).toBe(1);
    expect(g.frontDoor.stats.rejected).toBe(0);
    await expectAllReleased(g);
  });
});
