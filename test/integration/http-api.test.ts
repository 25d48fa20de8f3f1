/**
 * The HTTP side (SPEC §7.3) over real HTTP against a started gateway: health,
 * trunks with their live state, the Console's CPS rules (SPEC §3), active
 * calls and admin hang-up (the PBX is real SIPp), the alert log, the bearer
 * token, the body size limit and JSON errors with stable codes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert-log.js';
import { REGIONS } from '../../src/config/schema.js';
import type { Gateway } from '../../src/gateway.js';
import type { CallView, TrunkView } from '../../src/http/admin-api.js';
import { startOfNextMonthUtc } from '../../src/termination/cps-console.js';
import { sipTarget, startTestGateway } from '../support/gateway.js';
import { type AdminClient, type HttpReply, adminClient, sampleValue } from '../support/http.js';
import { type PbxScenario, pbxScenario } from '../support/scenarios.js';
import { type SippResult, type StartedSipp, runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';

const BURST = new URL('../../sip-scenarios/cps-burst.xml', import.meta.url).pathname;
const CALLED = '+14155550123';

let gateway: Gateway | undefined;
const sipps: StartedSipp[] = [];

afterEach(async () => {
  for (const s of sipps.splice(0)) s.kill();
  await gateway?.stop();
  gateway = undefined;
});

function trunk(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'demo', account: 'demo', auth: { ipAcl: ['127.0.0.0/8', '::1/128'] }, route: 'builtin', ...extra };
}

async function start(patch: Record<string, unknown> = {}): Promise<{ g: Gateway; api: AdminClient }> {
  gateway = await startTestGateway(patch);
  return { g: gateway, api: adminClient(gateway) };
}

/** Active calls and leases back to 0, and not one lease released twice. */


async function call(g: Gateway, scenario: Partial<PbxScenario> = {}): Promise<SippResult> {
  return runSipp({
    scenario: pbxScenario({ number: CALLED, final: 200, then: { kind: 'bye', afterMs: 0 }, ...scenario }),
    target: sipTarget(g),
    calls: 1,
    timeoutSeconds: 20,
  });
}

/** Start a call the PBX holds until the gateway hangs it up (or for `afterMs`), and wait until GET /v1/calls shows it answered. */
async function heldCall(
  g: Gateway,
  api: AdminClient,
  then: PbxScenario['then'] = { kind: 'wait-bye' },
): Promise<{ sipp: StartedSipp; view: CallView }> {
  const sipp = await startSipp({
    scenario: pbxScenario({ number: CALLED, final: 200, then }),
    target: sipTarget(g),
    calls: 1,
    timeoutSeconds: 20,
  });
  sipps.push(sipp);
  const view = await waitFor(
    async () => {
      const r = await api.get<CallView[]>('/v1/calls');
      return r.json.find((c) => c.state === 'answered');
    },
    { what: 'GET /v1/calls to show the answered call' },
  );
  return { sipp, view };
}

function region(view: TrunkView, name: string): TrunkView['regions'][number] {
  const r = view.regions.find((x) => x.region === name);
  if (r === undefined) throw new Error(`no region ${name} in ${JSON.stringify(view.regions)}`);
  return r;
}

function expectError(r: HttpReply, status: number, code: string | number): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(r.json).toMatchObject({ code, message: expect.any(String) });
}

// ------------------------------------------------------------------ health

describe('health', () => {
  it('/healthz 200; /readyz 200, then 503 {"status":"draining"} once draining', async () => {
    const { g, api } = await start();
    const health = await api.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
    const ready = await api.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready' });

    g.draining = true;
    const draining = await api.get('/readyz');
    expect(draining.status).toBe(503);
    expect(draining.json).toEqual({ status: 'draining' });
    // the process is still up
    expect((await api.get('/healthz')).status).toBe(200);
  });
});

// ------------------------------------------------------------------ trunks

