/**
 * `trunkgate scenario NAME` (and `npm run scenario`): the pack's runner, as
 * users run it (the built dist/cli.js in a child process, from a folder of
 * their own), against a gateway started here. Its report must match the
 * configured limits (verdict PASS, exit 0), it must exit 1 when reality and
 * the prediction disagree, and 2 with one clear line when it cannot run.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SaxesParser } from 'saxes';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { ScenarioReport } from '../../src/scenario/report.js';
import { startTestGateway, sipTarget } from '../support/gateway.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
/** The user's folder: not the repository, so relative paths and SIPp's trace files are checked against it. */
const USER_DIR = mkdtempSync(join(tmpdir(), 'trunkgate-scenario-user-'));

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});
afterAll(() => rmSync(USER_DIR, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? USER_DIR, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), (output += d.toString())));
    child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), (output += d.toString())));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
  });
}

/** `trunkgate scenario …` against a gateway (its SIP and HTTP addresses added). */
function scenario(g: Gateway | undefined, args: string[], opts: { cwd?: string } = {}): Promise<Ran> {
  const http = g?.httpAddress;
  const to = g === undefined ? [] : ['--target', sipTarget(g), '--http', `${http?.host}:${http?.port}`];
  return run(process.execPath, [CLI, 'scenario', ...args, ...to], opts);
}

