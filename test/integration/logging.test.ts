/**
 * Logs a person can read (issue 13 item 2), from the built CLI in a child
 * process: one `info` line per refusal with status, reason, trunk, Call-ID
 * and source, capped per second under a flood with a summary that accounts
 * for the rest; every SIP message at `trace`; JSON lines (each one parses)
 * or pino-pretty's human format; the banner on stderr; `--log-level silent`
 * prints nothing at all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { expectSippSucceeded } from '../support/assertions.js';
import { pbxScenario } from '../support/scenarios.js';
import { freePort, runSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'trunkgate-logging-'));
// dist/ is built once for all files by test/global-setup.ts

interface Running {
  proc: ChildProcess;
  sipPort: number;
  httpPort: number;
  out: { stdout: string; stderr: string };
}

let running: Running | undefined;

afterEach(async () => {
  const r = running;
  running = undefined;
  if (r === undefined || r.proc.exitCode !== null || r.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => r.proc.once('exit', resolve));
  process.kill(r.proc.pid as number, 'SIGKILL'); // only the process this file started, by its PID
  await exited;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(args: string[], observability: Record<string, unknown> = {}): Promise<Running> {
  const [sipPort, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, `trunkgate-${sipPort}.yaml`);
  writeFileSync(
    config,
    [
      `sip: { listen: ["udp://127.0.0.1:${sipPort}"], fallbackTrunk: demo }`,
      `http: { listen: "127.0.0.1:${httpPort}" }`,
      'accounts: [{ name: demo, type: business-pcp }]',
      'trunks: [{ name: demo, account: demo, cps: { default: 100000 }, auth: { ipAcl: ["127.0.0.0/8"] } }]',
      'pstn: { answerAfterMs: 0 }',
      `observability: ${JSON.stringify(observability)}`,
      '',
    ].join('\n'),
  );
  const proc = spawn(process.execPath, [CLI, '--config', config, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  running = { proc, sipPort, httpPort, out };
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`trunkgate exited ${proc.exitCode}: ${out.stderr}`);
      try {
        return (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok;
      } catch {
        return false;
      }
    },
    { timeoutMs: 20_000, what: 'the gateway to be ready', detail: () => out.stdout + out.stderr },
  );
  return running;
}

async function stop(r: Running): Promise<void> {
  const exited = new Promise((resolve) => r.proc.once('exit', resolve));
  process.kill(r.proc.pid as number, 'SIGTERM');
  await exited;
}

/** Every stdout line as JSON (the test fails on a line that is not). */
function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
}

const refused = (r: Running, calls: number, rate = 10) =>
  runSipp({ scenario: pbxScenario({ number: '12345', final: 400, finalReason: 'Invalid Phone Number' }), target: `127.0.0.1:${r.sipPort}`, calls, rate, timeoutSeconds: 30 });