describe('GET /v1/trunks', () => {
  it('configuration plus live CPS state: per region with its source, tokens available after a call', async () => {
    // CPS 0.2: a spent token takes 5 s to come back, so the count below does not race the refill
    const { g, api } = await start({ trunks: [trunk({ cps: { default: 0.2, ie1: 2 }, burst: 3, maxConcurrentCalls: 7 })] });
    const list = await api.get<TrunkView[]>('/v1/trunks');
    expect(list.status).toBe(200);
    expect(list.json).toHaveLength(1);
    const demo = list.json[0] as TrunkView;
    expect(demo).toMatchObject({
      name: 'demo',
      terminationUri: 'demo.pstn.twilio.com',
      account: { name: 'demo', type: 'business-pcp', legacy: false, active: true },
      homeRegion: 'us1',
      route: 'builtin',
      cpsAlgorithm: 'token-bucket',
      pooledCps: null,
      concurrency: { active: 0, trunkCap: 7, accountActive: 0, accountCap: null },
      auth: { ipAcl: ['127.0.0.0/8', '::1/128'], credentialUsernames: [] },
      maxCallDurationSeconds: 4 * 3600,
    });
    expect(demo.regions.map((r) => r.region)).toEqual(['us1', 'us2', 'ie1', 'de1', 'sg1', 'jp1', 'br1', 'au1']);
    expect(region(demo, 'us1')).toEqual({ region: 'us1', cps: 0.2, source: 'config', pending: null, available: null, burst: 3, toleranceMs: 100 });
    expect(region(demo, 'ie1')).toMatchObject({ cps: 2, source: 'config', available: null });
    const one = await api.get<TrunkView>('/v1/trunks/demo');
    expect(one.status).toBe(200);
    expect(one.json).toEqual(demo);

    expectSippSucceeded(await call(g));
    const after = (await api.get<TrunkView>('/v1/trunks/demo')).json;
    // one token of 3 spent, refilling at 0.2 per second
    const available = region(after, 'us1').available;
    expect(available).toBeGreaterThanOrEqual(2);
    expect(available).toBeLessThan(3);
    expect(region(after, 'ie1').available).toBeNull();
    await expectAllReleased(g);
  });

  it('active calls during a held call', async () => {
    const { g, api } = await start({ trunks: [trunk({ cps: { default: 10 } })] });
    const { sipp } = await heldCall(g, api, { kind: 'bye', afterMs: 1500 });
    const during = (await api.get<TrunkView>('/v1/trunks/demo')).json;
    expect(during.concurrency.active).toBe(1);
    expect(during.concurrency.accountActive).toBe(1);
    expect(sampleValue(await api.metrics(), 'trunkgate_active_calls', { trunk: 'demo' })).toBe(1);
    expectSippSucceeded(await sipp.done);
    await expectAllReleased(g);
    expect((await api.get<TrunkView>('/v1/trunks/demo')).json.concurrency.active).toBe(0);
  });

  it('an unknown trunk is 404 TRUNK_NOT_FOUND', async () => {
    const { api } = await start();
    const r = await api.get('/v1/trunks/nope');
    expectError(r, 404, 'TRUNK_NOT_FOUND');
    expect((r.json as { message: string }).message).toContain('"nope"');
  });
});

// ------------------------------------------------------------------ the Console's CPS

