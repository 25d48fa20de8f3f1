/**
 * Floods (bounded in rate and time, 127.0.0.1 only): garbage plus INVITEs to
 * an unknown domain while real calls go on; a REGISTER/OPTIONS flood; INVITEs
 * from outside the trunk's ACL. The flood comes from its own process
 * (test/support/flood.mjs); the calls are real SIPp.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { runNodeScript } from '../support/node-script.js';
import { runSipp } from '../support/sipp.js';
import { adminClient, sampleValue } from '../support/http.js';
import { waitFor } from '../support/wait-for.js';

const FLOOD = new URL('../support/flood.mjs', import.meta.url).pathname;
const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

function flood(port: number, rate: number, seconds: number, kinds: string): Promise<{ sent: number; seconds: number }> {
  return runNodeScript(FLOOD, [String(port), String(rate), String(seconds), kinds], seconds);
}

describe('floods', () => {
  it('20,000/s of garbage and unknown-domain INVITEs: calls on the valid trunk still complete', async () => {
    gateway = await startTestGateway({ sip: { fallbackTrunk: null } });
    const g = gateway;
    const seconds = 5;
    const floodRun = flood(g.address('udp').port, 20_000, seconds, 'garbage,unknown-domain');
    const calls = 60;
    const sipp = runSipp({
      scenario: PACK + 'basic-call.xml',
      target: sipTarget(g),
      called: '+14155550123',
      calls,
      rate: calls / seconds,
      timeoutSeconds: 40,
      extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com'],
    });
    const [sent, r] = await Promise.all([floodRun, sipp]);
    const share = r.successful / calls;
    console.log(`flood: ${sent.sent} datagrams in ${sent.seconds.toFixed(1)} s (${Math.round(sent.sent / sent.seconds)}/s); calls completed during it: ${r.successful}/${calls} (${(share * 100).toFixed(1)}%)`);
    expect(sent.sent / sent.seconds).toBeGreaterThan(15_000);
    expect(share).toBeGreaterThanOrEqual(0.9);
    expect(g.frontDoor.stats.dropped).toBeGreaterThan(1000);
    expect((g.metrics.transport.parseErrors.get('udp') ?? 0)).toBeGreaterThan(1000);
    await waitFor(() => g.b2bua.activeCalls === 0 && g.tracker.active === 0, { timeoutMs: 20_000, what: 'calls to end' });
    expect(g.tracker.doubleReleases).toBe(0);
  }, 90_000);

  it('a REGISTER/OPTIONS flood is answered (405 / 200) without keeping any state', async () => {
    gateway = await startTestGateway();
    const g = gateway;
    let peakTransactions = 0;
    const sampler = setInterval(() => {
      peakTransactions = Math.max(peakTransactions, g.transactions.size.total);
    }, 20);
    const sent = await flood(g.address('udp').port, 10_000, 4, 'register,options');
    clearInterval(sampler);
    await waitFor(() => g.transactions.stats.statelessReplies >= sent.sent * 0.95, { timeoutMs: 10_000, what: 'the flood to be answered' });
    console.log(`REGISTER/OPTIONS flood: ${sent.sent} sent, ${g.transactions.stats.statelessReplies} answered statelessly, peak live transactions ${peakTransactions}`);
    expect(sampleValue(await adminClient(g).metrics(), 'trunkgate_sip_transaction_events_total', { event: 'stateless_reply' })).toBeGreaterThanOrEqual(
      g.transactions.stats.statelessReplies,
    );
    expect(peakTransactions).toBe(0);
    expect(g.metrics.transport.count('out', 'udp', '4xx') ?? 0).toBeGreaterThan(0);
    expect(g.metrics.transport.count('out', 'udp', '2xx') ?? 0).toBeGreaterThan(0);
    expect(g.core.dialogCount).toBe(0);
  }, 60_000);

  it('INVITEs from outside the ACL get one 403 each and build no state: the transaction ends when the 403 is sent', async () => {
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['10.0.0.0/8'] } }] });
    const g = gateway;
    const sent = await flood(g.address('udp').port, 5_000, 3, 'valid-invite');
    await waitFor(() => (g.alerts.counts.get(32201) ?? 0) >= sent.sent * 0.95, { timeoutMs: 10_000, what: 'the 403s' });
    console.log(`ACL flood: ${sent.sent} INVITEs, ${g.alerts.counts.get(32201)} × 403 (alert 32201), live transactions ${g.transactions.size.total}`);
    // refused before authentication: sent once, no Timer G, no wait for an ACK (issue 12)
    expect(g.transactions.stats.answeredOnce).toBe(g.alerts.counts.get(32201));
    expect(g.metrics.transport.count('out', 'udp', '4xx')).toBe(g.alerts.counts.get(32201));
    expect(g.metrics.transport.count('out', 'udp', '1xx')).toBe(0);
    expect(g.b2bua.activeCalls).toBe(0);
    expect(g.core.dialogCount).toBe(0);
    expect(g.tracker.issued).toBe(0);
    expect(g.directory.trunks.get('demo')?.cps.get('us1')?.peek()).toBeUndefined();
    expect(g.alerts.list().length).toBeLessThanOrEqual(1000);
    expect(g.transactions.size.total).toBe(0);
  }, 60_000);
});
