// CPU per call (issue 18): SIPp uac offers a fixed number of calls at a fixed rate to
//  (a) SIPp's own uas, (b) trunkgate answering with its built-in emulator, (c) trunkgate
//  relaying to a SIPp uas carrier; and the rejection path: trunkgate at CPS 1 (503 Trunk CPS
//  limit exceeded) next to a SIPp uas that answers every INVITE 503.
// Each server's CPU time (utime + stime from /proc) before and after the run, divided by the
// calls offered, side by side in one run. Each measurement runs `repeats` times on a warmed-up
// server and the lowest counts (other load on the machine only ever adds). trunkgate runs with
// --trace-gc: the GC pauses of the measured run are added up, and its RSS is read after it.
// Targets: builtin ≤ 2 × SIPp uas; carrier ≤ 300 µs per call (trunkgate's CPU only).
import { join } from 'node:path';
import { ROOT, benchConfig, cpuSeconds, freePort, runSipp, startGatewayProcess, startSipp } from './lib.mjs';

const SERVICE = ['-s', '+14155550123'];
const BURST = join(ROOT, 'sip-scenarios/cps-burst.xml');
const PACK_ARGS = ['-inf', join(ROOT, 'sip-scenarios/numbers/us.csv'), '-key', 'trunk', 'demo.pstn.twilio.com'];
const TRACE_GC = ['--trace-gc'];

/** The GC pauses `--trace-gc` printed in `text`: total milliseconds, and the count. */
export function gcPauses(text) {
  // "[1234:0x…]   5678 ms: Scavenge 10.1 (12.0) -> 9.5 (13.0) MB, 0.43 / 0.00 ms  (average mu = …"
  let total = 0;
  let count = 0;
  for (const m of text.matchAll(/ms: (?:Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)[^\n]*?MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/g)) {
    total += Number(m[1]);
    count++;
  }
  return { totalMs: total, count };
}

/**
 * One measured run against `server` (pid) at `rate` for `calls` calls, after a warm-up.
 * Returns µs of the server's CPU per call offered, and what SIPp saw.
 */
async function measure({ pid, target, rate, calls, scenario = 'uac', extraArgs = SERVICE, gateway }) {
  await runSipp({ scenario, target, calls: Math.min(1000, rate), rate: Math.min(rate, 1000), extraArgs }); // warm-up (JIT, pools)
  const gcBefore = gateway === undefined ? undefined : gcPauses(gateway.output());
  const before = cpuSeconds(pid);
  const r = await runSipp({ scenario, target, calls, rate, timeoutSeconds: Math.ceil(calls / rate) * 3 + 30, extraArgs });
  const cpu = cpuSeconds(pid) - before;
  const gc = gateway === undefined ? undefined : gcPauses(gateway.output());
  return {
    usPerCall: (cpu / calls) * 1e6,
    failed: r.failed,
    successful: r.successful,
    gcMs: gc === undefined ? undefined : gc.totalMs - gcBefore.totalMs,
    gcCount: gc === undefined ? undefined : gc.count - gcBefore.count,
    rssKiB: gateway?.rssKiB(),
  };
}

function best(rows) {
  return rows.reduce((a, b) => (b.usPerCall < a.usPerCall ? b : a));
}

async function repeat(times, fn) {
  const rows = [];
  for (let i = 0; i < times; i++) rows.push(await fn());
  return best(rows);
}

async function sippUas(rate, calls, repeats, scenario = 'uas', uacScenario = 'uac', extraArgs = SERVICE) {
  const uas = await startSipp({ scenario });
  try {
    return await repeat(repeats, () => measure({ pid: uas.pid, target: `127.0.0.1:${uas.port}`, rate, calls, scenario: uacScenario, extraArgs }));
  } finally {
    await uas.stop();
  }
}

async function trunkgateBuiltin(rate, calls, repeats) {
  const port = await freePort();
  const gw = await startGatewayProcess(['--config', benchConfig({ port })], { nodeArgs: TRACE_GC, keepOutput: true });
  try {
    return await repeat(repeats, () => measure({ pid: gw.pid, target: `127.0.0.1:${port}`, rate, calls, gateway: gw }));
  } finally {
    await gw.stop();
  }
}

