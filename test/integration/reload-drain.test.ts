/**
 * Reload and drain (SPEC §7.1, §8): a reload swaps limits for new calls while
 * calls in progress keep their leases; a bad file leaves the running
 * configuration in place; a drain refuses new calls with 503 + Retry-After
 * and lets calls end (or ends them at shutdown.drainMs). Then the same through
 * the real command line: SIGHUP and SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type ConfigResult, DEFAULT_CONFIG_PATH, readConfigRaw, validateConfig } from '../../src/config/load.js';
import { type Gateway, createGateway } from '../../src/gateway.js';
import type { CallView, TrunkView } from '../../src/http/admin-api.js';
import { TEST_BASE, merge, sipTarget } from '../support/gateway.js';
import { type AdminClient, adminClient, sampleValue } from '../support/http.js';
import { type PbxScenario, pbxScenario } from '../support/scenarios.js';
import { type SippResult, type StartedSipp, runSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';
import { expectAllReleased, expectSippSucceeded } from '../support/assertions.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BURST = new URL('../../sip-scenarios/cps-burst.xml', import.meta.url).pathname;
const CALLED = '+14155550123';

let gateway: Gateway | undefined;
const sipps: StartedSipp[] = [];

afterEach(async () => {
  for (const s of sipps.splice(0)) s.kill();
  await gateway?.stop();
  gateway = undefined;
});

type Patch = Record<string, unknown>;

function trunk(extra: Patch = {}): Patch {
  return { name: 'demo', account: 'demo', auth: { ipAcl: ['127.0.0.0/8', '::1/128'] }, route: 'builtin', ...extra };
}

/** A configuration file on disk: the default config, the test changes, then `patch`; rewrite it with `write`. */
function configFile(patch: Patch): { path: string; write(patch: Patch | string): void } {
  const path = join(mkdtempSync(join(tmpdir(), 'trunkgate-reload-')), 'trunkgate.yaml');
  const write = (p: Patch | string): void => {
    if (typeof p === 'string') {
      writeFileSync(path, p);
      return;
    }
    const raw = readConfigRaw(DEFAULT_CONFIG_PATH);
    if (!raw.ok) throw new Error('the default config does not load');
    writeFileSync(path, stringify(merge(merge(raw.raw, TEST_BASE), p)));
  };
  write(patch);
  return { path, write };
}

function load(path: string): ConfigResult {
  const raw = readConfigRaw(path);
  return raw.ok ? validateConfig(raw.raw) : raw;
}

/** A gateway started from a file that POST /v1/reload reads again. */
async function startFromFile(path: string): Promise<{ g: Gateway; api: AdminClient }> {
  const first = load(path);
  if (!first.ok) throw new Error(`invalid test config: ${JSON.stringify(first.problems)}`);
  gateway = createGateway({ config: first.config, reloadConfig: () => load(path) });
  await gateway.start();
  return { g: gateway, api: adminClient(gateway) };
}

async function startWith(patch: Patch): Promise<{ g: Gateway; api: AdminClient }> {
  return startFromFile(configFile(patch).path);
}



function pbx(g: Gateway, scenario: Partial<PbxScenario>): Promise<StartedSipp> {
  return startSipp({
    scenario: pbxScenario({ number: CALLED, final: 200, ...scenario }),
    target: sipTarget(g),
    calls: 1,
    timeoutSeconds: 20,
  }).then((s) => {
    sipps.push(s);
    return s;
  });
}

async function call(g: Gateway, scenario: Partial<PbxScenario> = {}): Promise<SippResult> {
  return (await pbx(g, { then: { kind: 'bye', afterMs: 0 }, ...scenario })).done;
}

/** Wait until GET /v1/calls shows `n` answered calls. */
async function answered(api: AdminClient, n: number): Promise<CallView[]> {
  return waitFor(
    async () => {
      const calls = (await api.get<CallView[]>('/v1/calls')).json;
      return calls.filter((c) => c.state === 'answered').length === n ? calls : undefined;
    },
    { what: `${n} answered call(s) in GET /v1/calls` },
  );
}

async function cpsOf(api: AdminClient, name = 'demo', region = 'us1'): Promise<{ cps: number; source: string }> {
  const view = (await api.get<TrunkView>(`/v1/trunks/${name}`)).json;
  const r = view.regions.find((x) => x.region === region);
  if (r === undefined) throw new Error(`no region ${region}`);
  return { cps: r.cps, source: r.source };
}

