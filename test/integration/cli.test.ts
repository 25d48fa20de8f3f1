/**
 * The command line (SPEC §7.1) as users run it: the built dist/cli.js in a
 * child process. The gateway is only ever started on port 0.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const EXAMPLE = join(ROOT, 'examples', 'trunkgate.yaml');
const dir = mkdtempSync(join(tmpdir(), 'trunkgate-cli-'));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

// dist/ is built once for all files by test/global-setup.ts

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trunkgate check-config FILE', () => {
  it('the example file: exit 0 and OK', () => {
    const r = cli('check-config', EXAMPLE);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${EXAMPLE}: OK (1 account(s), 1 trunk(s))\n`);
    expect(r.status).toBe(0);
  });

  it('a JSON file: exit 0', () => {
    const path = file(
      'ok.json',
      JSON.stringify({
        accounts: [{ name: 'a', type: 'trial' }],
        trunks: [
          { name: 'a', account: 'a', auth: { ipAcl: ['127.0.0.1'] } },
          { name: 'b', account: 'a', auth: { credentials: [{ username: 'pbx', password: 'pw' }] } },
        ],
      }),
    );
    const r = cli('check-config', path);
    expect(r.stdout).toBe(`${path}: OK (1 account(s), 2 trunk(s))\n`);
    expect(r.status).toBe(0);
  });

  it('a bad file: exit 1 and every problem printed with its path and message', () => {
    const path = file(
      'bad.yaml',
      [
        'sip:',
        '  unknownDomian: reject',
        '  fallbackTrunk: nope',
        'accounts:',
        '  - { name: acme, type: gold }',
        'trunks:',
        '  - { name: main, acount: acme, account: ghost, cps: { default: 1, eu1: 2 }, route: "http://x" }',
        'pstn:',
        '  rules:',
        '    - { number: "+1555*", behaviour: reject }',
        '',
      ].join('\n'),
    );
    const r = cli('check-config', path);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`trunkgate: the configuration has 8 problem(s) (${path}); fix them and try again`);
    expect(lines.slice(1).sort()).toEqual(
      [
        '  sip.unknownDomian: unknown key; did you mean "unknownDomain"? (see docs/configuration.md) (found: "reject")',
        '  accounts[0].type: Invalid option: expected one of "trial"|"no-pcp"|"individual-pcp"|"business-pcp" (found: "gold")',
        '  trunks[0].acount: unknown key; did you mean "account"? (see docs/configuration.md) (found: "acme")',
        '  trunks[0].route: expected builtin, or sip:IP:PORT with an optional ;transport=udp|tcp|tls (found: "http://x")',
        '  trunks[0].account: no account named "ghost"; expected one of: acme (found: "ghost")',
        '  trunks[0].cps.eu1: unknown region "eu1"; expected default or one of us1, us2, ie1, de1, sg1, jp1, br1, au1 (found: 2)',
        '  sip.fallbackTrunk: no trunk named "nope"; expected one of: main (found: "nope")',
        '  pstn.rules[0].status: a reject rule needs a status (300-699)',
      ].sort(),
    );
  });

  it('a YAML syntax error: exit 1, the problem with its line, column and a code frame', () => {
    const path = file('syntax.yaml', 'accounts:\n  - name: demo\n    type: trial\n   extra: 1\n');
    const r = cli('check-config', path);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n').slice(0, 5)).toEqual([
      `trunkgate: the configuration has 1 problem(s) (${path}); fix them and try again`,
      '  (file): YAML syntax: Sequence item without - indicator (line 4, column 1)',
      '        3 |     type: trial',
      '      > 4 |    extra: 1',
      '          | ^',
    ]);
  });

  it('an unknown key nested in a list: "did you mean" the key allowed there, or the list of them', () => {
    const path = file(
      'nested.yaml',
      'accounts: [{ name: a, type: trial }]\ntrunks: [{ name: a, account: a, auth: { ipacl: ["127.0.0.1/32"] }, zzz: 1 }]\n',
    );
    const r = cli('check-config', path);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('  trunks[0].auth.ipacl: unknown key; did you mean "ipAcl"? (see docs/configuration.md) (found: ["127.0.0.1/32"])');
    expect(r.stderr).toContain(
      '  trunks[0].zzz: unknown key; expected one of: name, account, region, cps, burst, maxConcurrentCalls, auth, route, ringTimeoutMs, secure, transferMode, transferCallerId, origination (see docs/configuration.md) (found: 1)',
    );
  });

  it('warnings: a trunk with neither an ACL nor credentials, a CIDR with host bits set; exit 0, or 1 with --strict', () => {
    const path = file(
      'warn.yaml',
      [
        'accounts: [{ name: a, type: trial }]',
        'trunks:',
        '  - { name: open, account: a }',
        '  - { name: lan, account: a, auth: { ipAcl: ["192.168.1.5/24", "2001:db8::1/64", "10.0.0.0/8"] } }',
        '',
      ].join('\n'),
    );
    const r = cli('check-config', path);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      `${path}: OK (1 account(s), 2 trunk(s)) with 3 warning(s):`,
      '  trunks[0].auth: neither ipAcl nor credentials: trunk "open" refuses every call with 403 Forbidden (alert 32200), as the provider does; add auth.ipAcl (e.g. ["127.0.0.0/8"]) or auth.credentials',
      '  trunks[1].auth.ipAcl[0]: host bits set: this means the network 192.168.1.0/24; write 192.168.1.0/24, or /32 for that one address (found: "192.168.1.5/24")',
      '  trunks[1].auth.ipAcl[1]: host bits set: this means the network 2001:db8::/64; write 2001:db8::/64, or /128 for that one address (found: "2001:db8::1/64")',
    ]);
    const strict = cli('check-config', '--strict', path);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toBe(`trunkgate: the configuration has 3 warning(s) (${path}) and --strict makes them fail\n`);
  });

  it('a file with no trunks: a warning', () => {
    const path = file('no-trunks.yaml', 'accounts: [{ name: a, type: trial }]\n');
    const r = cli('check-config', path);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${path}: OK (1 account(s), 0 trunk(s)) with 1 warning(s):\n  trunks: no trunks: every INVITE names no trunk`);
  });

  it('a file that does not exist, or a folder: a usage error, exit 2', () => {
    const path = join(dir, 'missing.yaml');
    const r = cli('check-config', path);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`trunkgate: cannot read the configuration file ${path}: no such file\n`);
    const folder = cli('check-config', dir);
    expect(folder.status).toBe(2);
    expect(folder.stderr).toBe(`trunkgate: cannot read the configuration file ${dir}: it is a folder\n`);
  });

  it('no file, or an unknown option: one line, exit 2', () => {
    const r = cli('check-config');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("trunkgate check-config: missing required argument 'file'; see trunkgate check-config --help\n");
    const bogus = cli('check-config', '--bogus', EXAMPLE);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toBe("trunkgate check-config: unknown option '--bogus'; see trunkgate check-config --help\n");
  });
});

describe('trunkgate --version and --help', () => {
  it('--version (and -v) prints the package version, exit 0', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-v']) {
      const r = cli(flag);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('--help lists the commands, exit 0', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/check-config \[options\] <file>/);
    expect(r.stdout).toMatch(/scenario \[options\] <name>/);
    expect(r.stdout).toContain('--version');
  });
});

describe('trunkgate [options]: bad options stop it before it starts', () => {
  it('--cps abc: exit 2 and one clear line', () => {
    const r = cli('--cps', 'abc');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("trunkgate: option '--cps <n>' argument 'abc' is invalid. expected a non-negative number; see trunkgate --help\n");
    expect(r.stdout).not.toMatch(/listening/);
  });

  it('--max-concurrent 1.5: non-zero exit, "expected a whole number"', () => {
    const r = cli('--max-concurrent', '1.5');
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull();
    expect(r.stderr).toMatch(/--max-concurrent <n>' argument '1\.5' is invalid\. expected a whole number/);
  });

  it('--account-type gold: non-zero exit naming the choices', () => {
    const r = cli('--account-type', 'gold');
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull();
    expect(r.stderr).toMatch(/Allowed choices are trial, no-pcp, individual-pcp, business-pcp/);
  });

  it('--route http://x: exit 1 naming trunks[0].route', () => {
    const r = cli('--route', 'http://x');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the configuration has 1 problem\(s\) \(.* with the command-line overrides\); fix them and try again/);
    expect(r.stderr).toContain(
      '  trunks[0].route: expected builtin, or sip:IP:PORT with an optional ;transport=udp|tcp|tls (found: "http://x")',
    );
    expect(r.stdout).not.toMatch(/listening/);
  });

  it('--config with a bad file: exit 1, every problem printed', () => {
    const path = file('bad-start.yaml', 'sip:\n  unknownDomian: drop\nshutdown: { drainMs: -1 }\n');
    const r = cli('--config', path);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('  sip.unknownDomian: unknown key');
    expect(r.stderr).toContain('  shutdown.drainMs: ');
  });

  it('--config with a missing file: a usage error (exit 2), the file named', () => {
    const path = join(dir, 'nope.yaml');
    const r = cli('--config', path);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`trunkgate: cannot read the configuration file ${path}: no such file\n`);
  });

  it('an unknown option or a stray argument: exit 2, one line', () => {
    const r = cli('--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("trunkgate: unknown option '--bogus'; see trunkgate --help\n");
    const stray = cli('start');
    expect(stray.status).toBe(2);
    expect(stray.stderr).toMatch(/^trunkgate: too many arguments.*; see trunkgate --help\n$/);
  });

  it('--cps on a configuration without trunks: exit 2 with the reason', () => {
    const r = cli('--config', file('empty.yaml', '{}\n'), '--cps', '2');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'trunkgate: --cps, --account-type, --max-concurrent and --route change the first trunk, and the configuration has none\n',
    );
  });
});

describe('trunkgate start and SIGTERM', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('starts on port 0 with the default config and the overrides, and exits 0 on SIGTERM', async () => {
    const proc = spawn(
      process.execPath,
      [
        CLI,
        '--sip-listen',
        'udp://127.0.0.1:0',
        '--sip-listen',
        'tcp://127.0.0.1:0',
        '--http-listen',
        '127.0.0.1:0',
        '--cps',
        '3',
        '--log-level',
        'warn',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    proc.on('exit', (code, signal) => (exit = { code, signal }));

    // the banner is for a person: on stderr, so stdout carries the log alone
    await waitFor(() => stderr.includes('status page: '), {
      timeoutMs: 15_000,
      what: 'the listening banner',
      detail: () => `stdout=${stdout} stderr=${stderr}`,
    });
    expect(stderr).toMatch(
      /^trunkgate listening on udp:\/\/127\.0\.0\.1:(\d+), tcp:\/\/127\.0\.0\.1:(\d+); HTTP on http:\/\/127\.0\.0\.1:(\d+) \(config: .*trunkgate\.yaml\)\n/,
    );
    const ports = /udp:\/\/127\.0\.0\.1:(\d+), tcp:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
    expect(Number(ports?.[1])).toBeGreaterThan(0);
    expect(Number(ports?.[2])).toBeGreaterThan(0);
    expect(stderr).toContain('trunks: demo.pstn.twilio.com\n');
    expect(stderr).toMatch(/\nstatus page: http:\/\/127\.0\.0\.1:\d+\/\n$/);
    expect(exit).toBeUndefined();

    expect(proc.pid).toBeDefined();
    process.kill(proc.pid as number, 'SIGTERM');
    await waitFor(() => exit, {
      timeoutMs: 15_000,
      what: 'the gateway to exit after SIGTERM',
      detail: () => `stdout=${stdout} stderr=${stderr}`,
    });
    expect(exit).toEqual({ code: 0, signal: null });
    // nothing at warn or above happened: no log line at all
    expect(stdout).toBe('');
  });
});
