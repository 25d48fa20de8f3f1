/**
 * Faults: packet loss both ways, a carrier that dies mid-call, and a SIGKILL
 * followed by a restart. Calls still complete or end cleanly, and no lease
 * leaks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { startLossyRelay } from '../support/lossy-relay.js';
import { pbxScenario } from '../support/scenarios.js';
import { freePort, runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';
import { expectAllReleased } from '../support/assertions.js';

const SCENARIOS = new URL('../scenarios/', import.meta.url).pathname;
const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;
const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;

let gateway: Gateway | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  child = undefined;
});


describe('faults', () => {
  it('5% packet loss both ways: calls complete through retransmissions, no lease leaks', async () => {
    gateway = await startTestGateway();
    const g = gateway;
    const relay = await startLossyRelay({ host: '127.0.0.1', port: g.address('udp').port }, 0.05);
    try {
      const calls = 50;
      const r = await runSipp({
        scenario: pbxScenario({ number: '+14155550123', final: 200, rport: true, then: { kind: 'bye', afterMs: 200 } }),
        target: `127.0.0.1:${relay.port}`,
        calls,
        rate: 10,
        timeoutSeconds: 60,
      });
      console.log(`5% loss: relay forwarded ${relay.stats.forwarded}, dropped ${relay.stats.dropped}; SIPp ${r.successful}/${calls} calls, ${r.retransmissions} retransmissions`);
      expect(relay.stats.dropped).toBeGreaterThan(0);
      expect(r.successful, r.errorLog).toBe(calls);
      expect(g.b2bua.stats.started).toBe(calls);
      await expectAllReleased(g, 30_000);
      // every disposition, so a failure shows how the odd call ended
      expect(g.b2bua.stats.ended).toEqual({ ...Object.fromEntries(Object.keys(g.b2bua.stats.ended).map((k) => [k, 0])), answered: calls });
    } finally {
      await relay.close();
    }
  }, 90_000);

  it('a TCP carrier that dies mid-call: its calls end (BYE to the PBX) and their leases are released', async () => {
    const carrier = await startSipp({ scenario: SCENARIOS + 'carrier-ack-or-bye.xml', transport: 't1', calls: 3, timeoutSeconds: 60 });
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: `sip:127.0.0.1:${carrier.localPort};transport=tcp` }],
    });
    const g = gateway;
    const pbx = runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'wait-bye' } }), target: `127.0.0.1:${g.address('udp').port}`, calls: 3, rate: 10, timeoutSeconds: 60 });
    await waitFor(() => [...g.b2bua.calls.values()].filter((c) => c.state === 'answered').length === 3, { what: 'three answered calls' });
    carrier.kill('SIGKILL');
    const r = await pbx;
    expect(r.successful, r.errorLog).toBe(3);
    expect(g.b2bua.stats.ended.failed).toBe(3);
    await expectAllReleased(g, 30_000);
  }, 60_000);

  it('a UDP carrier that dies mid-call: the leases are released when the PBX hangs up', async () => {
    const carrier = await startSipp({ scenario: SCENARIOS + 'carrier-ack-or-bye.xml', calls: 2, timeoutSeconds: 60 });
    gateway = await startTestGateway({
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: `sip:127.0.0.1:${carrier.localPort}` }],
    });
    const g = gateway;
    const pbx = runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 1500 } }), target: `127.0.0.1:${g.address('udp').port}`, calls: 2, rate: 10, timeoutSeconds: 60 });
    await waitFor(() => [...g.b2bua.calls.values()].filter((c) => c.state === 'answered').length === 2, { what: 'two answered calls' });
    carrier.kill('SIGKILL');
    const r = await pbx;
    expect(r.successful, r.errorLog).toBe(2);
    await expectAllReleased(g, 30_000);
    // the BYEs towards the dead carrier time out (Timer F) and leave nothing behind
    await waitFor(() => g.transactions.size.total === 0, { timeoutMs: 20_000, what: 'the BYE transactions to the dead carrier to time out' });
  }, 60_000);

  it('SIGKILL and restart: the gateway comes back on the same ports and takes calls', async () => {
    const sipPort = await freePort();
    const httpPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'trunkgate-restart-'));
    const config = join(dir, 'trunkgate.yaml');
    writeFileSync(
      config,
      [
        'sip:',
        `  listen: ["udp://127.0.0.1:${sipPort}", "tcp://127.0.0.1:${sipPort}"]`,
        `http: { listen: "127.0.0.1:${httpPort}" }`,
        'accounts: [{ name: demo, type: business-pcp }]',
        'trunks: [{ name: demo, account: demo, cps: { default: 100 }, auth: { ipAcl: ["127.0.0.0/8"] } }]',
        'pstn: { answerAfterMs: 0 }',
        '',
      ].join('\n'),
    );
    const start = async (): Promise<ChildProcess> => {
      const p = spawn(process.execPath, [CLI, '--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(
        async () => {
          if (p.exitCode !== null) throw new Error(`exited: ${out}`);
          try {
            return (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok;
          } catch {
            return false;
          }
        },
        { timeoutMs: 20_000, what: 'the gateway to be ready', detail: () => out },
      );
      return p;
    };
    const call = () =>
      runSipp({ scenario: PACK + 'basic-call.xml', target: `127.0.0.1:${sipPort}`, called: '+14155550123', calls: 2, rate: 10, extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com'] });
    child = await start();
    expect((await call()).successful).toBe(2);
    const pid = child.pid as number;
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    process.kill(pid, 'SIGKILL');
    await exited;
    child = await start();
    const again = await call();
    expect(again.successful, again.errorLog).toBe(2);
  }, 90_000);
});