async function reloads(api: AdminClient, result: 'success' | 'failure'): Promise<number | undefined> {
  return sampleValue(await api.metrics(), 'trunkgate_config_reloads_total', { result });
}

/** 10 call setups at once with cps-burst.xml: how many were admitted. */
async function burst(g: Gateway, calls = 10): Promise<{ admitted: number; elapsedSeconds: number }> {
  const began = Date.now();
  const r = await runSipp({
    scenario: BURST,
    target: sipTarget(g),
    called: CALLED,
    calls,
    rate: 200,
    timeoutSeconds: 20,
    traceCounts: true,
    extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com'],
  });
  const elapsedSeconds = (Date.now() - began) / 1000;
  expectSippSucceeded(r, calls);
  const ok = Object.entries(r.counts).find(([k]) => /^\d+_200_Recv$/.test(k))?.[1] ?? 0;
  return { admitted: ok, elapsedSeconds };
}

// ------------------------------------------------------------------ reload

describe('POST /v1/reload', () => {
  const SIP = { unknownDomain: 'reject', fallbackTrunk: null };

  it('a good file: new CPS for new calls; calls in progress keep their leases, also on a removed trunk', async () => {
    const file = configFile({ sip: SIP, trunks: [trunk({ cps: { default: 1 } }), trunk({ name: 'second', cps: { default: 10 } })] });
    const { g, api } = await startFromFile(file.path);
    expect(await reloads(api, 'success')).toBe(0);
    // one call in progress on each trunk; the PBX hangs up after 3 s
    const onDemo = await pbx(g, { then: { kind: 'bye', afterMs: 3000 } });
    const onSecond = await pbx(g, { domain: 'second.pstn.twilio.com', then: { kind: 'bye', afterMs: 3000 } });
    const before = await answered(api, 2);
    expect(before.map((c) => c.trunk).sort()).toEqual(['demo', 'second']);

    file.write({ sip: SIP, trunks: [trunk({ cps: { default: 3 } })] });
    const r = await api.post('/v1/reload');
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ trunks: 1, accounts: 1, warnings: [] });
    expect(await reloads(api, 'success')).toBe(1);
    expect(await reloads(api, 'failure')).toBe(0);

    // the new configuration is in force
    expect(await cpsOf(api)).toEqual({ cps: 3, source: 'config' });
    expect((await api.get<TrunkView[]>('/v1/trunks')).json.map((t) => t.name)).toEqual(['demo']);
    expect((await api.get('/v1/trunks/second')).status).toBe(404);
    // both calls still up, each with its lease
    expect((await api.get<CallView[]>('/v1/calls')).json.map((c) => c.id).sort()).toEqual(before.map((c) => c.id).sort());
    expect(g.directory.trunks.get('demo')?.leaseScope.active).toBe(1);
    // the removed trunk's scope is gone from the directory but still counts its call
    expect(g.directory.trunks.has('second')).toBe(false);
    expect([...g.tracker.busyScopes()].find((s) => s.kind === 'trunk' && s.name === 'second')?.active).toBe(1);

    // new calls: a burst of 3 (it was 1), and the removed trunk takes no new calls
    const b = await burst(g);
    expect(b.admitted).toBeGreaterThanOrEqual(3);
    expect(b.admitted).toBeLessThanOrEqual(3 + 3 * b.elapsedSeconds);
    expectSippSucceeded(await call(g, { domain: 'second.pstn.twilio.com', final: 403, finalReason: 'Forbidden' }));

    // the calls in progress end normally, each lease released once
    expectSippSucceeded(await onDemo.done);
    expectSippSucceeded(await onSecond.done);
    await expectAllReleased(g);
    expect(g.b2bua.stats.ended.answered).toBe(2 + b.admitted);
    expect(g.b2bua.stats.ended.shutdown + g.b2bua.stats.ended.admin).toBe(0);
    expect(sampleValue(await api.metrics(), 'trunkgate_lease_double_release_total')).toBe(0);
  });

  it('a CPS set through the Console API stays in force across a reload', async () => {
    const file = configFile({ trunks: [trunk({ cps: { default: 1 } })] });
    const { api } = await startFromFile(file.path);
    expect((await api.post('/v1/trunks/demo/cps', { region: 'us1', cps: 5 })).status).toBe(200);
    file.write({ trunks: [trunk({ cps: { default: 2 } })] });
    expect((await api.post('/v1/reload')).status).toBe(200);
    expect(await cpsOf(api, 'demo', 'us1')).toEqual({ cps: 5, source: 'console' });
    expect(await cpsOf(api, 'demo', 'us2')).toEqual({ cps: 2, source: 'config' });
  });

  it('a bad file: 422 CONFIG_INVALID with every problem and its path; the running configuration stays', async () => {
    const file = configFile({ trunks: [trunk({ cps: { default: 1 } })] });
    const { g, api } = await startFromFile(file.path);
    const running = g.config;
    file.write({ trunks: [trunk({ cps: { default: -1 }, speed: 3 })] });

    const r = await api.post<{ code: string; message: string; details: Array<{ path: string; message: string }> }>('/v1/reload');
    expect(r.status, r.text).toBe(422);
    expect(r.json.code).toBe('CONFIG_INVALID');
    expect(r.json.message).toMatch(/running configuration stays/);
    const paths = r.json.details.map((d) => d.path);
    expect(paths).toContain('trunks[0].cps.default');
    expect(paths).toContain('trunks[0].speed');
    for (const d of r.json.details) expect(d.message.length).toBeGreaterThan(0);
    expect(await reloads(api, 'failure')).toBe(1);
    expect(await reloads(api, 'success')).toBe(0);

    // still the old settings: CPS 1, and calls admitted
    expect(g.config).toBe(running);
    expect(await cpsOf(api)).toEqual({ cps: 1, source: 'config' });
    expectSippSucceeded(await call(g));

    // a file that is not even YAML: the same
    file.write('trunks: [ { name: demo\n');
    const broken = await api.post<{ code: string; details: unknown[] }>('/v1/reload');
    expect(broken.status, broken.text).toBe(422);
    expect(broken.json.code).toBe('CONFIG_INVALID');
    expect(broken.json.details.length).toBeGreaterThan(0);
    expect(await reloads(api, 'failure')).toBe(2);
    expect(g.config).toBe(running);

    // fixed: the reload goes through
    file.write({ trunks: [trunk({ cps: { default: 4 } })] });
    expect((await api.post('/v1/reload')).status).toBe(200);
    expect(await cpsOf(api)).toEqual({ cps: 4, source: 'config' });
    expect(await reloads(api, 'success')).toBe(1);
    await expectAllReleased(g);
  });
});