describe('--log-format json', () => {
  it('every stdout line is JSON; a refusal is one info line with status, reason, trunk, Call-ID and source; the banner is on stderr', async () => {
    const r = await start(['--log-format', 'json', '--log-level', 'info']);
    const sipp = await refused(r, 1);
    expectSippSucceeded(sipp, 1);
    const line = await waitFor(() => jsonLines(r.out.stdout).find((l) => l['outcome'] === 'invalid_number'), { what: 'the refusal line', detail: () => r.out.stdout });
    expect(line).toMatchObject({
      level: 30,
      msg: `refused INVITE from 127.0.0.1:${sipp.localPort}: 400 Invalid Phone Number (trunk demo)`,
      status: 400,
      reason: 'Invalid Phone Number',
      trunk: 'demo',
      region: 'us1',
      source: `127.0.0.1:${sipp.localPort}`,
      callId: expect.stringMatching(/^1-\d+@/),
    });
    expect(jsonLines(r.out.stdout).some((l) => l['msg'] === 'trunkgate listening')).toBe(true);
    expect(r.out.stderr).toMatch(new RegExp(`^trunkgate listening on udp://127\\.0\\.0\\.1:${r.sipPort}; HTTP on http://127\\.0\\.0\\.1:${r.httpPort} \\(config: `));
    await stop(r);
    jsonLines(r.out.stdout); // still all JSON after the drain lines
  });

  it('under a flood of refusals: at most N lines a second, and summaries that account for every other one', async () => {
    const r = await start(['--log-format', 'json'], { refusalLogLinesPerSecond: 5 });
    const calls = 300;
    const sipp = await refused(r, calls, 300);
    expectSippSucceeded(sipp, calls);
    await stop(r); // the last summary is written at exit
    const lines = jsonLines(r.out.stdout);
    const single = lines.filter((l) => l['outcome'] === 'invalid_number');
    const summaries = lines.filter((l) => typeof l['suppressed'] === 'number');
    expect(summaries.length).toBeGreaterThan(0);
    expect(single.length + summaries.reduce((n, l) => n + (l['suppressed'] as number), 0)).toBe(calls);
    // per second of the log's own clock, never more than 5 single lines
    const perSecond = new Map<number, number>();
    for (const l of single) perSecond.set(Math.floor((l['time'] as number) / 1000), (perSecond.get(Math.floor((l['time'] as number) / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(5);
    expect(summaries[0]).toMatchObject({ level: 30, byOutcome: { invalid_number: expect.any(Number) }, msg: expect.stringMatching(/^\d+ more refused INVITEs not logged one by one \(over 5\/s\): invalid_number \d+$/) });
  });

  it('--log-level trace: every SIP message, in and out, with its text and ends', async () => {
    const r = await start(['--log-format', 'json', '--log-level', 'trace']);
    const sipp = await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: `127.0.0.1:${r.sipPort}`, calls: 1, timeoutSeconds: 30 });
    expectSippSucceeded(sipp, 1);
    const sip = await waitFor(
      () => {
        const l = jsonLines(r.out.stdout).filter((x) => typeof x['sip'] === 'string');
        return l.some((x) => (x['msg'] as string).startsWith('sent SIP/2.0 200 OK') && (x['sip'] as string).includes('CSeq: 2 BYE')) ? l : undefined;
      },
      { what: 'the 200 to the BYE in the trace', detail: () => r.out.stdout.slice(-2000) },
    );
    const invite = sip.find((x) => x['direction'] === 'in' && (x['sip'] as string).startsWith('INVITE sip:+14155550123@'));
    expect(invite).toMatchObject({ level: 10, transport: 'udp', source: `127.0.0.1:${sipp.localPort}`, destination: `127.0.0.1:${r.sipPort}`, msg: expect.stringMatching(/^received INVITE sip:\+14155550123@\S+ SIP\/2\.0 \(udp 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\)$/) });
    expect(invite?.['sip']).toMatch(/\r\nContent-Type: application\/sdp\r\n/);
    expect(sip.filter((x) => x['direction'] === 'out').map((x) => (x['msg'] as string).split(' (')[0])).toEqual(
      expect.arrayContaining(['sent SIP/2.0 100 trying -- your call is important to us', 'sent SIP/2.0 200 OK']),
    );
  });
});

describe('--log-format pretty', () => {
  it('writes pino-pretty lines for people, even when stdout is not a terminal', async () => {
    const r = await start(['--log-format', 'pretty']);
    expectSippSucceeded(await refused(r, 1), 1);
    await waitFor(() => r.out.stdout.includes('refused INVITE'), { what: 'the refusal line', detail: () => r.out.stdout });
    const line = r.out.stdout.split('\n').find((l) => l.includes('refused INVITE')) as string;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: refused INVITE from 127\.0\.0\.1:\d+: 400 Invalid Phone Number \(trunk demo\)$/);
    expect(r.out.stdout).toMatch(/\n {4}callId: "1-\d+@/);
    expect(r.out.stdout.split('\n').some((l) => l.startsWith('{'))).toBe(false);
  });
});

describe('--log-level silent', () => {
  it('is silent: no banner, no log line, through a call, a refusal and a SIGTERM', async () => {
    const r = await start(['--log-level', 'silent']);
    expectSippSucceeded(await runSipp({ scenario: pbxScenario({ number: '+14155550123', final: 200, then: { kind: 'bye', afterMs: 10 } }), target: `127.0.0.1:${r.sipPort}`, calls: 1, timeoutSeconds: 30 }), 1);
    expectSippSucceeded(await refused(r, 1), 1);
    await stop(r);
    expect(r.proc.exitCode).toBe(0);
    expect(r.out).toEqual({ stdout: '', stderr: '' });
  });
});
