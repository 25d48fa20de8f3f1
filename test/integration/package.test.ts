/**
 * The npm package as people install it: `npm pack` holds what the README
 * promises (the built CLI and runner, the scenario pack, the default config,
 * the docs, a LICENSE) and nothing that points at files left out; installed
 * into an empty project, `npx trunkgate --version`, `check-config` and a
 * scenario against a gateway started from that install all work, from that
 * project's folder.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const WORK = mkdtempSync(join(tmpdir(), 'trunkgate-package-'));
const PROJECT = join(WORK, 'project');

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): { status: number | null; stdout: string; stderr: string } {
  // npm_* variables of an outer `npm test` would steer the inner npm (its prefix, its config)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface PackEntry {
  path: string;
}
let files: string[] = [];
let tarball = '';

beforeAll(() => {
  // dist/ is built by test/global-setup.ts; --ignore-scripts: pack that build as it is
  const r = sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', WORK], ROOT);
  if (r.status !== 0) throw new Error(`npm pack failed:\n${r.stderr}`);
  const info = (JSON.parse(r.stdout) as Array<{ filename: string; files: PackEntry[] }>)[0];
  if (info === undefined) throw new Error(`npm pack printed no package:\n${r.stdout}`);
  files = info.files.map((f) => f.path);
  tarball = join(WORK, info.filename);
}, 120_000);

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

function walk(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(dir, join(base, e.name)) : [join(base, e.name)],
  );
}

describe('npm pack', () => {
  it('holds the CLI, the runner, the scenario pack, the default config, the docs and a LICENSE', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/cli.js', 'dist/scenario/run.js', 'dist/gateway.js', 'examples/trunkgate.yaml']) {
      expect(files, f).toContain(f);
    }
    for (const f of readdirSync(join(ROOT, 'docs'))) expect(files).toContain(`docs/${f}`);
    for (const f of walk(join(ROOT, 'sip-scenarios'))) expect(files).toContain(`sip-scenarios/${f}`);
  });

  it('every src/ module is there compiled, and nothing else of dist/: no stale modules, no source maps, no build state', () => {
    const expected = walk(join(ROOT, 'src'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `dist/${f.replace(/\.ts$/, '.js')}`)
      .sort();
    expect(files.filter((f) => f.startsWith('dist/')).sort()).toEqual(expected);
    expect(files.filter((f) => /\.map$|tsbuildinfo|build-stamp/.test(f))).toEqual([]);
  });

  it('no file points at one left out: no sourceMappingURL, and the README’s docs links resolve inside the package', () => {
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      expect(readFileSync(join(ROOT, f), 'utf8'), f).not.toMatch(/sourceMappingURL/);
    }
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const docLinks = [...readme.matchAll(/\]\(((?:docs|examples|sip-scenarios)\/[^)#]*)\)/g)].map((m) => (m[1] as string).replace(/\/$/, ''));
    expect(docLinks.length).toBeGreaterThan(3);
    for (const link of docLinks) expect(files.some((f) => f === link || f.startsWith(`${link}/`)), link).toBe(true);
  });

  it('leaves out the tests, the benchmarks, the sources and the tooling', () => {
    expect(files.filter((f) => /^(test|bench|src|scripts|node_modules|docker|\.ci)\//.test(f))).toEqual([]);
  });
});

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree && port !== 5060 && port !== 8080) return port;
  }
}

describe('installed into an empty project', () => {
  let gateway: ChildProcess | undefined;

  afterAll(async () => {
    if (gateway?.pid !== undefined && gateway.exitCode === null && gateway.signalCode === null) {
      const exited = new Promise((r) => gateway?.once('exit', r));
      gateway.kill('SIGKILL');
      await exited;
    }
  });

  it('npm install <tarball> (from the npm cache where it can), then npx trunkgate --version, check-config, and a scenario against a gateway started from the install', async () => {
    mkdirSync(PROJECT, { recursive: true });
    writeFileSync(join(PROJECT, 'package.json'), JSON.stringify({ name: 'uses-trunkgate', version: '1.0.0', private: true }));
    const install = sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], PROJECT);
    expect(install.status, install.stderr).toBe(0);
    expect(existsSync(join(PROJECT, 'node_modules', 'trunkgate', 'sip-scenarios', 'cps-burst.xml'))).toBe(true);

    const version = sh('npx', ['--no', '--', 'trunkgate', '--version'], PROJECT, 60_000);
    expect(version.stderr).toBe('');
    expect(version.stdout).toBe(`${PKG.version}\n`);

    const example = join(PROJECT, 'node_modules', 'trunkgate', 'examples', 'trunkgate.yaml');
    const check = sh('npx', ['--no', '--', 'trunkgate', 'check-config', example], PROJECT, 60_000);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toBe(`${example}: OK (1 account(s), 1 trunk(s))\n`);

    // the gateway from the install's own bin (so the PID is the gateway's), on free ports
    const sip = await freePort();
    const http = await freePort();
    const bin = join(PROJECT, 'node_modules', '.bin', 'trunkgate');
    const proc = spawn(bin, ['--sip-listen', `udp://127.0.0.1:${sip}`, '--http-listen', `127.0.0.1:${http}`, '--cps', '2', '--log-level', 'warn'], {
      cwd: PROJECT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway = proc;
    let output = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`the gateway exited ${proc.exitCode}: ${output}`);
        try {
          return (await fetch(`http://127.0.0.1:${http}/healthz`)).ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the installed gateway to answer /healthz', detail: () => output },
    );

    // from a folder of the user's, far from the package: the runner finds its scenario pack
    const elsewhere = join(WORK, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    const run = sh(
      'npx',
      ['--prefix', PROJECT, '--no', '--', 'trunkgate', 'scenario', 'cps-burst', '--rate', '10', '--calls', '20', '--target', `127.0.0.1:${sip}`, '--http', `127.0.0.1:${http}`, '--progress', '0'],
      elsewhere,
      90_000,
    );
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/\d+\s+503 Trunk CPS limit exceeded/);
    expect(run.stdout).toContain('verdict      PASS');
    expect(readdirSync(elsewhere)).toEqual([]);

    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 300_000);
});