// ------------------------------------------------------------------ drain

describe('drain', () => {
  it('refuses new calls (503 + Retry-After, /readyz 503), lets the call in progress end, then resolves', async () => {
    const { g, api } = await startWith({ shutdown: { drainMs: 10_000 } });
    const held = await pbx(g, { then: { kind: 'bye', afterMs: 2000 } });
    await answered(api, 1);

    let drainedAt: number | undefined;
    const drained = g.drain().then(() => {
      drainedAt = Date.now();
    });
    const base = api.base;
    const ready = await api.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'draining' });

    const refused = await call(g, {
      final: 503,
      finalReason: 'Service Unavailable',
      finalMustMatch: [{ header: 'Retry-After', regexp: '[0-9]' }],
    });
    expectSippSucceeded(refused);
    expect(sampleValue(await api.metrics(), 'trunkgate_call_attempts_total', { trunk: 'demo', region: 'us1', outcome: 'draining' })).toBe(
      1,
    );
    // the held call is still up, so the drain has not finished
    expect(g.b2bua.activeCalls).toBe(1);
    expect(drainedAt).toBeUndefined();

    expectSippSucceeded(await held.done);
    const callEndedAt = Date.now();
    await drained;
    expect(drainedAt).toBeGreaterThanOrEqual(callEndedAt - 100);
    expect(g.b2bua.stats.ended.answered).toBe(1);
    expect(g.b2bua.stats.ended.shutdown).toBe(0);
    expect(g.tracker.doubleReleases).toBe(0);
    expect(g.tracker.issued).toBe(g.tracker.released);
    // stopped: HTTP is closed
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    gateway = undefined;
  });

  it('ends a call still up at shutdown.drainMs with a BYE, then resolves', async () => {
    const { g, api } = await startWith({ shutdown: { drainMs: 300 } });
    const held = await pbx(g, { then: { kind: 'wait-bye' } });
    await answered(api, 1);

    const began = Date.now();
    await g.drain();
    expect(Date.now() - began).toBeGreaterThanOrEqual(300);
    // the PBX's scenario completes only when it got the BYE and answered it
    expectSippSucceeded(await held.done);
    expect(g.b2bua.stats.ended.shutdown).toBe(1);
    expect(g.tracker.active).toBe(0);
    expect(g.tracker.doubleReleases).toBe(0);
    expect(g.tracker.issued).toBe(g.tracker.released);
    gateway = undefined;
  });
});

