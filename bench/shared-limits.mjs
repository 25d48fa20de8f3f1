// Limits shared through Redis (issue 17), against a real redis-server on loopback (started here,
// its own temp dir, no persistence, stopped by PID):
//  - throughput: two instances (two worker threads, each with its own store and Redis connection)
//    admit as fast as they can against one trunk at CPS 2,500; admissions/s in all, and the
//    over-admission against one limiter's contract (admitted ≤ burst + CPS × (elapsed + τ));
//  - latency: the admission step alone (checks 1-14 on a parsed INVITE, the Redis round trip of
//    checks 12-14 included), one at a time, p50 and p99.
// Targets: ≥ 2,000 admissions/s across two instances with 0 over-admission; p99 ≤ 1 ms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createConnection } from 'node:net';
import { freePort } from './lib.mjs';

const CPS = 2500;
const SECONDS = 5;

async function startRedisServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const s = createConnection(port, '127.0.0.1', () => s.end(() => resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start (apt-get install redis-server)');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One instance: its own store and connection, `inFlight` admissions at a time for `seconds`. */
async function instance({ url, name, seconds, inFlight, cps }) {
  const { RedisBackend } = await import('../dist/store/redis-backend.js');
  const { SharedLimitStore } = await import('../dist/store/shared-limit-store.js');
  const { ConcurrencyTracker, LeaseScope } = await import('../dist/limits/concurrency.js');
  const { CpsScope } = await import('../dist/limits/cps-scope.js');
  const tracker = new ConcurrencyTracker();
  const leases = [new LeaseScope('trunk', 'demo', null), new LeaseScope('account', 'demo', null)];
  const backend = new RedisBackend({ url, keyPrefix: 'bench', commandTimeoutMs: 2000, instance: name });
  const store = new SharedLimitStore({ backend, tracker, instance: name, onStoreFailure: 'closed', leaseTtlMs: 30_000, sweepScopes: () => leases });
  await store.start();
  const req = {
    trunkCps: new CpsScope('trunk', 'demo', 'us1'),
    trunkSettings: { algorithm: 'token-bucket', cps, burst: null, toleranceMs: null },
    pooledCps: undefined,
    pooledSettings: undefined,
    leaseScopes: leases,
  };
  const now = () => performance.timeOrigin + performance.now();
  let attempted = 0;
  let admitted = 0;
  let errors = 0;
  let first = Infinity;
  let last = 0;
  const end = now() + seconds * 1000;
  async function loop() {
    while (now() < end) {
      const r = await store.take(req);
      const t = now();
      attempted++;
      if (t < first) first = t;
      last = t;
      if (r.ok) {
        admitted++;
        r.lease.release('bye-caller');
      } else if (r.refused === 'store-unavailable') errors++;
    }
  }
  await Promise.all(Array.from({ length: inFlight }, loop));
  await store.stop();
  return { attempted, admitted, errors, first, last, doubleReleases: tracker.doubleReleases };
}

if (!isMainThread) {
  parentPort.postMessage(await instance(workerData));
}

export async function benchSharedLimits({ seconds = SECONDS, cps = CPS, inFlight = 32 } = {}) {
  const redis = await startRedisServer();
  try {
    console.log(`Throughput: 2 instances (worker threads), one trunk at CPS ${cps}, ${inFlight} admissions in flight each, ${seconds} s, loopback redis-server`);
    const runs = await Promise.all(
      ['bench-a', 'bench-b'].map(
        (name) =>
          new Promise((resolve, reject) => {
            const w = new Worker(new URL(import.meta.url), { workerData: { url: redis.url, name, seconds, inFlight, cps } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    const admitted = runs.reduce((n, r) => n + r.admitted, 0);
    const attempted = runs.reduce((n, r) => n + r.attempted, 0);
    const errors = runs.reduce((n, r) => n + r.errors, 0);
    const elapsed = (Math.max(...runs.map((r) => r.last)) - Math.min(...runs.map((r) => r.first))) / 1000;
    const tau = Math.min(100, 100 / cps) / 1000;
    const bound = Math.ceil(cps) + cps * (elapsed + tau);
    const over = Math.max(0, admitted - Math.floor(bound));
    const rate = admitted / elapsed;
    for (const [i, r] of runs.entries()) console.log(`  instance ${i}: ${r.attempted} decisions, ${r.admitted} admitted, ${r.errors} store errors, ${r.doubleReleases} double releases`);
    console.log(`  in all: ${attempted} decisions (${Math.round(attempted / elapsed)}/s), ${admitted} admitted (${Math.round(rate)}/s) over ${elapsed.toFixed(2)} s`);
    console.log(`  bound burst + CPS × (elapsed + τ) = ${bound.toFixed(1)}: over-admission ${over}`);
    const throughputMet = rate >= 2000 && over === 0 && errors === 0;
    console.log(`  target ≥ 2,000 admissions/s across two instances, 0 over-admission: ${throughputMet ? 'MET' : 'MISSED'}`);

    const latency = await admissionLatency(redis.url);
    return { rate, over, latency, met: throughputMet && latency.met };
  } finally {
    await redis.stop();
  }
}

/** The admission step (checks 1-14) on parsed INVITEs, with the Redis store, one at a time. */
async function admissionLatency(url, iterations = 20_000) {
  const { validateConfig } = await import('../dist/config/load.js');
  const { ConcurrencyTracker } = await import('../dist/limits/concurrency.js');
  const { parseMessage } = await import('../dist/sip/message/index.js');
  const { admit, identify } = await import('../dist/termination/admission.js');
  const { DigestAuth } = await import('../dist/termination/digest.js');
  const { Directory } = await import('../dist/termination/directory.js');
  const { RedisBackend } = await import('../dist/store/redis-backend.js');
  const { SharedLimitStore } = await import('../dist/store/shared-limit-store.js');
  const { realisticInvite } = await import('./fixtures.mjs');
  console.log(`Admission step with Redis on loopback (checks 1-14, one round trip for 12-14, ${iterations.toLocaleString('en-US')} runs one at a time)`);
  const result = validateConfig({
    blocklist: ['+1900*'],
    accounts: [{ name: 'demo', type: 'business-pcp', callerIds: ['+14155550100'], pooledCps: { us1: 100000 } }],
    trunks: [{ name: 'demo', account: 'demo', cps: { default: 100000 }, maxConcurrentCalls: 1000, auth: { ipAcl: ['192.0.2.0/24', '127.0.0.0/8'] } }],
  });
  if (!result.ok) throw new Error('bench config invalid');
  const directory = new Directory(result.config);
  const tracker = new ConcurrencyTracker();
  const backend = new RedisBackend({ url, keyPrefix: 'latency', commandTimeoutMs: 2000, instance: 'bench' });
  const store = new SharedLimitStore({ backend, tracker, instance: 'bench', onStoreFailure: 'closed', leaseTtlMs: 30_000, sweepScopes: () => directory.leaseScopes() });
  await store.start();
  const ctx = { directory, limits: store, digest: new DigestAuth(), cpsFor: (trunk, region) => trunk.config.cps[region] ?? trunk.config.cps.default };
  const requests = Array.from({ length: 64 }, (_, i) => {
    const r = parseMessage(realisticInvite(i));
    r.message.source = { transport: 'udp', address: '192.0.2.10', port: 5060, family: 'IPv4', localAddress: '127.0.0.1', localPort: 5060, connectionId: undefined };
    return r.message;
  });
  const times = new Float64Array(iterations);
  let admitted = 0;
  for (let i = 0; i < iterations + 2000; i++) {
    const req = requests[i & 63];
    const t0 = performance.now();
    const d = await admit(req, identify(req, directory), ctx);
    const t1 = performance.now();
    if (d.kind === 'admit') {
      admitted++;
      d.lease.release('bye-caller');
    }
    if (i >= 2000) times[i - 2000] = (t1 - t0) * 1000;
  }
  await store.stop();
  const sorted = Array.from(times).sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  console.log(`  admitted ${admitted}/${iterations + 2000}; p50 ${p50.toFixed(0)} µs   p99 ${p99.toFixed(0)} µs`);
  const met = p99 <= 1000 && admitted === iterations + 2000;
  console.log(`  target p99 ≤ 1 ms: ${met ? 'MET' : 'MISSED'}`);
  return { p50, p99, met };
}
