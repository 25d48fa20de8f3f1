/**
 * Limits shared across instances through a real Redis (SPEC §12, issue 17):
 * several gateways on their own ports, one trunk, one budget. SIPp at 5×
 * overload spread across two and three gateways stays within one limiter's
 * accuracy contract; a concurrency cap of 4 holds across two gateways; a
 * SIGKILLed gateway's leases expire within limits.leaseTtlMs and the
 * capacity comes back; Redis stopped and restarted during traffic behaves as
 * limits.onStoreFailure says, calls in progress go on, nothing is released
 * twice and the counts are right after recovery; a CANCEL while the store
 * decides never leaks a lease; a Console CPS change through one instance
 * applies to all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway.js';
import type { TrunkView } from '../../src/http/admin-api.js';
import { defaultToleranceMs } from '../../src/limits/rate-limiters.js';
import type { AdmissionDecision } from '../../src/termination/admission.js';
import { expectAllReleased } from '../support/assertions.js';
import { merge, sipTarget, startTestGateway, testConfig } from '../support/gateway.js';
import { adminClient, sampleValue } from '../support/http.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { pbxScenario } from '../support/scenarios.js';
import { type SippResult, freePort, runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;
const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const TRUNK_HOST = ['-key', 'trunk', 'demo.pstn.twilio.com'];

let redis: RedisServer;
let prefixes = 0;
const gateways: Gateway[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.dispose();
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
  if (!redis.running) await redis.start();
});

interface SharedOptions {
  instance: string;
  prefix: string;
  cps?: number;
  maxConcurrentCalls?: number | null;
  leaseTtlMs?: number;
  onStoreFailure?: 'closed' | 'open';
  storeTimeoutMs?: number;
  store?: string;
}

function sharedPatch(o: SharedOptions): Record<string, unknown> {
  return {
    instance: o.instance,
    limits: {
      store: o.store ?? redis.url,
      keyPrefix: o.prefix,
      leaseTtlMs: o.leaseTtlMs ?? 30_000,
      onStoreFailure: o.onStoreFailure ?? 'closed',
      storeTimeoutMs: o.storeTimeoutMs ?? 500,
    },
    trunks: [
      { name: 'demo', account: 'demo', cps: { default: o.cps ?? 100 }, maxConcurrentCalls: o.maxConcurrentCalls ?? null, auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin' },
    ],
  };
}

async function shared(o: SharedOptions): Promise<Gateway> {
  const g = await startTestGateway(sharedPatch(o));
  gateways.push(g);
  expect(g.limits.state()).toMatchObject({ kind: 'redis', status: 'ready' });
  return g;
}

function prefix(): string {
  return `t${++prefixes}-${process.pid}`;
}

/** Every admission decision with the time it was made, across gateways (one process, one clock). */
function recordDecisions(gs: Gateway[]): Array<{ at: number; gateway: number; decision: AdmissionDecision }> {
  const log: Array<{ at: number; gateway: number; decision: AdmissionDecision }> = [];
  gs.forEach((g, i) => g.frontDoor.events.on('decision', (decision) => log.push({ at: g.clock.now(), gateway: i, decision })));
  return log;
}

function count(r: SippResult, step: RegExp): number {
  const key = Object.keys(r.counts).find((k) => step.test(k));
  return key === undefined ? 0 : (r.counts[key] as number);
}

/** The leases the store holds in a trunk's set. */
async function leasesInStore(p: string, scope = 'trunk:demo'): Promise<number> {
  return redis.client().zcard(`${p}:lease:${scope}`);
}

async function expectStoreEmpty(p: string): Promise<void> {
  await waitFor(async () => (await leasesInStore(p)) === 0 && (await leasesInStore(p, 'account:demo')) === 0, { what: 'the store to hold no lease', timeoutMs: 10_000 });
}