function trunk(extra: Record<string, unknown>): Record<string, unknown> {
  return { name: 'demo', account: 'demo', auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin', ...extra };
}

describe('trunkgate scenario', () => {
  it('cps-burst: offered, admitted, refused by reason, the prediction, PASS; and no SIPp trace file left in the user’s folder', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 2 } })] });
    const r = await scenario(gateway, ['cps-burst', '--rate', '10', '--calls', '30']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/offered\s+30 at 10\/s/);
    expect(r.output).toMatch(/admitted\s+\d+/);
    expect(r.output).toMatch(/\d+\s+503 Trunk CPS limit exceeded/);
    expect(r.output).toMatch(/prediction\s+CPS 2 \(token-bucket, burst 2, tolerance 50 ms\)/);
    expect(r.output).toContain('verdict      PASS');
    const admitted = Number(/admitted\s+(\d+)/.exec(r.output)?.[1]);
    expect(admitted).toBe(gateway.frontDoor.stats.admitted);
    const refused = Number(/refused\s+(\d+)/.exec(r.output)?.[1]);
    expect(admitted + refused).toBe(30);
    expect(sippTraceFiles(USER_DIR)).toEqual([]);
    expect(sippTraceFiles(ROOT)).toEqual([]);
  });

  it('the progress line shows admitted and refused so far', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 2 } })] });
    const r = await scenario(gateway, ['cps-burst', '--rate', '10', '--calls', '30', '--progress', '1']);
    expect(r.code, r.output).toBe(0);
    const lines = [...r.output.matchAll(/… (\d+) s: (\d+) started, (\d+) admitted, (\d+) refused, \d+ in progress/g)];
    expect(lines.length, r.output).toBeGreaterThanOrEqual(2);
    // the counts grow, and a later line has refusals (CPS 2 at 10/s)
    const last = lines.at(-1) as RegExpMatchArray;
    expect(Number(last[4])).toBeGreaterThan(0);
    expect(Number(last[3])).toBeGreaterThan(0);
  });

  it('--json: one object with offered, admitted, refused by reason, the prediction and the verdict; --junit FILE (relative) is valid JUnit XML', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 2 } })] });
    mkdirSync(join(USER_DIR, 'reports'), { recursive: true });
    const r = await scenario(gateway, ['cps-burst', '--rate', '10', '--calls', '20', '--json', '--junit', 'reports/junit.xml']);
    expect(r.code, r.output).toBe(0);
    const report = JSON.parse(r.stdout) as ScenarioReport;
    expect(report.scenario).toBe('cps-burst');
    expect(report.offered).toEqual({ count: 20, kind: 'calls', rate: 10, holdMs: 0 });
    expect(report.admitted).toBe(gateway.frontDoor.stats.admitted);
    expect(report.refused.total).toBe(20 - report.admitted);
    expect(report.refused.byReason).toEqual([{ outcome: 'cps_limited', response: '503 Trunk CPS limit exceeded', count: 20 - report.admitted }]);
    expect(report.prediction).toMatchObject({ cps: 2, burst: 2, algorithm: 'token-bucket', concurrencyCap: null });
    expect(report.verdict).toBe('PASS');
    expect(report.checks.every((c) => c.pass)).toBe(true);
    // the progress and the banner went to stderr
    expect(r.stderr).toContain('trunkgate scenario: cps-burst');

    const xml = readFileSync(join(USER_DIR, 'reports', 'junit.xml'), 'utf8');
    const cases: string[] = [];
    const errors: string[] = [];
    let suite: Record<string, string> = {};
    const parser = new SaxesParser();
    parser.on('error', (e) => errors.push(e.message));
    parser.on('opentag', (tag) => {
      const attrs = tag.attributes as Record<string, string>;
      if (tag.name === 'testsuite') suite = attrs;
      if (tag.name === 'testcase') cases.push(attrs['name'] as string);
    });
    parser.write(xml).close();
    expect(errors).toEqual([]);
    expect(suite['name']).toBe('trunkgate scenario cps-burst');
    expect(suite['failures']).toBe('0');
    expect(Number(suite['tests'])).toBe(report.checks.length);
    expect(cases).toEqual(report.checks.map((c) => c.name));
  });

  it('concurrency-hold against a trunk cap of 2: PASS, refusals are the concurrency 503', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, maxConcurrentCalls: 2 })] });
    const r = await scenario(gateway, ['concurrency-hold', '--rate', '10', '--calls', '20', '--hold-ms', '1000']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/\d+\s+503 Trunk concurrent call limit exceeded/);
    expect(r.output).toContain('concurrency 2 at once');
    expect(r.output).toContain('verdict      PASS');
  });

  it.each([
    ['options-ping', ['--calls', '3']],
    ['cancel-ringing', ['--calls', '3', '--rate', '5']],
    ['basic-call', ['--calls', '3', '--rate', '5']],
  ])('%s: PASS', async (name, args) => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 } })] });
    const r = await scenario(gateway, [name, ...args]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('verdict      PASS');
  });

  it('basic-call with the pack’s mixed numbers, by a path relative to the user’s folder: busy and rejected numbers explain SIPp’s failed calls', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 } })] });
    // numbers/mixed.csv without the no-answer number (it would ring for a minute)
    const mixed = readFileSync(join(ROOT, 'sip-scenarios', 'numbers', 'mixed.csv'), 'utf8');
    mkdirSync(join(USER_DIR, 'numbers'), { recursive: true });
    writeFileSync(join(USER_DIR, 'numbers', 'mixed.csv'), mixed.split('\n').filter((l) => !l.startsWith('+15550004801')).join('\n'));
    const r = await scenario(gateway, ['basic-call', '--calls', '3', '--rate', '5', '--numbers', 'numbers/mixed.csv']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/ended\s+.*1 answered/);
    expect(r.output).toMatch(/1 busy/);
    expect(r.output).toMatch(/SIPp\s+1 successful, 2 failed/);
    expect(r.output).toContain('verdict      PASS');
  });

  it('npm run scenario: the same runner; a relative --numbers is the caller’s (INIT_CWD), not the package’s', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 } })] });
    writeFileSync(join(USER_DIR, 'two.csv'), 'SEQUENTIAL\n+14155550123;+14155550100;\n');
    const http = gateway.httpAddress;
    const r = await run(
      'npm',
      ['run', '--silent', '--prefix', ROOT, 'scenario', '--', 'cps-burst', '--calls', '2', '--rate', '5', '--numbers', 'two.csv', '--target', sipTarget(gateway), '--http', `${http?.host}:${http?.port}`],
      { cwd: USER_DIR },
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('verdict      PASS');
  });

  it('exits 1 with the reason when reality and the prediction disagree', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 } })] });
    // numbers the limits don't explain the refusals of: not E.164
    const csv = join(USER_DIR, 'bad.csv');
    writeFileSync(csv, 'SEQUENTIAL\n4155550123;+14155550100;\n');
    const r = await scenario(gateway, ['cps-burst', '--calls', '3', '--rate', '5', '--numbers', csv]);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('verdict      FAIL');
    expect(r.output).toContain('400 Invalid Phone Number');
    expect(r.output).toMatch(/- no refusals the limits do not explain: 3 × 400 Invalid Phone Number/);
  });

  it('shows SIPp’s own words when its calls fail for a reason the gateway does not know', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, auth: { credentials: [{ username: 'pbx', password: 'Secret-pass-123' }] } })] });
    // cps-burst does not answer the 407: SIPp aborts each call on the unexpected message
    const r = await scenario(gateway, ['cps-burst', '--calls', '2', '--rate', '5']);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('run digest-auth with --user and --password');
    expect(r.output).toMatch(/SIPp says: Aborting call on unexpected message/);
  });
});