async function trunkgateCarrier(rate, calls, repeats) {
  const carrier = await startSipp({ scenario: 'uas' });
  const port = await freePort();
  const gw = await startGatewayProcess(['--config', benchConfig({ port, route: `sip:127.0.0.1:${carrier.port}` })], { nodeArgs: TRACE_GC, keepOutput: true });
  try {
    return await repeat(repeats, async () => {
      const carrierBefore = cpuSeconds(carrier.pid);
      const r = await measure({ pid: gw.pid, target: `127.0.0.1:${port}`, rate, calls, gateway: gw });
      // the carrier also served the warm-up: its figure is an upper bound, for scale only
      return { ...r, carrierUsPerCall: ((cpuSeconds(carrier.pid) - carrierBefore) / calls) * 1e6 };
    });
  } finally {
    await gw.stop();
    await carrier.stop();
  }
}

async function trunkgateRejecting(rate, calls, repeats) {
  const port = await freePort();
  const gw = await startGatewayProcess(['--config', benchConfig({ port }), '--cps', '1'], { nodeArgs: TRACE_GC, keepOutput: true });
  try {
    return await repeat(repeats, () => measure({ pid: gw.pid, target: `127.0.0.1:${port}`, rate, calls, scenario: BURST, extraArgs: PACK_ARGS, gateway: gw }));
  } finally {
    await gw.stop();
  }
}

const fmt = (n) => (n === undefined ? '—' : n.toFixed(0));

function line(label, r, vsSipp) {
  const ratio = vsSipp === undefined ? '' : `  ${(r.usPerCall / vsSipp).toFixed(1)}× SIPp`;
  const gc = r.gcMs === undefined ? '' : `  GC ${r.gcMs.toFixed(0)} ms in ${r.gcCount} pauses, RSS ${(r.rssKiB / 1024).toFixed(0)} MiB`;
  const carrier = r.carrierUsPerCall === undefined ? '' : `  (the SIPp carrier: ${fmt(r.carrierUsPerCall)} µs)`;
  console.log(`  ${label.padEnd(34)} ${fmt(r.usPerCall).padStart(6)} µs/call  ${String(r.failed).padStart(5)} failed${ratio}${gc}${carrier}`);
}

export async function benchCpu({ rates = [500, 2000], seconds = 10, repeats = 2, rejectRate = 2000 } = {}) {
  console.log(`CPU per call (SIPp uac, ${seconds} s per run, UDP; each server's utime + stime from /proc ÷ calls; best of ${repeats})`);
  const results = {};
  for (const rate of rates) {
    const calls = rate * seconds;
    console.log(` at ${rate} calls/s (${calls.toLocaleString('en-US')} calls):`);
    const sipp = await sippUas(rate, calls, repeats);
    line('SIPp uas (-sn uas)', sipp);
    const builtin = await trunkgateBuiltin(rate, calls, repeats);
    line('trunkgate, builtin route', builtin, sipp.usPerCall);
    const carrier = await trunkgateCarrier(rate, calls, repeats);
    line('trunkgate, carrier route (own CPU)', carrier, sipp.usPerCall);
    results[rate] = { sipp, builtin, carrier };
  }
  const calls = rejectRate * seconds;
  console.log(` rejections at ${rejectRate} INVITEs/s (${calls.toLocaleString('en-US')}):`);
  const sipp503 = await sippUas(rejectRate, calls, repeats, join(ROOT, 'bench/reject-503-uas.xml'), BURST, PACK_ARGS);
  line('SIPp uas answering 503', sipp503);
  const rejecting = await trunkgateRejecting(rejectRate, calls, repeats);
  line('trunkgate at CPS 1 (100 + 503)', rejecting, sipp503.usPerCall);
  results.rejections = { sipp: sipp503, trunkgate: rejecting };

  const top = results[Math.max(...rates)];
  if (top !== undefined) {
    const ratio = top.builtin.usPerCall / top.sipp.usPerCall;
    console.log(`  target builtin ≤ 2 × SIPp uas at ${Math.max(...rates)}/s: ${ratio.toFixed(2)}× (${ratio <= 2 ? 'MET' : 'MISSED'})`);
    console.log(`  target carrier ≤ 300 µs per call: ${fmt(top.carrier.usPerCall)} µs (${top.carrier.usPerCall <= 300 ? 'MET' : 'MISSED'})`);
  }
  return results;
}
