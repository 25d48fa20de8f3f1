/**
 * No secrets in errors or logs (issue 12): secrets planted in a configuration
 * file — a password, the HTTP token, an account's authToken, a misspelt
 * `pasword` next to a username, an unknown key beside the token — must not
 * appear in `check-config`'s output, in a failed start, in a failed reload's
 * 422, or in any log line of a gateway running at trace level; `<redacted>`
 * shows where they were.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;
/** Every planted secret contains this; nothing else does. */
const MARK = 'Zq7Pla';
const PASSWORD = `${MARK}nt-password`;
const TOKEN = `${MARK}nt-token-good`;

let child: ChildProcess | undefined;

afterEach(async () => {
  const c = child;
  child = undefined;
  if (c === undefined || c.exitCode !== null || c.pid === undefined) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  process.kill(c.pid, 'SIGKILL');
  await exited;
});

function goodConfig(sipPort: number, httpPort: number): string {
  return [
    `sip: { listen: ["udp://127.0.0.1:${sipPort}"] }`,
    `http: { listen: "127.0.0.1:${httpPort}", token: "${TOKEN}" }`,
    'accounts: [{ name: demo, type: business-pcp }]',
    'trunks:',
    '  - name: demo',
    '    account: demo',
    '    cps: { default: 100 }',
    `    auth: { ipAcl: ["127.0.0.0/8"], credentials: [{ username: pbx, password: "${PASSWORD}" }] }`,
    'pstn: { answerAfterMs: 0 }',
    '',
  ].join('\n');
}

/** The same gateway with problems, each of which used to print a secret. */
function badConfig(sipPort: number, httpPort: number): string {
  return [
    `sip: { listen: ["udp://127.0.0.1:${sipPort}"] }`,
    // a token too short (a problem at a secret), and an unknown key beside it
    `http: { listen: "127.0.0.1:${httpPort}", token: "${MARK}1", tokn: "${MARK}nt-typo-beside-token" }`,
    // an auth token of the wrong type (a list): a problem at a secret
    `accounts: [{ name: demo, type: business-pcp, authToken: ["${MARK}nt-authtoken"] }]`,
    'trunks:',
    '  - name: demo',
    '    account: demo',
    `    auth: { credentials: [{ username: pbx, password: 12345678, pasword: "${MARK}nt-misspelt" }] }`,
    '  - name: other',
    '    account: demo',
    `    auth: { credentials: "pbx:${MARK}nt-as-a-string" }`,
    '',
  ].join('\n');
}

function expectNoSecret(text: string, where: string): void {
  expect(text.length, `${where} printed something`).toBeGreaterThan(0);
  expect(text.includes(MARK), `${where} shows a planted secret:\n${text}`).toBe(false);
  expect(text.includes('12345678'), `${where} shows the numeric password`).toBe(false);
}

describe('planted secrets', () => {
  it('check-config and a failed start list every problem with <redacted> in place of each secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trunkgate-planted-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, badConfig(await freePort(), await freePort()));
    const check = spawnSync(process.execPath, [CLI, 'check-config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(check.status).toBe(1);
    const out = check.stdout + check.stderr;
    for (const path of ['http.token', 'http.tokn', 'accounts[0].authToken', 'trunks[0].auth.credentials[0].password', 'trunks[0].auth.credentials[0].pasword', 'trunks[1].auth.credentials']) {
      expect(out, path).toMatch(new RegExp(`${path.replace(/[[\].]/g, '\\$&')}: .*\\(found: "<redacted>"\\)`));
    }
    expectNoSecret(out, 'check-config');

    const start = spawnSync(process.execPath, [CLI, '--config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(start.status).toBe(1);
    expect(start.stderr).toContain('<redacted>');
    expectNoSecret(start.stdout + start.stderr, 'a failed start');
  });

  it('a failed reload’s 422 and every log line of a gateway at trace level (digest calls, a SIGHUP reload failure) show none', async () => {
    const sipPort = await freePort();
    const httpPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'trunkgate-planted-'));
    const file = join(dir, 'trunkgate.yaml');
    writeFileSync(file, goodConfig(sipPort, httpPort));
    const c = spawn(process.execPath, [CLI, '--config', file, '--log-level', 'trace'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let log = '';
    c.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('trunks: '), { timeoutMs: 20_000, what: 'the gateway to start', detail: () => log });
    for (const pass of [PASSWORD, `${MARK}nt-wrong-guess`]) {
      const r = await runSipp({
        scenario: PACK + 'digest-auth.xml',
        target: `127.0.0.1:${sipPort}`,
        called: '+14155550123',
        calls: 2,
        rate: 10,
        extraArgs: ['-key', 'trunk', 'demo.pstn.twilio.com', '-auth_uri', '+14155550123@demo.pstn.twilio.com', '-au', 'pbx', '-ap', pass],
      });
      expect(r.failed, r.errorLog).toBe(0);
    }
    writeFileSync(file, badConfig(sipPort, httpPort));
    const res = await fetch(`http://127.0.0.1:${httpPort}/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    const body = await res.text();
    expect(res.status).toBe(422);
    expect(body).toContain('"value":"<redacted>"');
    expectNoSecret(body, 'the reload’s 422');
    if (c.pid === undefined) throw new Error('no pid');
    process.kill(c.pid, 'SIGHUP');
    await waitFor(() => log.includes('SIGHUP: the configuration has'), { timeoutMs: 10_000, what: 'the SIGHUP reload failure in the log', detail: () => log.slice(-2000) });
    const exited = new Promise((resolve) => c.once('exit', resolve));
    process.kill(c.pid, 'SIGTERM');
    await exited;
    expect(log.length).toBeGreaterThan(2000); // trace level really logged
    expect(log).toContain('<redacted>');
    expectNoSecret(log, 'the log');
  }, 60_000);
});
