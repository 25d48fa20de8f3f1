// Shared helpers for the benchmarks: start the built gateway as its own
// process, run SIPp, read its counters. Everything on 127.0.0.1, bounded in
// calls and time.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ---- every process a benchmark starts is ours to stop: on exit, on an error, on Ctrl-C or kill

const children = new Set();

/** Register a child process: it is stopped when the benchmark ends, however it ends. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(signal) {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\nbench: ${signal}: stopping the ${children.size} process(es) it started`);
    killAll('SIGTERM');
    const deadline = Date.now() + 3000;
    const wait = setInterval(() => {
      if (children.size > 0 && Date.now() < deadline) return;
      clearInterval(wait);
      killAll('SIGKILL');
      process.exit(130);
    }, 50);
  });
}
// a throw, an unhandled rejection or process.exit: whatever is still running gets SIGKILL
process.on('exit', () => killAll('SIGKILL'));

export function requireSipp() {
  if (spawnSync('sh', ['-c', 'command -v sipp'], { stdio: 'ignore' }).status !== 0) {
    console.error('SIPp is needed for this benchmark: apt-get install sip-tester');
    process.exit(1);
  }
}

export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    const ok = await new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

/**
 * Start `node dist/cli.js` with the given args; resolves once it prints that it is listening.
 * `nodeArgs` go to node itself (`--trace-gc`, `--cpu-prof`); `keepOutput` keeps what it prints
 * (`output()`), e.g. to add up `--trace-gc` pauses.
 */
export async function startGatewayProcess(args, { nodeArgs = [], keepOutput = false, cwd = undefined } = {}) {
  const child = track(spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist/cli.js'), '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd }));
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${out}`)), 15000);
    // the banner ("trunkgate listening on …") is on stderr; stdout carries the log
    const onData = (d) => {
      out += d;
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
  });
  if (keepOutput) {
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
  }
  child.stdout.resume();
  child.stderr.resume();
  return {
    pid: child.pid,
    output: () => out,
    rssKiB() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      } catch {
        return 0;
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** A process's CPU time so far (utime + stime from /proc), in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Run SIPp to completion and return its final cumulative counters. */
/**
 * `softStopAfterSeconds`: send SIPp SIGUSR1 then, its smooth exit: it places no new calls and
 * exits once the calls in progress have ended (run length by time rather than by count).
 */
export async function runSipp({ scenario, target, transport = 'u1', calls, rate, localPort, timeoutSeconds = 60, extraArgs = [], softStopAfterSeconds }) {
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-bench-'));
  const port = localPort ?? (await freePort());
  const args = [];
  if (scenario === 'uac' || scenario === 'uas') args.push('-sn', scenario);
  else args.push('-sf', scenario);
  if (target) args.push(target);
  args.push('-i', '127.0.0.1', '-p', String(port), '-t', transport);
  if (calls !== undefined) args.push('-m', String(calls));
  if (rate !== undefined) args.push('-r', String(rate));
  args.push('-nostdin', '-timeout', `${timeoutSeconds}s`, '-timeout_error', '-trace_stat', '-stf', join(dir, 'stats.csv'), '-fd', '1');
  args.push(...extraArgs);
  // cwd: SIPp's trace files land in the run's scratch folder, never in the repository
  const child = track(spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir }));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const started = Date.now();
  // SIPp's -timeout bounds the run; this is the backstop if it is ignored.
  const backstop = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 15) * 1000);
  const softStop = softStopAfterSeconds === undefined ? undefined : setTimeout(() => child.kill('SIGUSR1'), softStopAfterSeconds * 1000);
  const exitCode = await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(backstop);
  clearTimeout(softStop);
  const wallSeconds = (Date.now() - started) / 1000;
  const stats = readStats(join(dir, 'stats.csv'));
  const num = (k) => Number(stats[k] ?? 0);
  return {
    exitCode,
    stderr,
    wallSeconds,
    successful: num('SuccessfulCall(C)'),
    failed: num('FailedCall(C)'),
    created: num('TotalCallCreated'),
    retransmissions: num('Retransmissions(C)'),
    stats,
  };
}

/** Start SIPp in the background (a uas peer); returns its port and a stop function. */
export async function startSipp({ scenario, transport = 'u1', extraArgs = [] }) {
  const port = await freePort();
  const args = [...(scenario === 'uas' || scenario === 'uac' ? ['-sn', scenario] : ['-sf', scenario]), '-i', '127.0.0.1', '-p', String(port), '-t', transport, '-nostdin', ...extraArgs];
  const child = track(spawn('sipp', args, { stdio: ['ignore', 'ignore', 'ignore'], cwd: mkdtempSync(join(tmpdir(), 'trunkgate-bench-')) }));
  await new Promise((r) => setTimeout(r, 300));
  return {
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function readStats(path) {
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  return Object.fromEntries(header.map((h, i) => [h, last[i]]));
}

/**
 * Offer calls at rising rates for `seconds` each; return the highest rate
 * whose run had 0 failed calls and kept up (achieved ≥ 95% of the offered rate).
 */
export async function highestCleanRate({ label, target, rates, seconds = 5, transport = 'u1', scenario = 'uac', extraArgs = [], timeoutSeconds = seconds * 4 + 20 }) {
  let best = 0;
  const rows = [];
  for (const rate of rates) {
    const calls = Math.round(rate * seconds);
    const r = await runSipp({ scenario, target, transport, calls, rate, timeoutSeconds, extraArgs });
    const achieved = r.successful / Math.max(r.wallSeconds - 0.5, 0.001);
    const clean = r.failed === 0 && r.successful === calls && achieved >= rate * 0.95 * (seconds / (seconds + 1.5));
    rows.push({ label, rate, calls, successful: r.successful, failed: r.failed, retrans: r.retransmissions, wallSeconds: r.wallSeconds.toFixed(1), clean });
    console.log(`  ${label.padEnd(28)} ${String(rate).padStart(6)} calls/s: ${r.successful}/${calls} ok, ${r.failed} failed, ${r.retransmissions} retrans, ${r.wallSeconds.toFixed(1)} s ${clean ? 'clean' : 'NOT clean'}`);
    if (!clean) break;
    best = rate;
  }
  return { best, rows };
}

/**
 * Write a gateway config for a benchmark: the default config with CPS out of
 * the way and SIPp's IP URIs accepted. `pstn` adds lines to the pstn section.
 */
export function benchConfig({ port, httpPort = 0, route = 'builtin', answerAfterMs = 0, t1Ms = 500, pstn = [], observability = undefined }) {
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-benchcfg-'));
  const path = join(dir, 'trunkgate.yaml');
  const yaml = `sip:
  listen: ["udp://127.0.0.1:${port}", "tcp://127.0.0.1:${port}"]
  fallbackTrunk: demo
  timers: { t1Ms: ${t1Ms}, t2Ms: 4000, t4Ms: 5000 }
http:
  listen: "127.0.0.1:${httpPort}"
accounts:
  - name: demo
    type: business-pcp
trunks:
  - name: demo
    account: demo
    cps: { default: 100000 }
    auth: { ipAcl: ["127.0.0.0/8"] }
    route: "${route}"
pstn:
  answerAfterMs: ${answerAfterMs}
${pstn.map((line) => `  ${line}`).join('\n')}
${observability === undefined ? '' : `observability: ${JSON.stringify(observability)}`}
`;
  writeFileSync(path, yaml);
  return path;
}
