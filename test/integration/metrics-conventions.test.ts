/**
 * Prometheus conventions (issue 13 item 5): Prometheus's own linter,
 * `promtool check metrics`, passes on what /metrics serves after real calls
 * and refusals; counters with known label sets start at 0 for every
 * configured trunk, region, outcome and disposition (a trunk a reload adds
 * too), so dashboards need no `or vector(0)`.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ALERTS } from '../../src/alerts/alert-codes.js';
import { DISPOSITIONS } from '../../src/b2bua/call.js';
import { REGIONS } from '../../src/config/schema.js';
import type { Gateway } from '../../src/gateway.js';
import { ATTEMPT_OUTCOMES } from '../../src/termination/admission.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';
import { sipTarget, startTestGateway, testConfig } from '../support/gateway.js';
import { adminClient, sampleValue } from '../support/http.js';
import { pbxScenario } from '../support/scenarios.js';
import { runSipp } from '../support/sipp.js';

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('promtool check metrics', () => {
  it('finds nothing to complain about after calls and refusals', async () => {
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, maxConcurrentCalls: 1, auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin' }] });
    const g = gateway;
    const ok = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: sipTarget(g), calls: 3, rate: 10, timeoutSeconds: 30 });
    expectSippSucceeded(ok, 3);
    const refused = await runSipp({ scenario: pbxScenario({ number: '12345', final: 400 }), target: sipTarget(g), calls: 2, rate: 10, timeoutSeconds: 30 });
    expectSippSucceeded(refused, 2);
    await expectAllReleased(g);
    const text = await adminClient(g).metrics();
    expect(sampleValue(text, 'trunkgate_call_attempts_total', { trunk: 'demo', region: 'us1', outcome: 'invalid_number' })).toBe(2);
    const r = promtool(text);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('is not a rubber stamp: it refuses a gauge named _total, as prom-client’s defaults used to serve', () => {
    const r = promtool('# HELP nodejs_active_handles_total Total.\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 3\n');
    expect(r.output).toContain('non-counter metrics should not have "_total" suffix');
    expect(r.status).not.toBe(0);
  });
});

describe('counters start at 0', () => {
  it('for every configured trunk × region × outcome, trunk × disposition and alert code; a reload adds a trunk’s zeros', async () => {
    let config = testConfig();
    gateway = await startTestGateway();
    const g = gateway;
    const client = adminClient(g);
    let text = await client.metrics();
    for (const region of REGIONS) for (const outcome of ATTEMPT_OUTCOMES) expect(sampleValue(text, 'trunkgate_call_attempts_total', { trunk: 'demo', region, outcome }), `${region} ${outcome}`).toBe(0);
    for (const disposition of DISPOSITIONS) expect(sampleValue(text, 'trunkgate_calls_ended_total', { trunk: 'demo', disposition })).toBe(0);
    for (const code of Object.keys(ALERTS)) expect(sampleValue(text, 'trunkgate_alerts_total', { code })).toBe(0);
    expect(sampleValue(text, 'trunkgate_call_attempts_total', { trunk: 'other', region: 'us1', outcome: 'admitted' })).toBeUndefined();

    config = testConfig({ trunks: [...config.trunks, { name: 'other', account: 'demo', auth: { ipAcl: ['127.0.0.0/8'] } }] });
    g.applyConfig(config);
    text = await client.metrics();
    expect(sampleValue(text, 'trunkgate_call_attempts_total', { trunk: 'other', region: 'de1', outcome: 'cps_limited' })).toBe(0);
    expect(sampleValue(text, 'trunkgate_calls_ended_total', { trunk: 'other', disposition: 'max_duration' })).toBe(0);
    expect(promtool(text).status).toBe(0);
  });
});