describe('CPS across instances: SIPp at 5× overload spread across the gateways', () => {
  it.each([
    [2, 4],
    [3, 6],
  ])('%i gateways sharing a trunk at CPS %i: combined admissions within one limiter’s accuracy contract', async (n, cps) => {
    const p = prefix();
    const gs: Gateway[] = [];
    for (let i = 0; i < n; i++) gs.push(await shared({ instance: `gw-${i}`, prefix: p, cps }));
    const decisions = recordDecisions(gs);
    const perGateway = (5 * cps) / n;
    const seconds = 10;
    const runs = await Promise.all(
      gs.map((g) =>
        runSipp({
          scenario: PACK + 'cps-burst.xml',
          target: sipTarget(g),
          called: '+14155550123',
          calls: perGateway * seconds,
          rate: perGateway,
          timeoutSeconds: 40,
          traceCounts: true,
          extraArgs: TRUNK_HOST,
        }),
      ),
    );
    let ok = 0;
    let refused = 0;
    runs.forEach((r, i) => {
      expect(r.failed, r.errorLog).toBe(0);
      const admitted = count(r, /^\d+_200_Recv$/);
      // every gateway admitted some: the budget is shared, not split or taken by one
      expect(admitted, `gateway ${i}`).toBeGreaterThan(0);
      ok += admitted;
      refused += count(r, /^\d+_503_Recv$/);
    });
    expect(ok + refused).toBe(n * perGateway * seconds);
    const admitted = decisions.filter((d) => d.decision.kind === 'admit');
    expect(admitted).toHaveLength(ok);
    expect(decisions.filter((d) => d.decision.kind === 'reject').every((d) => d.decision.kind === 'reject' && d.decision.outcome === 'cps_limited')).toBe(true);
    // SPEC §4.3: admitted ≤ burst + CPS × (elapsed + τ), and ≥ CPS × elapsed − 1 under steady overload
    const elapsed = ((decisions.at(-1)?.at ?? 0) - (decisions[0]?.at ?? 0)) / 1000;
    expect(ok).toBeLessThanOrEqual(cps + cps * (elapsed + defaultToleranceMs(cps) / 1000));
    expect(ok).toBeGreaterThanOrEqual(cps * elapsed - 1);
    // one gateway alone would have let n times as many through: the limit is one budget
    expect(ok).toBeLessThan(cps * (elapsed + 1) + cps);
    for (const g of gs) await expectAllReleased(g);
    await expectStoreEmpty(p);
    const view = (await adminClient(gs[0] as Gateway).get<TrunkView>('/v1/trunks/demo')).json;
    expect(view.sharedState).toBe(true);
  }, 90_000);
});

describe('concurrency across instances', () => {
  it('a cap of 4 held across two gateways: never more than 4 calls up at once in all, the rest 503', async () => {
    const p = prefix();
    const a = await shared({ instance: 'gw-a', prefix: p, maxConcurrentCalls: 4 });
    const b = await shared({ instance: 'gw-b', prefix: p, maxConcurrentCalls: 4 });
    let peak = 0;
    let peakInStore = 0;
    const both = [a, b];
    for (const g of both) {
      g.frontDoor.events.on('decision', () => {
        peak = Math.max(peak, a.tracker.active + b.tracker.active);
      });
    }
    const sampler = setInterval(() => {
      leasesInStore(p).then(
        (n) => (peakInStore = Math.max(peakInStore, n)),
        () => undefined,
      );
    }, 20);
    const runs = await Promise.all(
      both.map((g) =>
        runSipp({
          scenario: PACK + 'cps-burst.xml',
          target: sipTarget(g),
          called: '+14155550123',
          calls: 25,
          rate: 5,
          timeoutSeconds: 40,
          traceCounts: true,
          extraArgs: [...TRUNK_HOST, '-d', '3000'],
        }),
      ),
    );
    clearInterval(sampler);
    let ok = 0;
    let refused = 0;
    for (const r of runs) {
      expect(r.failed, r.errorLog).toBe(0);
      ok += count(r, /^\d+_200_Recv$/);
      refused += count(r, /^\d+_503_Recv$/);
    }
    expect(ok + refused).toBe(50);
    expect(peak).toBe(4);
    expect(peakInStore).toBeLessThanOrEqual(4);
    // 5 s of offers at 10/s in all, 3 s holds: the four slots are filled about twice
    expect(ok).toBeGreaterThanOrEqual(8);
    expect(ok).toBeLessThanOrEqual(12);
    expect((a.alerts.counts.get(10004) ?? 0) + (b.alerts.counts.get(10004) ?? 0)).toBe(refused);
    for (const g of both) await expectAllReleased(g);
    await expectStoreEmpty(p);
  }, 90_000);
});