describe('POST /v1/trunks/:name/cps', () => {
  it('a business account raises its CPS to 5 itself: 200, /metrics shows it, and the next admissions follow it', async () => {
    const { g, api } = await start({ trunks: [trunk({ cps: { default: 1 } })] });
    // one call at CPS 1 first: the limiter in use has burst 1 and its token spent
    expectSippSucceeded(await call(g));
    expect(region((await api.get<TrunkView>('/v1/trunks/demo')).json, 'us1')).toMatchObject({
      cps: 1,
      burst: 1,
      available: expect.any(Number),
    });
    const r = await api.post<TrunkView>('/v1/trunks/demo/cps', { region: 'us1', cps: 5 });
    expect(r.status, r.text).toBe(200);
    // the view describes the new setting, not the limiter it replaces (a fresh one starts with the next call)
    expect(region(r.json, 'us1')).toMatchObject({ cps: 5, source: 'console', pending: null, burst: 5, available: null });
    expect(region(r.json, 'us2')).toMatchObject({ cps: 1, source: 'config' });
    const metrics = await api.metrics();
    expect(sampleValue(metrics, 'trunkgate_cps_limit', { trunk: 'demo', region: 'us1' })).toBe(5);
    expect(sampleValue(metrics, 'trunkgate_cps_limit', { trunk: 'demo', region: 'us2' })).toBe(1);

    // 20 call setups at once: a burst of 5 (it was 1) and no more than 5 per second after it
    const began = Date.now();
    const burst = await runSipp({
      scenario: BURST,
      target: sipTarget(g),
      called: CALLED,
      calls: 20,
      rate: 200,
      timeoutSeconds: 20,
      traceCounts: true,
      extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com'],
    });
    const elapsedSeconds = (Date.now() - began) / 1000;
    expectSippSucceeded(burst, 20);
    const after = await api.metrics();
    const admitted = sampleValue(after, 'trunkgate_call_attempts_total', { trunk: 'demo', region: 'us1', outcome: 'admitted' }) ?? 0;
    const limited = sampleValue(after, 'trunkgate_call_attempts_total', { trunk: 'demo', region: 'us1', outcome: 'cps_limited' }) ?? 0;
    expect(admitted + limited).toBe(1 + 20);
    expect(admitted).toBeGreaterThanOrEqual(1 + 5);
    expect(admitted - 1).toBeLessThanOrEqual(5 + 5 * elapsedSeconds);
    expect(region((await api.get<TrunkView>('/v1/trunks/demo')).json, 'us1')).toMatchObject({
      cps: 5,
      burst: 5,
      available: expect.any(Number),
    });
    await expectAllReleased(g);
  });

  it('50 is refused (403, 21251, alert), force: true is allowed; a next-month decrease is pending and changes nothing yet', async () => {
    const { api } = await start({ trunks: [trunk({ cps: { default: 1 } })] });
    const refused = await api.post('/v1/trunks/demo/cps', { region: 'us1', cps: 50 });
    expectError(refused, 403, 21251);
    expect((refused.json as { message: string }).message).toMatch(/^Trunking CPS change not allowed: .*up to 5 CPS/);
    const alerts = (await api.get<Alert[]>('/v1/alerts')).json;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ code: 21251, text: 'Trunking CPS change not allowed', trunk: 'demo' });
    expect(region((await api.get<TrunkView>('/v1/trunks/demo')).json, 'us1')).toMatchObject({ cps: 1, source: 'config' });
    expect(sampleValue(await api.metrics(), 'trunkgate_alerts_total', { code: '21251' })).toBe(1);

    const forced = await api.post<TrunkView>('/v1/trunks/demo/cps', { region: 'us1', cps: 50, force: true });
    expect(forced.status, forced.text).toBe(200);
    expect(region(forced.json, 'us1')).toMatchObject({ cps: 50, source: 'console', pending: null });
    expect(sampleValue(await api.metrics(), 'trunkgate_cps_limit', { trunk: 'demo', region: 'us1' })).toBe(50);

    const askedAt = Date.now();
    const lower = await api.post<TrunkView>('/v1/trunks/demo/cps', { region: 'us1', cps: 2, effective: 'next-month' });
    expect(lower.status, lower.text).toBe(200);
    const expectedAt = new Date(startOfNextMonthUtc(askedAt)).toISOString();
    expect(region(lower.json, 'us1')).toMatchObject({ cps: 50, source: 'console', pending: { cps: 2, effectiveAt: expectedAt } });
    expect(expectedAt).toMatch(/-01T00:00:00\.000Z$/);
    expect(region((await api.get<TrunkView>('/v1/trunks/demo')).json, 'us1').cps).toBe(50);
    expect(sampleValue(await api.metrics(), 'trunkgate_cps_limit', { trunk: 'demo', region: 'us1' })).toBe(50);
    // other regions are untouched
    expect(region(lower.json, 'ie1')).toMatchObject({ cps: 1, source: 'config', pending: null });
  });

  it('a trial account may not raise its CPS (403 21251); setting 1 is allowed', async () => {
    const { api } = await start({
      accounts: [{ name: 'demo', type: 'trial', verifiedNumbers: [CALLED] }],
      trunks: [trunk({ cps: { default: 1 } })],
    });
    const r = await api.post('/v1/trunks/demo/cps', { region: 'us1', cps: 2 });
    expectError(r, 403, 21251);
    expect((r.json as { message: string }).message).toContain("a trial account's CPS stays at 1");
    expect((await api.get<Alert[]>('/v1/alerts')).json.map((a) => a.code)).toEqual([21251]);
    const one = await api.post<TrunkView>('/v1/trunks/demo/cps', { region: 'us1', cps: 1 });
    expect(one.status, one.text).toBe(200);
    expect(region(one.json, 'us1')).toMatchObject({ cps: 1, source: 'console' });
  });

  it('an unknown trunk is 404 TRUNK_NOT_FOUND', async () => {
    const { api } = await start();
    expectError(await api.post('/v1/trunks/nope/cps', { region: 'us1', cps: 2 }), 404, 'TRUNK_NOT_FOUND');
  });

  const JSON_CT = 'application/json';
  it.each([
    ['region missing', JSON.stringify({ cps: 2 }), JSON_CT, /region/],
    ['region "mars"', JSON.stringify({ region: 'mars', cps: 2 }), JSON_CT, /region: expected one of us1/],
    ['cps -1', JSON.stringify({ region: 'us1', cps: -1 }), JSON_CT, /cps: /],
    ['cps 0', JSON.stringify({ region: 'us1', cps: 0 }), JSON_CT, /cps: /],
    ['cps as a string', JSON.stringify({ region: 'us1', cps: '5' }), JSON_CT, /cps: /],
    ['cps missing', JSON.stringify({ region: 'us1' }), JSON_CT, /cps: /],
    ['an unknown field', JSON.stringify({ region: 'us1', cps: 2, speed: 'fast' }), JSON_CT, /unknown field.*speed/],
    ['effective "tomorrow"', JSON.stringify({ region: 'us1', cps: 2, effective: 'tomorrow' }), JSON_CT, /effective: /],
    ['force "yes"', JSON.stringify({ region: 'us1', cps: 2, force: 'yes' }), JSON_CT, /force: /],
    ['not JSON', '{region: us1, cps: 2', JSON_CT, /body: .*JSON/],
    ['an empty JSON body', '', JSON_CT, /body: /],
    ['a JSON array', '[{"region":"us1","cps":2}]', JSON_CT, /body: .*object/],
    ['a JSON string', '"us1"', JSON_CT, /body: .*object/],
    // text/plain and forms get 415 before any parsing: test/integration/hardening-admin.test.ts
  ])('bad body (%s): 400 BAD_BODY naming the field, nothing changed', async (_name, raw, contentType, message) => {
    const { api } = await start({ trunks: [trunk({ cps: { default: 1 } })] });
    const r = await api.request('POST', '/v1/trunks/demo/cps', { raw, contentType });
    expectError(r, 400, 'BAD_BODY');
    expect((r.json as { message: string }).message).toMatch(message);
    expect(region((await api.get<TrunkView>('/v1/trunks/demo')).json, 'us1')).toMatchObject({ cps: 1, source: 'config' });
  });

  it('no body at all: 400 BAD_BODY', async () => {
    const { api } = await start();
    const r = await api.request('POST', '/v1/trunks/demo/cps');
    expectError(r, 400, 'BAD_BODY');
  });
});