// ------------------------------------------------------------------ the command line

describe('the command line: SIGHUP reloads, SIGTERM drains and exits 0', () => {
  let child: ChildProcess | undefined;

  // dist/ is built once for all files by test/global-setup.ts

  afterAll(() => {
    // only the process this file started, by its PID
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  });


  it('runs node dist/cli.js with a config file', async () => {
    const file = configFile({ trunks: [trunk({ cps: { default: 1 } })] });
    const proc = spawn(process.execPath, ['dist/cli.js', '--config', file.path, '--log-level', 'warn'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const pid = proc.pid;
    if (pid === undefined) throw new Error('no pid');

    const banner = await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`trunkgate exited ${proc.exitCode}: ${stderr}`);
        // the banner is on stderr (stdout is the log's)
        return /trunkgate listening on udp:\/\/127\.0\.0\.1:(\d+), tcp:\/\/127\.0\.0\.1:(\d+); HTTP on http:\/\/127\.0\.0\.1:(\d+)/.exec(
          stderr,
        );
      },
      { timeoutMs: 15_000, what: 'the start-up banner', detail: () => stdout + stderr },
    );
    const [udpPort, , httpPort] = [Number(banner[1]), Number(banner[2]), Number(banner[3])];
    expect(udpPort).toBeGreaterThan(0);
    const api = adminClient(`http://127.0.0.1:${httpPort}`);
    expect((await api.get('/readyz')).status).toBe(200);
    expect(await reloads(api, 'success')).toBe(0);

    // a call through the real process
    const r = await runSipp({
      scenario: pbxScenario({ number: CALLED, final: 200, then: { kind: 'bye', afterMs: 0 } }),
      target: `127.0.0.1:${udpPort}`,
      calls: 1,
      timeoutSeconds: 20,
    });
    expectSippSucceeded(r);

    // SIGHUP: the file is read again
    file.write({ trunks: [trunk({ cps: { default: 7 } })] });
    process.kill(pid, 'SIGHUP');
    await waitFor(async () => (await reloads(api, 'success')) === 1, { timeoutMs: 10_000, what: 'the SIGHUP reload' });
    expect(await cpsOf(api)).toEqual({ cps: 7, source: 'config' });

    // SIGHUP with a bad file: counted, logged, still running with the old settings
    file.write({ trunks: [trunk({ cps: { default: 'fast' } })] });
    process.kill(pid, 'SIGHUP');
    await waitFor(async () => (await reloads(api, 'failure')) === 1, { timeoutMs: 10_000, what: 'the failed SIGHUP reload' });
    expect(await cpsOf(api)).toEqual({ cps: 7, source: 'config' });
    expect(proc.exitCode).toBeNull();
    await waitFor(() => stdout.includes('SIGHUP:'), { timeoutMs: 5_000, what: 'the reload failure in the log', detail: () => stdout });

    // SIGTERM: drains (no calls) and exits 0
    process.kill(pid, 'SIGTERM');
    const code = await waitFor(
      () => (proc.exitCode === null && proc.signalCode === null ? undefined : { exit: proc.exitCode, signal: proc.signalCode }),
      {
        timeoutMs: 15_000,
        what: 'trunkgate to exit after SIGTERM',
        detail: () => stdout + stderr,
      },
    );
    expect(code).toEqual({ exit: 0, signal: null });
    // stderr had the banner and nothing else
    expect(stderr.split('\n').filter((l) => l !== '' && !/^(trunkgate listening on |trunks: |status page: )/.test(l))).toEqual([]);
  });
});