/** A gateway as its own process (dist/cli.js), so it can be killed. */
async function gatewayProcess(patch: Record<string, unknown>): Promise<{ child: ChildProcess; sipPort: number; httpPort: number }> {
  const sipPort = await freePort();
  const httpPort = await freePort();
  const config = merge(testConfig(patch), { sip: { listen: [`udp://127.0.0.1:${sipPort}`] }, http: { listen: `127.0.0.1:${httpPort}` } });
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-shared-'));
  const file = join(dir, 'trunkgate.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [CLI, '--config', file, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the gateway exited: ${out}`);
      try {
        return (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok;
      } catch {
        return false;
      }
    },
    { timeoutMs: 20_000, what: 'the gateway process to be ready', detail: () => out },
  );
  return { child, sipPort, httpPort };
}

describe('a gateway killed mid-call', () => {
  it('SIGKILL: its leases expire within limits.leaseTtlMs, are reported (alert 99102), and the capacity comes back', async () => {
    const p = prefix();
    const leaseTtlMs = 2000;
    const killed = await gatewayProcess(sharedPatch({ instance: 'gw-killed', prefix: p, maxConcurrentCalls: 2, leaseTtlMs }));
    const survivor = await shared({ instance: 'gw-survivor', prefix: p, maxConcurrentCalls: 2, leaseTtlMs });
    // two long calls up through the gateway that will be killed: the cap of 2 is used up
    const held = await startSipp({
      scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 60_000 } }),
      target: `127.0.0.1:${killed.sipPort}`,
      calls: 2,
      rate: 20,
      timeoutSeconds: 70,
    });
    await waitFor(async () => (await leasesInStore(p)) === 2, { what: 'two leases in the store' });
    const refusedBefore = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 503, finalReason: 'Trunk concurrent call limit exceeded' }), target: sipTarget(survivor), calls: 1 });
    expect(refusedBefore.successful, refusedBefore.errorLog).toBe(1);

    const pid = killed.child.pid as number;
    const exited = new Promise((resolve) => killed.child.once('exit', resolve));
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    await exited;
    held.kill('SIGKILL');
    // the shared view stops counting them once they expire: at most leaseTtlMs after the last heartbeat
    const api = adminClient(survivor);
    await waitFor(async () => (await api.get<TrunkView>('/v1/trunks/demo')).json.concurrency.active === 0, { timeoutMs: leaseTtlMs + 3000, intervalMs: 25, what: 'the killed gateway’s leases to expire' });
    const freedAfterMs = Date.now() - killedAt;
    expect(freedAfterMs).toBeLessThanOrEqual(leaseTtlMs + 250);
    // heartbeats come every leaseTtlMs/3: the last one was at most that long before the kill
    expect(freedAfterMs).toBeGreaterThanOrEqual((2 * leaseTtlMs) / 3 - 250);
    // the capacity is back: two new calls through the survivor
    const after = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: sipTarget(survivor), calls: 2, rate: 20 });
    expect(after.successful, after.errorLog).toBe(2);
    // the survivor found them (its admission or its sweep) and reported them
    await waitFor(() => survivor.alerts.list().some((x) => x.code === 99102 && (x.detail ?? '').includes('gw-killed')), { timeoutMs: 5000, what: 'alert 99102' });
    const text = await api.metrics();
    expect(sampleValue(text, 'trunkgate_leases_expired_total', { instance: 'gw-survivor' })).toBe(4); // 2 leases × (trunk, account)
    await expectAllReleased(survivor);
    await expectStoreEmpty(p);
  }, 60_000);
});

