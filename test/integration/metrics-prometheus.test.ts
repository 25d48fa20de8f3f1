/**
 * Metrics against real peers: after a SIPp run the counters in /metrics equal
 * SIPp's own counts of 200s and 503s, and a real Prometheus server scrapes
 * trunkgate and answers queries for the run's outcomes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';
import { type PrometheusServer, startPrometheus } from '../support/prometheus.js';
import { runSipp, stepCount } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';
import { sampleValue } from '../support/http.js';

const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;

let gateway: Gateway | undefined;
let prometheus: PrometheusServer | undefined;

afterEach(async () => {
  await prometheus?.stop();
  prometheus = undefined;
  await gateway?.stop();
  gateway = undefined;
});



async function burst(g: Gateway): Promise<{ ok: number; refused: number }> {
  const r = await runSipp({
    scenario: PACK + 'cps-burst.xml',
    target: sipTarget(g),
    called: '+14155550123',
    calls: 60,
    rate: 30,
    timeoutSeconds: 30,
    traceCounts: true,
    extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com'],
  });
  expect(r.failed, r.errorLog).toBe(0);
  return { ok: stepCount(r, /^\d+_200_Recv$/), refused: stepCount(r, /^\d+_503_Recv$/) };
}

describe('metrics', () => {
  it("after a SIPp run, /metrics counts equal SIPp's own 200s and 503s", async () => {
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 5 }, auth: { ipAcl: ['127.0.0.0/8'] } }] });
    const g = gateway;
    const { ok, refused } = await burst(g);
    expect(ok).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    await waitFor(() => g.b2bua.activeCalls === 0, { what: 'calls to end' });
    const http = g.httpAddress;
    const text = await (await fetch(`http://${http?.host}:${http?.port}/metrics`)).text();
    expect(sampleValue(text, 'trunkgate_call_attempts_total', { trunk: 'demo', region: 'us1', outcome: 'admitted' }) ?? 0).toBe(ok);
    expect(sampleValue(text, 'trunkgate_call_attempts_total', { trunk: 'demo', region: 'us1', outcome: 'cps_limited' }) ?? 0).toBe(refused);
    expect(sampleValue(text, 'trunkgate_calls_ended_total', { trunk: 'demo', disposition: 'answered' }) ?? 0).toBe(ok);
    expect(sampleValue(text, 'trunkgate_alerts_total', { code: '32001' }) ?? 0).toBe(refused);
    expect(sampleValue(text, 'trunkgate_active_calls', { trunk: 'demo' }) ?? 0).toBe(0);
    expect(sampleValue(text, 'trunkgate_cps_limit', { trunk: 'demo', region: 'us1' }) ?? 0).toBe(5);
    expect(sampleValue(text, 'trunkgate_sip_messages_total', { direction: 'in', transport: 'udp', kind: 'INVITE' }) ?? 0).toBe(ok + refused);
    expect(sampleValue(text, 'trunkgate_admission_seconds_count', {}) ?? 0).toBe(ok + refused);
    expect(text.split('\n')).toContain(`trunkgate_lease_double_release_total{instance="${g.config.instance}"} 0`);
  });

  it('a real Prometheus server scrapes trunkgate and its query API returns the run’s outcomes', async () => {
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 5 }, auth: { ipAcl: ['127.0.0.0/8'] } }] });
    const g = gateway;
    const http = g.httpAddress;
    prometheus = await startPrometheus(`${http?.host}:${http?.port}`);
    const p = prometheus;
    const { ok, refused } = await burst(g);
    const byOutcome = await waitFor(
      async () => {
        // every region's series exists (they start at 0): the run's are us1's
        const result = await p.query('trunkgate_call_attempts_total{trunk="demo",region="us1"}');
        const map = new Map(result.map((s) => [s.metric['outcome'], Number(s.value[1])]));
        return map.get('admitted') === ok && map.get('cps_limited') === refused ? map : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'Prometheus to have scraped the run' },
    );
    expect(byOutcome.get('admitted')).toBe(ok);
    expect(byOutcome.get('cps_limited')).toBe(refused);
    const up = await p.query('up{job="trunkgate"}');
    expect(up[0]?.value[1]).toBe('1');
  });
});