// ------------------------------------------------------------------ calls

describe('GET /v1/calls, DELETE /v1/calls/:id', () => {
  it('lists a held call; DELETE hangs it up: 204, the PBX gets the BYE, the lease is released', async () => {
    const { g, api } = await start();
    expect((await api.get('/v1/calls')).json).toEqual([]);
    const { sipp, view } = await heldCall(g, api);
    expect(view).toMatchObject({
      trunk: 'demo',
      account: 'demo',
      region: 'us1',
      edge: null,
      route: 'builtin',
      state: 'answered',
      from: '+14155550100',
      to: CALLED,
    });
    expect(view.id).toMatch(/^CA[0-9a-f]{32}$/);
    expect(Date.parse(view.createdAt)).not.toBeNaN();
    expect(Date.parse(view.answeredAt ?? '')).not.toBeNaN();
    expect((await api.get<CallView[]>('/v1/calls')).json).toHaveLength(1);
    expect((await api.get<TrunkView>('/v1/trunks/demo')).json.concurrency.active).toBe(1);

    const del = await api.del(`/v1/calls/${view.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    // the PBX's scenario completes only if the BYE reached it and it answered 200
    expectSippSucceeded(await sipp.done);
    await expectAllReleased(g);
    expect((await api.get('/v1/calls')).json).toEqual([]);
    expect(g.b2bua.stats.ended.admin).toBe(1);
    const metrics = await api.metrics();
    expect(sampleValue(metrics, 'trunkgate_calls_ended_total', { trunk: 'demo', disposition: 'admin' })).toBe(1);
    expect(sampleValue(metrics, 'trunkgate_active_calls', { trunk: 'demo' })).toBe(0);

    // the same id again: gone
    expectError(await api.del(`/v1/calls/${view.id}`), 404, 'CALL_NOT_FOUND');
  });

  it('an unknown call id is 404 CALL_NOT_FOUND', async () => {
    const { api } = await start();
    expectError(await api.del('/v1/calls/CA00000000000000000000000000000000'), 404, 'CALL_NOT_FOUND');
  });
});

// ------------------------------------------------------------------ alerts

describe('GET /v1/alerts', () => {
  it('lists alerts in order; ?since=<seq> and ?since=<ISO time> keep the later ones; a bad since is 400', async () => {
    const { g, api } = await start({ trunks: [trunk({ cps: { default: 1 } })] });
    expect((await api.get('/v1/alerts')).json).toEqual([]);
    // alert 1: a refused CPS change; alert 2: a call to a blocked number
    expect((await api.post('/v1/trunks/demo/cps', { region: 'us1', cps: 500 })).status).toBe(403);
    const [first] = (await api.get<Alert[]>('/v1/alerts')).json;
    if (first === undefined) throw new Error('no alert');
    await waitFor(() => Date.now() > Date.parse(first.time), { what: 'the clock to pass the first alert' });
    expectSippSucceeded(await call(g, { number: '+19005550100', final: 403, finalReason: 'Phone number is blocked for verification' }));

    const all = await api.get<Alert[]>('/v1/alerts');
    expect(all.status).toBe(200);
    expect(all.json.map((a) => a.code)).toEqual([21251, 32203]);
    const second = all.json[1] as Alert;
    expect(second).toMatchObject({ trunk: 'demo', text: expect.any(String) });
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(Date.parse(second.time)).toBeGreaterThan(Date.parse(first.time));

    const bySeq = (since: string): Promise<number[]> =>
      api.get<Alert[]>(`/v1/alerts?since=${encodeURIComponent(since)}`).then((r) => r.json.map((a) => a.code));
    expect(await bySeq('0')).toEqual([21251, 32203]);
    expect(await bySeq(String(first.seq))).toEqual([32203]);
    expect(await bySeq(String(second.seq))).toEqual([]);
    expect(await bySeq(first.time)).toEqual([32203]);
    expect(await bySeq('2000-01-01T00:00:00Z')).toEqual([21251, 32203]);
    expect(await bySeq(second.time)).toEqual([]);

    for (const bad of ['yesterday', '2026-13-45T00:00:00Z', '-1']) {
      const r = await api.get(`/v1/alerts?since=${encodeURIComponent(bad)}`);
      expectError(r, 400, 'BAD_SINCE');
    }
  });
});

// ------------------------------------------------------------------ the bearer token

describe('http.token', () => {
  const TOKEN = 'a-long-test-token';

  it('/v1 needs the right bearer token (401 UNAUTHORIZED otherwise); /metrics and health stay open', async () => {
    const { g, api } = await start({ http: { token: TOKEN } });
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    ];
    for (const headers of wrong) {
      const r = await api.get('/v1/trunks', headers);
      expectError(r, 401, 'UNAUTHORIZED');
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    // mutations too: nothing happens without the token
    expectError(await api.post('/v1/trunks/demo/cps', { region: 'us1', cps: 2 }), 401, 'UNAUTHORIZED');
    expectError(await api.del('/v1/calls/CA00000000000000000000000000000000'), 401, 'UNAUTHORIZED');
    expectError(await api.post('/v1/reload'), 401, 'UNAUTHORIZED');
    const demo = g.directory.trunks.get('demo');
    if (demo === undefined) throw new Error('no demo trunk');
    expect(REGIONS.some((r) => g.cpsConsole.hasSetting(demo, r))).toBe(false);

    const authorized = adminClient(g, { authorization: `Bearer ${TOKEN}` });
    const trunks = await authorized.get<TrunkView[]>('/v1/trunks');
    expect(trunks.status).toBe(200);
    expect(trunks.json.map((t) => t.name)).toEqual(['demo']);
    expect((await authorized.get('/v1/calls')).status).toBe(200);
    expect((await authorized.post('/v1/trunks/demo/cps', { region: 'us1', cps: 2 })).status).toBe(200);

    for (const path of ['/metrics', '/healthz', '/readyz']) expect((await api.get(path)).status, path).toBe(200);
  });
});

// ------------------------------------------------------------------ limits and errors

describe('request limits and errors', () => {
  it('a 1 MiB body is 413 and the gateway keeps answering', async () => {
    const { api } = await start();
    const raw = JSON.stringify({ region: 'us1', cps: 2, pad: 'x'.repeat(1024 * 1024) });
    const r = await api.request('POST', '/v1/trunks/demo/cps', { raw });
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect((await api.get('/healthz')).status).toBe(200);
    const trunks = await api.get<TrunkView[]>('/v1/trunks');
    expect(trunks.status).toBe(200);
    expect(region(trunks.json[0] as TrunkView, 'us1').source).toBe('config');
  });

  it('an unknown route is 404 JSON', async () => {
    const { api } = await start();
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/v1/nope'],
      ['POST', '/v1/trunks'],
      ['PUT', '/v1/trunks/demo/cps'],
    ] as const) {
      const r = await api.request(method, path);
      expectError(r, 404, 'NOT_FOUND');
      expect((r.json as { message: string }).message).toContain(path);
    }
  });

  it('POST /v1/reload on a gateway started without a configuration source: 409 RELOAD_UNAVAILABLE', async () => {
    const { api } = await start();
    expectError(await api.post('/v1/reload'), 409, 'RELOAD_UNAVAILABLE');
    expect(sampleValue(await api.metrics(), 'trunkgate_config_reloads_total', { result: 'failure' })).toBe(0);
  });
});