describe('Redis stopped and restarted during traffic', () => {
  const callFor = (ms: number): string => pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: ms } });

  it('onStoreFailure closed: new calls 503 Service Unavailable (alert 99101, /readyz 503), calls in progress go on; after the restart the live leases are registered again and the counts are right', async () => {
    const p = prefix();
    const a = await shared({ instance: 'gw-a', prefix: p, onStoreFailure: 'closed' });
    const b = await shared({ instance: 'gw-b', prefix: p, onStoreFailure: 'closed' });
    // calls in progress on both gateways, long enough to outlive the outage
    const heldA = await startSipp({ scenario: callFor(6000), target: sipTarget(a), calls: 2, rate: 20, timeoutSeconds: 30 });
    const heldB = await startSipp({ scenario: callFor(6000), target: sipTarget(b), calls: 1, rate: 20, timeoutSeconds: 30 });
    await waitFor(async () => (await leasesInStore(p)) === 3, { what: 'three leases in the store' });

    await redis.stop();
    await waitFor(() => a.limits.state().status === 'unavailable' && b.limits.state().status === 'unavailable', { what: 'both to see the store gone' });
    const ready = await adminClient(a).get<{ status: string; store: { status: string } }>('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'store-unavailable', store: { kind: 'redis', status: 'unavailable', onFailure: 'closed' } });
    const refused = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 503, finalReason: 'Service Unavailable' }), target: sipTarget(b), calls: 3, rate: 20 });
    expect(refused.successful, refused.errorLog).toBe(3);
    expect(b.alerts.counts.get(99101)).toBe(3);
    expect(a.b2bua.activeCalls + b.b2bua.activeCalls).toBe(3);

    await redis.start(); // empty: no persistence
    await waitFor(() => a.limits.state().status === 'ready' && b.limits.state().status === 'ready', { timeoutMs: 10_000, what: 'both to be back' });
    // the three calls in progress are counted again
    await waitFor(async () => (await leasesInStore(p)) === 3 && (await leasesInStore(p, 'account:demo')) === 3, { what: 'the live leases registered again' });
    expect((await adminClient(a).get('/readyz')).status).toBe(200);
    const view = (await adminClient(b).get<TrunkView>('/v1/trunks/demo')).json;
    expect(view.concurrency).toMatchObject({ active: 3, accountActive: 3, thisInstance: 1 });

    const [ra, rb] = await Promise.all([heldA.done, heldB.done]);
    expect(ra.successful, ra.errorLog).toBe(2);
    expect(rb.successful, rb.errorLog).toBe(1);
    for (const g of [a, b]) await expectAllReleased(g);
    await expectStoreEmpty(p);
    const text = await adminClient(a).metrics();
    expect(sampleValue(text, 'trunkgate_limit_store_up', { instance: 'gw-a' })).toBe(1);
    expect(sampleValue(text, 'trunkgate_lease_double_release_total', { instance: 'gw-a' })).toBe(0);
  }, 60_000);

  it('onStoreFailure open: new calls are admitted and counted (alert 99101), their leases registered once the store is back; a call that ended during the outage is not registered again', async () => {
    const p = prefix();
    const a = await shared({ instance: 'gw-a', prefix: p, onStoreFailure: 'open' });
    const short = await startSipp({ scenario: callFor(800), target: sipTarget(a), calls: 1, rate: 20, timeoutSeconds: 30 });
    await waitFor(async () => (await leasesInStore(p)) === 1, { what: 'one lease in the store' });

    await redis.stop();
    await waitFor(() => a.limits.state().status === 'unavailable', { what: 'the store gone' });
    expect((await adminClient(a).get('/readyz')).status).toBe(200);
    const during = await startSipp({ scenario: callFor(5000), target: sipTarget(a), calls: 2, rate: 20, timeoutSeconds: 30 });
    await waitFor(() => a.b2bua.activeCalls === 2 || a.b2bua.activeCalls === 3, { what: 'the calls admitted without the store' });
    expect((await short.done).successful).toBe(1); // ended during the outage: its removal is owed
    await waitFor(() => a.b2bua.activeCalls === 2, { what: 'the short call to end' });
    expect(a.alerts.counts.get(99101)).toBe(2);

    await redis.start();
    await waitFor(() => a.limits.state().status === 'ready', { timeoutMs: 10_000, what: 'the store back' });
    await waitFor(async () => (await leasesInStore(p)) === 2, { what: 'the two calls admitted during the outage, registered' });
    const text = await adminClient(a).metrics();
    expect(sampleValue(text, 'trunkgate_limit_store_failed_open_total', { instance: 'gw-a' })).toBe(2);
    expect((await during.done).successful).toBe(2);
    await expectAllReleased(a);
    await expectStoreEmpty(p);
  }, 60_000);
});

