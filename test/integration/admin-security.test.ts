/**
 * The admin side: HTTP on 127.0.0.1 by default, and credentials never in the
 * logs or the API (a token and body limits are tested in http-api.test.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, loadConfigFile, validateConfig } from '../../src/config/load.js';
import { freePort, runSipp } from '../support/sipp.js';
import { waitFor } from '../support/wait-for.js';

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const PACK = new URL('../../sip-scenarios/', import.meta.url).pathname;

describe('admin security', () => {
  it('HTTP listens on 127.0.0.1 by default (the schema default and the built-in config)', () => {
    const empty = validateConfig({});
    expect(empty.ok && empty.config.http.listen).toBe('127.0.0.1:8080');
    const builtin = loadConfigFile(DEFAULT_CONFIG_PATH);
    expect(builtin.ok && builtin.config.http.listen.startsWith('127.0.0.1:')).toBe(true);
  });

  it('credentials never appear in the logs (trace level) or the admin API', async () => {
    const password = 'Very-Secret-Pass-8472';
    const token = 'admin-token-0123456789';
    const sipPort = await freePort();
    const httpPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'trunkgate-secrets-'));
    const config = join(dir, 'trunkgate.yaml');
    writeFileSync(
      config,
      [
        'sip:',
        `  listen: ["udp://127.0.0.1:${sipPort}", "tcp://127.0.0.1:${sipPort}"]`,
        `http: { listen: "127.0.0.1:${httpPort}", token: "${token}" }`,
        'accounts: [{ name: demo, type: business-pcp }]',
        'trunks:',
        '  - name: demo',
        '    account: demo',
        '    cps: { default: 100 }',
        `    auth: { ipAcl: ["127.0.0.0/8"], credentials: [{ username: pbx, password: "${password}" }] }`,
        'pstn: { answerAfterMs: 0 }',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI, '--config', config, '--log-level', 'trace'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await waitFor(() => log.includes('trunks: '), { timeoutMs: 20_000, what: 'the gateway to start', detail: () => log });
      const auth = { authorization: `Bearer ${token}` };
      for (const pass of [password, 'wrong-password']) {
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
      const trunks = await (await fetch(`http://127.0.0.1:${httpPort}/v1/trunks/demo`, { headers: auth })).text();
      expect(trunks).toContain('"credentialUsernames":["pbx"]');
      expect(trunks).not.toContain(password);
      expect((await fetch(`http://127.0.0.1:${httpPort}/v1/reload`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' } })).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${httpPort}/v1/calls`)).status).toBe(401);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    expect(log.length).toBeGreaterThan(1000); // trace level really logged
    expect(log).not.toContain(password);
    expect(log).not.toContain(token);
    // the SIP text at trace keeps the Proxy-Authorization header (username, realm, nonce, uri: what an
    // operator needs to debug a 403) with its digest response blanked
    const authLines = log.match(/Proxy-Authorization: .*?\\r\\n/gi) ?? []; // the header line in the JSON-escaped text
    expect(authLines.length).toBeGreaterThan(0);
    for (const line of authLines) expect(line).toMatch(/response=\\?"<redacted>\\?"/);
    expect(log).not.toMatch(/response=\\?"[0-9a-f]{32}/);
  }, 60_000);
});