describe('trunkgate scenario digest-auth', () => {
  const credentials = { credentials: [{ username: 'pbx', password: 'Secret-pass-123' }] };

  it('right credentials: PASS; the 407s are counted as challenges, apart from the admitted calls', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, auth: credentials })] });
    const r = await scenario(gateway, ['digest-auth', '--calls', '3', '--rate', '5', '--user', 'pbx', '--password', 'Secret-pass-123', '--json']);
    expect(r.code, r.output).toBe(0);
    const report = JSON.parse(r.stdout) as ScenarioReport;
    expect(report.admitted).toBe(3);
    expect(report.challenged).toBe(3);
    expect(report.refused).toEqual({ total: 0, byReason: [] });
    expect(r.output).not.toContain('Secret-pass-123');
  });

  it('a wrong password: FAIL, saying the password is wrong', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, auth: credentials })] });
    const r = await scenario(gateway, ['digest-auth', '--calls', '2', '--rate', '5', '--user', 'pbx', '--password', 'not-it']);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/challenged\s+2 × 407/);
    expect(r.output).toMatch(/the credentials were accepted: 2 × 403 Forbidden after the challenge: the password given with --password is not the one of user "pbx"/);
    expect(r.output).not.toContain('not-it');
  });

  it('a user the trunk does not have: says so', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, auth: credentials })] });
    const r = await scenario(gateway, ['digest-auth', '--calls', '1', '--user', 'alice', '--password', 'x']);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('trunk demo has no user "alice" (it has: pbx)');
  });

  it('no credentials given, or a trunk without any: exit 2 before SIPp runs, saying what to pass', async () => {
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 }, auth: credentials })] });
    const none = await scenario(gateway, ['digest-auth', '--calls', '1']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      "trunkgate scenario: digest-auth answers the trunk's 407 challenge with a username and password: pass --user and --password (trunk demo has credentials for: pbx)\n",
    );
    await gateway.stop();
    gateway = await startTestGateway({ trunks: [trunk({ cps: { default: 100 } })] });
    const noCreds = await scenario(gateway, ['digest-auth', '--calls', '1', '--user', 'pbx', '--password', 'x']);
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr).toContain('trunk demo has no credentials');
  });
});

describe('trunkgate scenario: usage and the gateway’s whereabouts', () => {
  it('--help exits 0 and lists the scenarios', async () => {
    const r = await scenario(undefined, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: trunkgate scenario [options] <name>');
    for (const name of ['basic-call', 'cps-burst', 'concurrency-hold', 'digest-auth', 'cancel-ringing', 'options-ping']) expect(r.stdout).toContain(`  ${name} `);
    expect(r.stderr).toBe('');
  });

  it.each([
    [['cps-burst', '--bogus'], "trunkgate scenario: unknown option '--bogus'; see trunkgate scenario --help\n"],
    [['cps-burst', '--rat', '5'], "trunkgate scenario: unknown option '--rat' (Did you mean --rate?); see trunkgate scenario --help\n"],
    [['cps-burst', '--calls', '1.5'], "trunkgate scenario: option '--calls <n>' argument '1.5' is invalid. expected a whole number above 0; see trunkgate scenario --help\n"],
    [[], "trunkgate scenario: missing required argument 'name'; see trunkgate scenario --help\n"],
    [['nope'], 'trunkgate scenario: unknown scenario "nope"; the pack has: basic-call, cps-burst, concurrency-hold, digest-auth, cancel-ringing, options-ping\n'],
  ])('%j: one line, exit 2', async (args, line) => {
    const r = await scenario(undefined, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(line);
    expect(r.stdout).toBe('');
  });

  it('a --numbers file that is not there: exit 2 naming the path it looked at', async () => {
    const r = await scenario(undefined, ['cps-burst', '--numbers', 'nope.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`trunkgate scenario: --numbers ${join(USER_DIR, 'nope.csv')}: no such file\n`);
  });

  it('says how to point it at the gateway when the admin API is not there', async () => {
    const r = await scenario(undefined, ['cps-burst', '--http', '127.0.0.1:9']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('Is the gateway running? Use --http');
  });

  it('a 401 from the admin API says to pass --token (or that the token is wrong)', async () => {
    gateway = await startTestGateway({ http: { listen: '127.0.0.1:0', token: 's3cret-admin-token' }, trunks: [trunk({ cps: { default: 100 } })] });
    const without = await scenario(gateway, ['cps-burst', '--calls', '1']);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/answered 401: the gateway has an admin token \(http\.token\); pass it with --token TOKEN\n$/);
    const wrong = await scenario(gateway, ['cps-burst', '--calls', '1', '--token', 'not-the-token']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("refused the token (HTTP 401): pass the gateway's http.token with --token");
    const right = await scenario(gateway, ['cps-burst', '--calls', '1', '--token', 's3cret-admin-token']);
    expect(right.code, right.output).toBe(0);
  });
});

/** SIPp's trace files (-trace_counts, -trace_stat, -trace_err …), named after the scenario and its PID. */
function sippTraceFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /_\d+_(counts)?\.csv$|_\d+_(errors|messages|logs)\.log$/.test(f));
}