describe('admission waiting for the store', () => {
  it('a CANCEL while Redis is deciding: 487 to the INVITE, and the lease it was granted is released at once', async () => {
    const p = prefix();
    const a = await shared({ instance: 'gw-a', prefix: p, storeTimeoutMs: 3000 });
    const control = redis.client();
    // Redis holds every command for 600 ms: the INVITE's admission waits (its 100 Trying is out)
    await control.call('CLIENT', 'PAUSE', '600', 'ALL');
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 487, cancelAfterMs: 50, requireProvisional: [100] }), target: sipTarget(a), calls: 1 });
    expect(r.successful, r.errorLog).toBe(1);
    await waitFor(() => a.frontDoor.stats.abandoned === 1, { what: 'the late decision' });
    expect(a.frontDoor.stats.pending).toBe(0);
    await expectAllReleased(a);
    await expectStoreEmpty(p);
    expect(a.b2bua.stats.started).toBe(0);
  }, 30_000);

  it('a Redis that does not answer within storeTimeoutMs counts as unreachable (closed: 503), and the lease it may have added is removed', async () => {
    const p = prefix();
    const a = await shared({ instance: 'gw-a', prefix: p, storeTimeoutMs: 100 });
    await redis.client().call('CLIENT', 'PAUSE', '400', 'ALL');
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 503, finalReason: 'Service Unavailable' }), target: sipTarget(a), calls: 1 });
    expect(r.successful, r.errorLog).toBe(1);
    await expectAllReleased(a);
    // the script ran once Redis resumed and added a lease: it is removed (not left for leaseTtlMs)
    await expectStoreEmpty(p);
    expect(sampleValue(await adminClient(a).metrics(), 'trunkgate_limit_store_errors_total', { instance: 'gw-a', operation: 'admission' })).toBe(1);
  }, 30_000);
});

describe('the admin API and metrics across instances', () => {
  it('a Console CPS change through one instance applies to all', async () => {
    const p = prefix();
    const a = await shared({ instance: 'gw-a', prefix: p, cps: 1 });
    const b = await shared({ instance: 'gw-b', prefix: p, cps: 1 });
    const changed = await adminClient(a).post<TrunkView>('/v1/trunks/demo/cps', { region: 'us1', cps: 5 });
    expect(changed.status).toBe(200);
    await waitFor(async () => (await adminClient(b).get<TrunkView>('/v1/trunks/demo')).json.regions.find((r) => r.region === 'us1')?.source === 'console', { what: 'b to see it' });
    expect((await adminClient(b).get<TrunkView>('/v1/trunks/demo')).json.regions.find((r) => r.region === 'us1')).toMatchObject({ cps: 5, source: 'console' });
    // b admits at the new CPS: a burst of 8 at once gets 5 through (burst = CPS 5), not 1
    const r = await runSipp({ scenario: PACK + 'cps-burst.xml', target: sipTarget(b), called: '+14155550123', calls: 8, rate: 1000, traceCounts: true, extraArgs: TRUNK_HOST });
    expect(r.failed, r.errorLog).toBe(0);
    expect(count(r, /^\d+_200_Recv$/)).toBe(5);
    await expectAllReleased(b);
    const metrics = await adminClient(b).metrics();
    expect(sampleValue(metrics, 'trunkgate_cps_limit', { instance: 'gw-b', trunk: 'demo', region: 'us1' })).toBe(5);
  }, 30_000);

  it('/readyz and /metrics name the store and the instance; every series carries the instance label', async () => {
    const p = prefix();
    const a = await shared({ instance: 'gw-a', prefix: p });
    const ready = await adminClient(a).get('/readyz');
    expect(ready.json).toEqual({ status: 'ready', store: { kind: 'redis', status: 'ready', onFailure: 'closed' } });
    const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: sipTarget(a), calls: 3, rate: 20 });
    expect(r.successful, r.errorLog).toBe(3);
    await expectAllReleased(a);
    const text = await adminClient(a).metrics();
    expect(sampleValue(text, 'trunkgate_limit_store_seconds_count', { instance: 'gw-a', operation: 'admission' })).toBe(3);
    expect(sampleValue(text, 'trunkgate_limit_store_up', { instance: 'gw-a' })).toBe(1);
    for (const line of text.split('\n')) if (line.length > 0 && !line.startsWith('#')) expect(line, line).toContain('instance="gw-a"');
  }, 30_000);

  it('a password in limits.store works and is never logged', async () => {
    const secured = await startRedis({ password: 'Redis-secret-42' });
    try {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      });
      const g = createGateway({ config: testConfig(sharedPatch({ instance: 'gw-s', prefix: prefix(), store: secured.url })), logger: pino({ level: 'debug' }, sink) });
      gateways.push(g);
      await g.start();
      expect(g.limits.state().status).toBe('ready');
      const r = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: sipTarget(g), calls: 1 });
      expect(r.successful, r.errorLog).toBe(1);
      await secured.stop();
      await waitFor(() => g.limits.state().status === 'unavailable', { what: 'the store gone' });
      const log = lines.join('');
      expect(log).toContain('<redacted>');
      expect(log).not.toContain('Redis-secret-42');
    } finally {
      await secured.dispose();
    }
  }, 30_000);
});
