/**
 * Concurrency counts both ways (SPEC §3, §11): inbound calls towards the PBX
 * take leases in the same account caps as the PBX's outbound (termination)
 * calls, without any CPS limit. A trial account (trunking cap 4) with 2
 * inbound calls up admits 2 outbound calls and refuses the 3rd with
 * `503 Trunk concurrent call limit exceeded`; a 3rd inbound call is not
 * delivered (alert 10004). Real peers: SIPp as the PBX on both sides; with
 * limits.store on a real Redis, two instances share the one budget.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { RunReport } from '../../src/origination/origination-run.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';
import { sipTarget, startTestGateway } from '../support/gateway.js';
import { adminClient } from '../support/http.js';
import { pbxScenario } from '../support/scenarios.js';
import { type StartedSipp, runSipp, startSipp } from '../support/sipp.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const ANSWER = fileURLToPath(new URL('../scenarios/pbx-inbound.xml', import.meta.url));
const INBOUND = '+14155550100';
const OUTBOUND = '+14155550123';

const gateways: Gateway[] = [];
const sipps: StartedSipp[] = [];
let redis: RedisServer | undefined;

afterEach(async () => {
  for (const s of sipps.splice(0)) s.kill('SIGKILL');
  for (const g of gateways.splice(0)) await g.stop();
  await redis?.dispose();
  redis = undefined;
});

async function trialGateway(pbxPort: number, extra: Record<string, unknown> = {}): Promise<Gateway> {
  const g = await startTestGateway({
    accounts: [{ name: 'demo', type: 'trial', verifiedNumbers: [OUTBOUND] }],
    trunks: [
      {
        name: 'demo',
        account: 'demo',
        cps: { default: 100_000 },
        auth: { ipAcl: ['127.0.0.0/8'] },
        route: 'builtin',
        origination: { uris: [{ uri: `sip:127.0.0.1:${pbxPort}` }], numbers: [INBOUND] },
      },
    ],
    ...extra,
  });
  gateways.push(g);
  return g;
}

async function startRun(g: Gateway, calls: number, holdMs: number): Promise<string> {
  const r = await adminClient(g).post<RunReport>('/v1/origination', { trunk: 'demo', rate: 50, calls, holdMs });
  expect(r.status, r.text).toBe(201);
  return r.json.id;
}

async function report(g: Gateway, id: string): Promise<RunReport> {
  return (await adminClient(g).get<RunReport>(`/v1/origination/${id}`)).json;
}

describe('a trial account (trunking cap 4): inbound and outbound calls share it', () => {
  it('2 inbound calls up: 2 outbound admitted, the 3rd refused (503, 10004); a 3rd inbound call is not delivered; every lease comes back', async () => {
    const pbxIn = await startSipp({ scenario: ANSWER, timeoutSeconds: 90 });
    sipps.push(pbxIn);
    const g = await trialGateway(pbxIn.localPort);
    const account = g.directory.accounts.get('demo');
    expect(account?.leaseScope.cap).toBe(4);

    // two inbound calls, answered by the PBX and held
    const held = await startRun(g, 2, 60_000);
    await waitFor(async () => (await report(g, held)).delivered[`sip:127.0.0.1:${pbxIn.localPort}`] === 2, { what: 'two inbound calls answered' });
    expect(account?.leaseScope.active).toBe(2);

    // the PBX's outbound calls: two admitted and held, then a third refused at the cap
    const outbound = await startSipp({ scenario: pbxScenario({ number: OUTBOUND, final: 200, then: { kind: 'bye', afterMs: 8000 } }), target: sipTarget(g), calls: 2, rate: 20, timeoutSeconds: 60 });
    sipps.push(outbound);
    await waitFor(() => g.b2bua.activeCalls === 2 && [...g.b2bua.calls.values()].every((c) => c.state === 'answered'), { what: 'two outbound calls answered' });
    expect(account?.leaseScope.active).toBe(4);
    const third = await runSipp({ scenario: pbxScenario({ number: OUTBOUND, final: 503, finalReason: 'Trunk concurrent call limit exceeded' }), target: sipTarget(g), calls: 1, timeoutSeconds: 30 });
    expectSippSucceeded(third, 1);

    // a third inbound call: not delivered (the PBX never sees it)
    const refused = await startRun(g, 1, 1000);
    const r = await waitFor(async () => {
      const x = await report(g, refused);
      return x.state === 'completed' ? x : undefined;
    }, { what: 'the third inbound call to be settled' });
    expect(r).toMatchObject({ offered: 1, refusedAtCap: 1, delivered: {}, outcomes: { concurrency_limited: 1 } });
    expect(g.alerts.list().filter((a) => a.code === 10004)).toHaveLength(2);
    expect(account?.leaseScope.active).toBe(4);

    // the outbound calls end (their BYE), the inbound run is stopped: the callers hang up
    expectSippSucceeded(await outbound.done, 2);
    const stopped = await adminClient(g).del<RunReport>(`/v1/origination/${held}`);
    expect(stopped.json).toMatchObject({ state: 'stopped', stoppedBy: 'api' });
    await expectAllReleased(g);
    await waitFor(() => Number(pbxIn.stats()['SuccessfulCall(C)']) === 2, { what: 'the PBX to see both inbound calls end with a BYE' });
    // the refused inbound call never reached the PBX
    expect(Number(pbxIn.stats()['TotalCallCreated'])).toBe(2);
    const metrics = await adminClient(g).metrics();
    expect(metrics).toMatch(/trunkgate_origination_calls_total\{[^}]*trunk="demo"[^}]*outcome="concurrency_limited"[^}]*\} 1/);
    expect(metrics).toMatch(/trunkgate_origination_calls_total\{[^}]*trunk="demo"[^}]*outcome="answered"[^}]*\} 2/);
  });

  it('with limits.store on Redis, an inbound call on one instance counts against the other\'s outbound calls', async () => {
    redis = await startRedis();
    const pbxIn = await startSipp({ scenario: ANSWER, timeoutSeconds: 90 });
    sipps.push(pbxIn);
    const limits = { store: redis.url };
    const a = await trialGateway(pbxIn.localPort, { limits, instance: 'gw-a', accounts: [{ name: 'demo', type: 'trial', verifiedNumbers: [OUTBOUND], limits: { trunkingConcurrentCalls: 2 } }] });
    const b = await trialGateway(pbxIn.localPort, { limits, instance: 'gw-b', accounts: [{ name: 'demo', type: 'trial', verifiedNumbers: [OUTBOUND], limits: { trunkingConcurrentCalls: 2 } }] });
    // instance A: one inbound call held; instance B: one outbound call admitted, the next refused (the shared cap is 2)
    const held = await startRun(a, 1, 60_000);
    await waitFor(async () => (await report(a, held)).delivered[`sip:127.0.0.1:${pbxIn.localPort}`] === 1, { what: 'the inbound call answered' });
    // its lease is in the store, in the trunk's and the account's sets
    const store = redis.client();
    expect(await store.zcard('trunkgate:lease:account:demo')).toBe(1);
    expect(await store.zcard('trunkgate:lease:trunk:demo')).toBe(1);
    const outbound = await startSipp({ scenario: pbxScenario({ number: OUTBOUND, final: 200, then: { kind: 'bye', afterMs: 4000 } }), target: sipTarget(b), calls: 1, timeoutSeconds: 30 });
    sipps.push(outbound);
    await waitFor(() => b.b2bua.activeCalls === 1, { what: 'one outbound call on B' });
    expectSippSucceeded(await runSipp({ scenario: pbxScenario({ number: OUTBOUND, final: 503, finalReason: 'Trunk concurrent call limit exceeded' }), target: sipTarget(b), calls: 1, timeoutSeconds: 30 }), 1);
    // and A's next inbound call is refused too: B's outbound call holds the other place
    const refused = await startRun(a, 1, 1000);
    await waitFor(async () => (await report(a, refused)).refusedAtCap === 1, { what: 'the second inbound call refused at the shared cap' });
    expectSippSucceeded(await outbound.done, 1);
    await adminClient(a).del(`/v1/origination/${held}`);
    await expectAllReleased(a);
    await expectAllReleased(b);
  });
});
