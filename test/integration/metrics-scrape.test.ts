/**
 * What a running gateway serves on /metrics: every metric of the table with
 * HELP and TYPE, one registry per gateway, and counts that follow a real
 * SIPp call.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type Gateway, VERSION } from '../../src/gateway.js';
import { INSTANCE_LABEL, METRIC_LIST } from '../../src/metrics/definitions.js';
import { sipTarget, startTestGateway } from '../support/gateway.js';
import { adminClient, parseSamples, sampleValue } from '../support/http.js';
import { pbxScenario } from '../support/scenarios.js';
import { runSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

describe('/metrics of a running gateway', () => {
  const gateways: Gateway[] = [];
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.stop();
  });

  async function start(): Promise<Gateway> {
    const g = await startTestGateway();
    gateways.push(g);
    return g;
  }

  it('serves every metric of the table with HELP and TYPE, prom-client defaults and trunkgate_build_info', async () => {
    const g = await start();
    const res = await fetch(`http://127.0.0.1:${g.httpAddress?.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const m of METRIC_LIST) {
      expect(text, m.name).toContain(`\n# HELP ${m.name} ${m.help}\n`);
      expect(text, m.name).toContain(`\n# TYPE ${m.name} ${m.type}\n`);
    }
    expect(text).toMatch(/^# HELP process_cpu_user_seconds_total /m);
    expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(text, 'trunkgate_build_info', { version: VERSION, node_version: process.version })).toBe(1);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    // point-in-time gauges for the configured trunk
    expect(sampleValue(text, 'trunkgate_active_calls', { trunk: 'demo' })).toBe(0);
    expect(sampleValue(text, 'trunkgate_cps_limit', { trunk: 'demo', region: 'us1' })).toBe(100_000);
    expect(sampleValue(text, 'trunkgate_config_reloads_total', { result: 'success' })).toBe(0);
    expect(sampleValue(text, 'trunkgate_lease_double_release_total')).toBe(0);
    // never the process-global registry
    expect(globalRegistry.getSingleMetric('trunkgate_build_info')).toBeUndefined();
  });

  it('counts CRLF keep-alive pings on UDP and TCP (RFC 5626), and a TCP ping gets its CRLF pong', async () => {
    const g = await start();
    const udp = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => udp.send('\r\n\r\n', g.address('udp').port, '127.0.0.1', () => resolve()));
    } finally {
      udp.close();
    }
    const tcp = connect(g.address('tcp').port, '127.0.0.1');
    const pong = new Promise<string>((resolve) => tcp.once('data', (d: Buffer) => resolve(d.toString())));
    tcp.write('\r\n\r\n');
    expect(await pong).toBe('\r\n');
    tcp.destroy();
    await waitFor(async () => sampleValue(await adminClient(g).metrics(), 'trunkgate_sip_keepalives_total', { transport: 'tcp' }) === 1, { what: 'the TCP ping counted' });
    expect(sampleValue(await adminClient(g).metrics(), 'trunkgate_sip_keepalives_total', { transport: 'udp' })).toBe(1);
  });

  it('two gateways in one process have independent registries: a call on one leaves the other unchanged', async () => {
    const a = await start();
    const b = await start();
    expect(a.registry).not.toBe(b.registry);
    const r = await runSipp({
      scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 0 } }),
      target: sipTarget(a),
      calls: 1,
      timeoutSeconds: 20,
    });
    expect(r.failed, r.errorLog).toBe(0);
    expect(r.successful).toBe(1);
    await waitFor(() => a.b2bua.activeCalls === 0 && a.tracker.active === 0, { what: 'the call to end' });

    const [ta, tb] = await Promise.all([adminClient(a).metrics(), adminClient(b).metrics()]);
    const admitted = { trunk: 'demo', region: 'us1', outcome: 'admitted' };
    expect(sampleValue(ta, 'trunkgate_call_attempts_total', admitted)).toBe(1);
    expect(sampleValue(tb, 'trunkgate_call_attempts_total', admitted)).toBe(0);
    expect(sampleValue(ta, 'trunkgate_calls_ended_total', { trunk: 'demo', disposition: 'answered' })).toBe(1);
    expect(sampleValue(tb, 'trunkgate_calls_ended_total', { trunk: 'demo', disposition: 'answered' })).toBe(0);
    expect(sampleValue(ta, 'trunkgate_admission_seconds_count')).toBe(1);
    expect(sampleValue(tb, 'trunkgate_admission_seconds_count')).toBe(0);
    expect(sampleValue(ta, 'trunkgate_sip_messages_total', { direction: 'in', transport: 'udp', kind: 'INVITE' })).toBe(1);
    expect(sampleValue(tb, 'trunkgate_sip_messages_total', { direction: 'in', transport: 'udp', kind: 'INVITE' })).toBeUndefined();

    // every sample carries exactly the labels of its table entry (histograms add `le` to buckets), and the instance's name
    for (const s of parseSamples(ta)) {
      if (!s.name.startsWith('trunkgate_')) continue;
      const def = METRIC_LIST.find(
        (m) => s.name === m.name || (m.type === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(s.name)?.[1] === m.name),
      );
      expect(def, `sample ${s.name} has no table entry`).toBeDefined();
      const expected = [...(def?.labels ?? []), INSTANCE_LABEL, ...(s.name.endsWith('_bucket') ? ['le'] : [])].sort();
      expect(Object.keys(s.labels).sort(), s.name).toEqual(expected);
      expect(s.labels[INSTANCE_LABEL], s.name).toBe(a.config.instance);
    }
  });
});
