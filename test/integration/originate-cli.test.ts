/**
 * `trunkgate originate` (SPEC §11): the built command line (dist/cli.js) in
 * a child process drives POST/GET /v1/origination on a test gateway whose
 * trunk has a SIPp UAS as its origination URI (the PBX). It shows progress
 * on stderr, prints the report (table or --json), exits 0 when every call
 * was placed, 1 when the run is cut short, 2 when it cannot start.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { OriginateReport } from '../../src/commands/originate.js';
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway } from '../support/gateway.js';
import { adminClient } from '../support/http.js';
import { type StartedSipp, startSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const ANSWER = fileURLToPath(new URL('../scenarios/pbx-inbound.xml', import.meta.url));
const DIR = mkdtempSync(join(tmpdir(), 'trunkgate-originate-'));
const NUMBERS = ['+14155550100', '+14155550101'];

let gateway: Gateway | undefined;
const sipps: StartedSipp[] = [];

afterEach(async () => {
  for (const s of sipps.splice(0)) s.kill('SIGKILL');
  await gateway?.stop();
  gateway = undefined;
});
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function originate(args: string[], onStderr?: (text: string) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'originate', ...args], { cwd: DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function http(g: Gateway): string {
  const a = g.httpAddress;
  return `${a?.host}:${a?.port}`;
}

async function pbxGateway(extra: Record<string, unknown> = {}): Promise<{ g: Gateway; pbx: StartedSipp; uri: string }> {
  const pbx = await startSipp({ scenario: ANSWER, timeoutSeconds: 60 });
  sipps.push(pbx);
  const uri = `sip:127.0.0.1:${pbx.localPort}`;
  const g = await startTestGateway({
    trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin', origination: { uris: [{ uri }], numbers: NUMBERS } }],
    ...extra,
  });
  gateway = g;
  return { g, pbx, uri };
}

describe('trunkgate originate', () => {
  it('is listed by trunkgate --help; its own --help gives the options and exit codes, exit 0', async () => {
    const top = await new Promise<Ran>((resolve) => {
      const child = spawn(process.execPath, [CLI, '--help'], { cwd: DIR, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr: '' }));
    });
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/originate \[options\]/);
    const own = await originate(['--help']);
    expect(own.code).toBe(0);
    for (const o of ['--trunk <name>', '--rate <n>', '--calls <n>', '--hold-ms <ms>', '--numbers <file>', '--http <host:port>', '--token <token>', '--json', 'Exit code: 0']) expect(own.stdout).toContain(o);
  });

  it('--json: 40 calls at 20/s to a SIPp PBX; progress on stderr, the report on stdout, exit 0', async () => {
    const { g, pbx, uri } = await pbxGateway();
    const r = await originate(['--trunk', 'demo', '--rate', '20', '--calls', '40', '--hold-ms', '100', '--http', http(g), '--json', '--progress', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as OriginateReport;
    expect(report).toMatchObject({ state: 'completed', stoppedBy: null, offered: 40, calls: 40, rate: 20, delivered: { [uri]: 40 }, failovers: 0, refusedAtCap: 0, answers: { '200': 40 }, outcomes: { answered: 40 }, active: 0 });
    expect(r.stderr).toMatch(new RegExp(`^originate: run ${report.id} started on trunk demo: 40 calls at 20/s\n`));
    expect(r.stderr).toMatch(/originate: \d+\/40 offered, \d+ delivered, 0 failovers, 0 refused at the cap, \d+ up\n/);
    // the PBX saw each call, and its BYE
    await waitFor(() => Number(pbx.stats()['SuccessfulCall(C)']) === 40, { what: 'the PBX to see 40 calls end' });
    await expectAllReleased(g);
  });

  it('the table; --numbers in the scenario pack\'s CSV format (called;caller;)', async () => {
    const { g, uri } = await pbxGateway();
    const file = join(DIR, 'numbers.csv');
    writeFileSync(file, 'SEQUENTIAL\n# called;caller\n+14155550101;+15005550006;\n');
    const r = await originate(['--trunk', 'demo', '--rate', '10', '--calls', '3', '--numbers', 'numbers.csv', '--http', http(g), '--progress', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run \S+ on trunk demo: completed\n/);
    expect(r.stdout).toContain(`  offered      3 of 3 at 10/s`);
    expect(r.stdout).toContain(`  delivered    ${uri} 3\n`);
    expect(r.stdout).toContain('  answers      200 3\n');
    const runs = (await adminClient(g).get<OriginateReport[]>('/v1/origination')).json;
    expect(runs.map((x) => x.calls)).toEqual([3]);
    await expectAllReleased(g);
  });

  it('cut short: the run is stopped on the gateway (DELETE) → the report so far, exit 1', async () => {
    const { g } = await pbxGateway();
    let stopped = false;
    const r = await originate(['--trunk', 'demo', '--rate', '2', '--calls', '1000', '--hold-ms', '60000', '--http', http(g), '--json', '--progress', '0'], (err) => {
      const m = /run (\S+) started/.exec(err);
      if (m !== null && !stopped) {
        stopped = true;
        adminClient(g).del(`/v1/origination/${m[1] ?? ''}`).catch(() => undefined);
      }
    });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as OriginateReport;
    expect(report).toMatchObject({ state: 'stopped', stoppedBy: 'api', calls: 1000 });
    expect(report.offered).toBeLessThan(1000);
    expect(r.stderr).toContain(`trunkgate originate: run ${report.id} was cut short (api) after ${report.offered} of 1000 calls\n`);
    await expectAllReleased(g);
  });

  it('cannot start: the gateway\'s refusal, a bad numbers file, no gateway, a missing token → exit 2, saying why', async () => {
    const { g } = await pbxGateway({ http: { listen: '127.0.0.1:0', token: 'adm1n-t0ken' } });
    const base = ['--rate', '5', '--calls', '5', '--http', http(g)];
    const auth = ['--token', 'adm1n-t0ken'];

    const unknown = await originate(['--trunk', 'nope', ...base, ...auth]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^trunkgate originate: the gateway did not start a run on trunk "nope" \(HTTP 404\): TRUNK_NOT_FOUND: .*nope/);

    const elsewhere = join(DIR, 'elsewhere.txt');
    writeFileSync(elsewhere, '+14155559999\n');
    const notOurs = await originate(['--trunk', 'demo', ...base, ...auth, '--numbers', elsewhere]);
    expect(notOurs.code).toBe(2);
    expect(notOurs.stderr).toContain('(HTTP 400): ORIGINATION_NUMBER_ELSEWHERE: +14155559999 is not a number of trunk "demo"');

    const bad = join(DIR, 'bad.txt');
    writeFileSync(bad, '+14155550100\n4155550101\n');
    const badFile = await originate(['--trunk', 'demo', ...base, ...auth, '--numbers', bad]);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toBe(`trunkgate originate: --numbers ${bad}: line 2: "4155550101" is not an E.164 number like +14155550100\n`);

    const noToken = await originate(['--trunk', 'demo', ...base]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/answered 401: the gateway has an admin token \(http\.token\); pass it with --token TOKEN\n$/);
    expect(noToken.stderr).not.toContain('adm1n-t0ken');

    const nobody = await originate(['--trunk', 'demo', '--rate', '5', '--calls', '5', '--http', '127.0.0.1:1']);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1\/v1\/origination \(ECONNREFUSED\)\. Is the gateway running\?/);

    const usage = await originate(['--trunk', 'demo', '--calls', '5', '--http', http(g)]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--rate');
    // nothing was started by any of these
    expect((await adminClient(g, { authorization: 'Bearer adm1n-t0ken' }).get<unknown[]>('/v1/origination')).json).toEqual([]);
  });
});
