#!/usr/bin/env node
// node scripts/container-smoke.mjs [--network host|bridge] [--rebuild-base] [--remove-images]
//
// The Docker image, really built and run, without a registry (podman; no Docker engine needed):
//   1. a base image made from Debian packages: mmdebstrap (bookworm, variant essential, plus
//      libstdc++6) with this machine's node binary and npm copied into /usr/local and a user
//      `node` (uid 1000), then `podman import`. Cached: it is made again only when the recipe,
//      node or npm change (the tag carries a hash of them), or with --rebuild-base;
//   2. docker/Dockerfile built with `podman build --build-arg NODE_IMAGE=<that base>`
//      (--format docker, for the HEALTHCHECK; the npm registry is reached from the build's own
//      network, with this machine's CA bundle as the build secret npm_ca for TLS-intercepting
//      proxies);
//   3. the container started on free ports: with --network host (the default) it runs with a
//      mounted config that listens on 127.0.0.1; with --network bridge the image's own config is
//      used and the ports are published on 127.0.0.1 (-p);
//   4. GET /healthz from here, and the image's own HEALTHCHECK (`podman healthcheck run`), which
//      takes the port from the config the gateway runs with;
//   5. one SIPp call (sip-scenarios/basic-call.xml) over UDP and one over TCP, both answered,
//      and the gateway's metrics count them;
//   6. `podman stop` (SIGTERM: the gateway drains, exits 0), then the container is removed.
//
// Exit codes: 0 all passed; 1 a check failed; 2 bad arguments; 3 this machine cannot build or run
// containers (a tool is missing, or podman's own error, printed as is). It stops and removes only
// the container and processes it started; images stay as the cache unless --remove-images.
//
// Environment: TRUNKGATE_OCI_RUNTIME (podman --runtime; default: podman's, else runc when
// podman's cannot start a container here), TRUNKGATE_DEBIAN_MIRROR (default
// http://deb.debian.org/debian), TRUNKGATE_CONTAINER_WORK (scratch folder for the rootfs tarball,
// default /var/tmp/trunkgate-container).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IMAGE = 'localhost/trunkgate:smoke';
const MIRROR = process.env['TRUNKGATE_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';
const WORK = process.env['TRUNKGATE_CONTAINER_WORK'] ?? '/var/tmp/trunkgate-container';
const CONTAINER = `trunkgate-smoke-${process.pid}`;

class EnvironmentError extends Error {}

const { values: opt } = parseArgs({
  options: {
    network: { type: 'string', default: 'host' },
    'rebuild-base': { type: 'boolean', default: false },
    'remove-images': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help || !['host', 'bridge'].includes(opt.network)) {
  console.error('usage: node scripts/container-smoke.mjs [--network host|bridge] [--rebuild-base] [--remove-images]');
  process.exit(opt.help ? 0 : 2);
}

const started = Date.now();
const timings = [];
const log = (msg) => console.log(`container-smoke: ${msg}`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function phase(name, fn) {
  const t0 = Date.now();
  log(`${name} …`);
  const result = await fn();
  timings.push([name, Date.now() - t0]);
  log(`${name}: done in ${seconds(Date.now() - t0)}`);
  return result;
}

/** Run a command to completion; it is ours, so a timeout kills it. Prints the command line. */
function run(cmd, args, { timeoutMs = 600_000, quiet = false, input, env } = {}) {
  if (!quiet) console.log(`  $ ${[cmd, ...args].map((a) => (/[\s'"$]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    if (input !== undefined) child.stdin.end(input);
    children.add(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(err.code === 'ENOENT' ? new EnvironmentError(`${cmd} is not installed`) : err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, ok: code === 0 });
    });
  });
}

/** podman's stderr without the systemd noise of health-check timers on a machine without systemd. */
const podmanErrors = (stderr) =>
  stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/unable to get systemd connection/.test(l))
    .join('\n');

function fail(message, output) {
  const err = new Error(output === undefined ? message : `${message}\n${output.trim()}`);
  throw err;
}

const children = new Set();
let containerStarted = false;
let cleaning;
let interrupted;
const scratch = [];

/** rm -rf, but never through a mount point (an interrupted mmdebstrap may leave its chroot behind). */
function removeUnlessMounted(path) {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m !== undefined && (m === path || m.startsWith(`${path}/`)));
  if (mounts.length > 0) log(`left ${path} in place: ${mounts.join(', ')} mounted below it`);
  else rmSync(path, { recursive: true, force: true });
}

/** Kill the processes and remove the container this run started; once, whoever asks first. */
function cleanup() {
  cleaning ??= (async () => {
    // SIGTERM first (mmdebstrap removes its temporary chroot then), SIGKILL after 5 s
    const exited = [...children].map((child) => new Promise((resolve) => child.once('close', resolve)));
    for (const child of children) child.kill('SIGTERM');
    const grace = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), 5000);
    await Promise.all(exited);
    clearTimeout(grace);
    if (containerStarted) {
      containerStarted = false;
      await run('podman', ['rm', '-f', '-t', '5', CONTAINER], { quiet: true, timeoutMs: 60_000 }).catch(() => undefined);
    }
    for (const path of scratch) removeUnlessMounted(path);
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = signal;
    log(`${signal}: stopping what this run started`);
    void cleanup().then(() => process.exit(130));
  });
}

// ---- the tools, and what podman needs here ------------------------------------------------

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function hardNofile() {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const n = out === 'unlimited' ? 1_048_576 : Number(out);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1_048_576) : 1024;
}

/**
 * Explicit limits: podman's defaults (nofile 1048576, nproc 4194304) are above the hard limits
 * of a process without CAP_SYS_RESOURCE, and the OCI runtime then fails with
 * "setrlimit `RLIMIT_NOFILE`: Operation not permitted".
 */
const NOFILE = hardNofile();
const ULIMITS = ['--ulimit', `nofile=${NOFILE}:${NOFILE}`, '--ulimit', 'nproc=4096:4096'];

/** This machine's node and npm, which go into the base image. */
function hostNode() {
  const node = realpathSync(process.execPath);
  const candidates = [join(dirname(dirname(node)), 'lib', 'node_modules', 'npm')];
  const npmOnPath = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (npmOnPath !== '') candidates.push(dirname(dirname(realpathSync(npmOnPath))));
  const npm = candidates.find((d) => existsSync(join(d, 'bin', 'npm-cli.js')));
  if (npm === undefined) throw new EnvironmentError(`npm not found next to ${node} (looked in ${candidates.join(', ')})`);
  const npmVersion = JSON.parse(readFileSync(join(npm, 'package.json'), 'utf8')).version;
  return { node, npm, version: process.versions.node, npmVersion };
}

function mmdebstrapArgs(host, tarball) {
  const q = (p) => `'${p.replaceAll("'", "'\\''")}'`;
  return [
    '--variant=essential',
    '--include=libstdc++6',
    '--components=main',
    '--customize-hook',
    `mkdir -p "$1/usr/local/bin" "$1/usr/local/lib/node_modules" && cp -a ${q(host.node)} "$1/usr/local/bin/node" && cp -a ${q(host.npm)} "$1/usr/local/lib/node_modules/npm" && ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"`,
    '--customize-hook',
    'echo "node:x:1000:1000::/home/node:/bin/sh" >> "$1/etc/passwd" && echo "node:x:1000:" >> "$1/etc/group" && echo "node:*:19000:0:99999:7:::" >> "$1/etc/shadow" && mkdir -p "$1/home/node" && chown 1000:1000 "$1/home/node"',
    '--customize-hook',
    'rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/*',
    'bookworm',
    tarball,
    `deb ${MIRROR} bookworm main`,
    `deb ${MIRROR} bookworm-updates main`,
    `deb ${MIRROR.replace(/\/debian\/?$/, '/debian-security')} bookworm-security main`,
  ];
}

async function imageId(ref) {
  const r = await run('podman', ['image', 'inspect', '--format', '{{.Id}}', ref], { quiet: true });
  return r.ok ? r.stdout.trim() : undefined;
}

async function imageSize(ref) {
  const r = await run('podman', ['image', 'inspect', '--format', '{{.Size}}', ref], { quiet: true });
  return r.ok ? `${(Number(r.stdout.trim()) / 1e6).toFixed(0)} MB` : '?';
}

/** The base image: cached by a tag that hashes the recipe, node and npm. */
async function baseImage(host) {
  const recipe = JSON.stringify([mmdebstrapArgs(host, '-'), host.version, host.npmVersion, statSync(host.node).size]);
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 10);
  const tag = `localhost/trunkgate-base:bookworm-node${host.version}-${hash}`;
  const oldBase = await imageId(tag);
  if (!opt['rebuild-base'] && oldBase !== undefined) {
    log(`base image ${tag} is there (cached)`);
    return { tag, cached: true };
  }
  if (!have('mmdebstrap')) throw new EnvironmentError('mmdebstrap is not installed (Debian: apt-get install mmdebstrap)');
  mkdirSync(WORK, { recursive: true });
  const tarball = join(WORK, `base-${hash}.tar`);
  rmSync(tarball, { force: true });
  scratch.push(tarball);
  try {
    await phase('base rootfs (mmdebstrap)', async () => {
      // its temporary chroot goes under WORK, so that an interrupted run can remove it
      const tmp = mkdtempSync(join(WORK, 'mmdebstrap-tmp-'));
      scratch.push(tmp);
      const r = await run('mmdebstrap', mmdebstrapArgs(host, tarball), { timeoutMs: 900_000, env: { TMPDIR: tmp } });
      removeUnlessMounted(tmp);
      if (!r.ok) throw new EnvironmentError(`mmdebstrap failed (${r.code}):\n${r.stderr.split('\n').slice(-25).join('\n')}`);
      log(`rootfs tarball ${(statSync(tarball).size / 1e6).toFixed(0)} MB`);
    });
    await phase('base image (podman import)', async () => {
      const r = await run('podman', [
        'import',
        '--change',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change',
        `ENV NODE_VERSION=${host.version}`,
        '--change',
        'CMD ["node"]',
        '--message',
        `Debian bookworm (mmdebstrap, essential + libstdc++6) with node ${host.version} and npm ${host.npmVersion} from ${host.node}`,
        tarball,
        tag,
      ]);
      if (!r.ok) throw new EnvironmentError(`podman import failed (${r.code}):\n${r.stderr}`);
    });
  } finally {
    removeUnlessMounted(tarball);
  }
  // --rebuild-base: the previous base, now untagged, is ours (this fails harmlessly while images use it)
  if (oldBase !== undefined && oldBase !== (await imageId(tag))) await run('podman', ['rmi', oldBase], { quiet: true });
  return { tag, cached: false };
}

/**
 * A runtime with which podman can start a container here: podman's default first (crun on
 * Debian), then runc. crun 1.8 refuses a cgroup v1/v2 hybrid whose v2 hierarchy has controllers
 * ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"); runc runs there.
 */
async function pickRuntime(base) {
  const wanted = process.env['TRUNKGATE_OCI_RUNTIME'];
  const candidates = wanted !== undefined ? [wanted] : [undefined, ...(have('runc') ? ['runc'] : [])];
  const errors = [];
  for (const runtime of candidates) {
    const global = runtime === undefined ? [] : ['--runtime', runtime];
    const r = await run(
      'podman',
      [...global, 'run', '--rm', ...ULIMITS, '--user', 'node', base, 'node', '-e', 'console.log(process.version)'],
      {
        timeoutMs: 120_000,
      },
    );
    if (r.ok && r.stdout.trim() === `v${process.versions.node}`) {
      log(`podman runs containers here with runtime ${runtime ?? "podman's default"}; node in the base image: ${r.stdout.trim()}`);
      return global;
    }
    errors.push(`${['podman', ...global].join(' ')} run … → exit ${r.code}: ${podmanErrors(r.stderr) || r.stdout.trim()}`);
    log(`runtime ${runtime ?? "podman's default"} cannot start a container here: ${errors.at(-1)}`);
  }
  throw new EnvironmentError(
    `podman cannot run a container on this machine:\n${errors.join('\n')}${have('runc') ? '' : '\n(runc is not installed: apt-get install runc)'}`,
  );
}

// ---- ports, the config, SIPp ----------------------------------------------------------------

async function freePort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => resolve(a.port));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port on 127.0.0.1');
}

/** docker/trunkgate.docker.yaml listening on 127.0.0.1 at these ports (for --network host). */
function hostNetworkConfig(sipPort, httpPort) {
  const text = readFileSync(join(ROOT, 'docker', 'trunkgate.docker.yaml'), 'utf8');
  const out = text
    .replace('listen: ["udp://0.0.0.0:5060", "tcp://0.0.0.0:5060"]', `listen: ["udp://127.0.0.1:${sipPort}", "tcp://127.0.0.1:${sipPort}"]`)
    .replace('listen: "0.0.0.0:8080"', `listen: "127.0.0.1:${httpPort}"`);
  if (!out.includes(`127.0.0.1:${sipPort}`) || !out.includes(`127.0.0.1:${httpPort}`)) {
    fail('docker/trunkgate.docker.yaml: its sip.listen / http.listen lines changed; update hostNetworkConfig()');
  }
  return out;
}

function sippStats(file) {
  if (!existsSync(file)) return {};
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = (lines[0] ?? '').split(';');
  const last = (lines.at(-1) ?? '').split(';');
  return Object.fromEntries(head.map((k, i) => [k, last[i]]));
}

async function sippCall(transport, sipPort, dir) {
  const localPort = await freePort();
  const csv = join(dir, 'numbers.csv');
  writeFileSync(csv, 'SEQUENTIAL\n+14155550123;+14155550100;\n');
  const stats = join(dir, `stats-${transport}.csv`);
  const r = await run(
    'sipp',
    [
      '-sf',
      join(ROOT, 'sip-scenarios', 'basic-call.xml'),
      `127.0.0.1:${sipPort}`,
      '-i',
      '127.0.0.1',
      '-p',
      String(localPort),
      '-t',
      transport,
      '-inf',
      csv,
      '-key',
      'trunk',
      'demo.pstn.twilio.com',
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '30s',
      '-timeout_error',
      '-trace_stat',
      '-stf',
      stats,
      '-trace_err',
      '-error_file',
      join(dir, `errors-${transport}.log`),
    ],
    { timeoutMs: 60_000 },
  );
  const s = sippStats(stats);
  if (!r.ok || s['SuccessfulCall(C)'] !== '1') {
    const errors = existsSync(join(dir, `errors-${transport}.log`)) ? readFileSync(join(dir, `errors-${transport}.log`), 'utf8') : '';
    fail(
      `SIPp call over ${transport === 'u1' ? 'UDP' : 'TCP'} failed: exit ${r.code}, successful ${s['SuccessfulCall(C)'] ?? '?'}, failed ${s['FailedCall(C)'] ?? '?'}`,
      `${r.stderr}\n${errors.slice(-3000)}`,
    );
  }
}

async function containerState() {
  const r = await run('podman', ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', CONTAINER], { quiet: true });
  return r.ok ? r.stdout.trim() : `unknown (${podmanErrors(r.stderr)})`;
}

async function containerLogs() {
  const r = await run('podman', ['logs', '--tail', '40', CONTAINER], { quiet: true });
  return `--- podman logs ${CONTAINER} ---\n${r.stdout}${r.stderr}`;
}

// ---- the run ----------------------------------------------------------------------------------

async function main() {
  const missing = ['podman', 'sipp'].filter((c) => !have(c));
  if (missing.length > 0) {
    throw new EnvironmentError(
      `not installed: ${missing.join(', ')} (Debian: apt-get install ${missing.map((m) => (m === 'sipp' ? 'sip-tester' : m)).join(' ')})`,
    );
  }
  const host = hostNode();
  if (Number(host.version.split('.')[0]) < 20) throw new EnvironmentError(`node ${host.version}: the image needs node >= 20`);

  const base = await baseImage(host);
  const runtime = await phase('container runtime check', () => pickRuntime(base.tag));

  const oldImage = await imageId(IMAGE);
  await phase('image build (podman build)', async () => {
    const cafile = [process.env['npm_config_cafile'], '/etc/ssl/certs/ca-certificates.crt', process.env['NODE_EXTRA_CA_CERTS']].find(
      (f) => f !== undefined && f !== '' && existsSync(f),
    );
    const r = await run(
      'podman',
      [
        ...runtime,
        'build',
        '--pull=never',
        '--format',
        'docker',
        '--build-arg',
        `NODE_IMAGE=${base.tag}`,
        ...(cafile === undefined ? [] : ['--secret', `id=npm_ca,src=${cafile}`]),
        '--ignorefile',
        join(ROOT, 'docker', 'Dockerfile.dockerignore'),
        '-f',
        join(ROOT, 'docker', 'Dockerfile'),
        '-t',
        IMAGE,
        ROOT,
      ],
      { timeoutMs: 1_200_000 },
    );
    if (!r.ok) fail(`podman build failed (exit ${r.code})`, `${r.stdout.split('\n').slice(-30).join('\n')}\n${podmanErrors(r.stderr)}`);
  });
  const newImage = await imageId(IMAGE);
  if (oldImage !== undefined && oldImage !== newImage) {
    // the previous smoke image, now untagged: ours, so remove it (it fails harmlessly if in use)
    await run('podman', ['rmi', oldImage], { quiet: true });
  }
  log(`images: ${base.tag} ${await imageSize(base.tag)}, ${IMAGE} ${await imageSize(IMAGE)}`);

  const sipPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === sipPort) httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-container-smoke-'));
  scratch.push(dir);
  try {
    await phase(`container start (--network ${opt.network})`, async () => {
      let args;
      if (opt.network === 'host') {
        const config = join(dir, 'trunkgate.yaml');
        writeFileSync(config, hostNetworkConfig(sipPort, httpPort), { mode: 0o644 });
        args = ['--network', 'host', '-v', `${config}:/app/docker/trunkgate.docker.yaml:ro`, IMAGE];
      } else {
        args = [
          '-p',
          `127.0.0.1:${sipPort}:5060/udp`,
          '-p',
          `127.0.0.1:${sipPort}:5060/tcp`,
          '-p',
          `127.0.0.1:${httpPort}:8080/tcp`,
          IMAGE,
        ];
      }
      // --health-interval disable: podman schedules health checks with systemd timers; they are
      // run by hand below (podman healthcheck run) instead.
      containerStarted = true; // from here on, cleanup() removes it (podman rm -f of none is harmless)
      const r = await run('podman', [...runtime, 'run', '-d', '--name', CONTAINER, ...ULIMITS, '--health-interval', 'disable', ...args], {
        timeoutMs: 120_000,
      });
      if (!r.ok) fail(`podman run failed (exit ${r.code})`, podmanErrors(r.stderr));
    });

    await phase(`GET http://127.0.0.1:${httpPort}/healthz`, async () => {
      const deadline = Date.now() + 30_000;
      let last;
      for (;;) {
        try {
          const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(2000) });
          if (res.ok) break;
          last = `HTTP ${res.status}`;
        } catch (err) {
          last = err.cause?.code ?? err.message;
        }
        const state = await containerState();
        if (!state.startsWith('running')) fail(`the container is ${state}`, await containerLogs());
        if (Date.now() > deadline) fail(`/healthz did not answer within 30 s (${last})`, await containerLogs());
        await new Promise((r) => setTimeout(r, 250));
      }
    });

    await phase('the image HEALTHCHECK (podman healthcheck run)', async () => {
      const r = await run('podman', ['healthcheck', 'run', CONTAINER], { timeoutMs: 60_000 });
      if (!r.ok) fail(`podman healthcheck run: exit ${r.code} ${r.stdout.trim()}`, podmanErrors(r.stderr));
    });

    await phase('SIPp call over UDP', () => sippCall('u1', sipPort, dir));
    await phase('SIPp call over TCP', () => sippCall('t1', sipPort, dir));

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const answered = Number(/^trunkgate_calls_ended_total\{[^}]*disposition="answered"[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    if (answered !== 2) fail(`the gateway's metrics count ${answered} answered calls, expected 2`);
    log('the gateway counts 2 answered calls');

    await phase('container stop (SIGTERM, drain)', async () => {
      const r = await run('podman', ['stop', '-t', '40', CONTAINER], { timeoutMs: 90_000 });
      if (!r.ok) fail(`podman stop failed (exit ${r.code})`, podmanErrors(r.stderr));
      const state = await containerState();
      if (state !== 'exited 0') fail(`after SIGTERM the container is "${state}", expected "exited 0"`, await containerLogs());
      const rm = await run('podman', ['rm', CONTAINER], { timeoutMs: 60_000 });
      if (!rm.ok) fail(`podman rm failed (exit ${rm.code})`, podmanErrors(rm.stderr));
      containerStarted = false;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (opt['remove-images']) {
    await run('podman', ['rmi', IMAGE, base.tag]);
  }
  log(`OK in ${seconds(Date.now() - started)}: ${timings.map(([n, ms]) => `${n} ${seconds(ms)}`).join('; ')}`);
}

main().then(
  () => process.exit(0),
  async (err) => {
    await cleanup();
    if (interrupted !== undefined) process.exit(130);
    if (err instanceof EnvironmentError) {
      console.error(`container-smoke: this machine cannot build or run the image: ${err.message}`);
      process.exit(3);
    }
    console.error(`container-smoke: FAILED: ${err.message}`);
    process.exit(1);
  },
);
