#!/usr/bin/env node
// npm run soak [-- --minutes 10 --rate N --headroom 0.6 --step-seconds 30 --plot soak.png]
//
// Mixed traffic at 60% (--headroom) of the capacity measured in 30 s steps
// (answered calls held a while, busy, rejected, unanswered) with 1% garbage,
// for `--minutes`; then SIPp's smooth exit lets the calls in progress end.
// Samples RSS, live transactions and active calls every 10 s. Passes when
// the RSS slope is flat within noise, the counts return to 0 at the end,
// and no lease was released twice. Prints a table; --plot writes a PNG.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, benchConfig, freePort, requireSipp, runSipp, startGatewayProcess, track } from './lib.mjs';
import { plot } from './png.mjs';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string' },
    'hold-ms': { type: 'string', default: '2000' },
    plot: { type: 'string' },
    'sample-seconds': { type: 'string', default: '10' },
    'step-seconds': { type: 'string', default: '30' },
    headroom: { type: 'string', default: '0.6' },
  },
});
const minutes = Number(opt.minutes);
const holdMs = Number(opt['hold-ms']);
const sampleSeconds = Number(opt['sample-seconds']);
const stepSeconds = Math.max(30, Number(opt['step-seconds']));
const headroom = Number(opt.headroom);
const SCENARIO = join(ROOT, 'bench/soak-call.xml');
const NUMBERS = join(ROOT, 'bench/soak-numbers.csv');
const FLOOD = join(ROOT, 'test/support/flood.mjs');

/** The soak's gateway: the bench config with a quick answer, a short ring timeout, and the default number rules. */
function soakConfig(sipPort, httpPort) {
  return benchConfig({
    port: sipPort,
    httpPort,
    answerAfterMs: 200,
    pstn: [
      'ringTimeoutMs: 1500',
      'rules:',
      '  - { number: "+1555000486*", behaviour: busy }',
      '  - { number: "+1555000480*", behaviour: no-answer }',
      '  - { number: "+1555000503*", behaviour: reject, status: 503 }',
    ],
  });
}

async function scrape(httpPort) {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const value = (re) => {
    let sum = 0;
    for (const m of text.matchAll(re)) sum += Number(m[1]);
    return sum;
  };
  return {
    transactions: value(/^trunkgate_sip_transactions\{[^}]*\} (\d+)/gm),
    activeCalls: value(/^trunkgate_active_calls\{[^}]*\} (\d+)/gm),
    doubleReleases: value(/^trunkgate_lease_double_release_total (\d+)/gm),
    parseErrors: value(/^trunkgate_sip_parse_errors_total\{[^}]*\} (\d+)/gm),
    attempts: value(/^trunkgate_call_attempts_total\{[^}]*\} (\d+)/gm),
  };
}

function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/**
 * The highest rate the soak's call mix sustains cleanly in steps long enough to reach a steady
 * state: each step runs `stepSeconds` (at least 30 s: held calls, ring timeouts and the set-up
 * transactions' 64·T1 have all piled up by then), ended by SIPp's smooth exit so that every call
 * in progress finishes. Clean: no failed call, and the offered rate reached.
 */
async function probeCapacity(stepSeconds) {
  console.log(`measuring capacity with the soak call (${stepSeconds} s steps, 0 failed calls to count) …`);
  const sipPort = await freePort();
  const httpPort = await freePort();
  const gw = await startGatewayProcess(['--config', soakConfig(sipPort, httpPort)]);
  let best = 0;
  try {
    for (const rate of [250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000]) {
      const r = await runSipp({
        scenario: SCENARIO,
        target: `127.0.0.1:${sipPort}`,
        rate,
        softStopAfterSeconds: stepSeconds,
        timeoutSeconds: stepSeconds + 60,
        extraArgs: ['-inf', NUMBERS, '-key', 'trunk', 'demo.pstn.twilio.com', '-d', String(holdMs), '-l', String(callLimit(rate))],
      });
      const achieved = r.created / stepSeconds;
      const clean = r.exitCode === 0 && r.failed === 0 && r.successful === r.created && achieved >= rate * 0.95;
      console.log(`  ${String(rate).padStart(5)} calls/s: ${r.successful}/${r.created} ok, ${r.failed} failed, ${achieved.toFixed(0)} calls/s placed ${clean ? 'clean' : 'NOT clean'}`);
      if (!clean) break;
      best = rate;
    }
  } finally {
    await gw.stop();
  }
  return best;
}

/** SIPp's cap on calls in progress: a call lasts at most the hold, the ring timeout and retransmissions. */
function callLimit(rate) {
  return Math.ceil(rate * (holdMs / 1000 + 5)) + 100;
}

async function main() {
  requireSipp();
  const capacity = opt.rate === undefined ? await probeCapacity(stepSeconds) : undefined;
  const rate = opt.rate !== undefined ? Number(opt.rate) : Math.max(1, Math.floor((capacity ?? 0) * headroom));
  const seconds = minutes * 60;
  console.log(`\nsoak: ${rate} calls/s (${capacity !== undefined ? `${Math.round(headroom * 100)}% of the measured ${capacity}: headroom for ${minutes} min on cores shared with SIPp` : 'as asked'}) for ${minutes} min, calls held ${holdMs} ms, 1% garbage`);
  const sipPort = await freePort();
  const httpPort = await freePort();
  const gw = await startGatewayProcess(['--config', soakConfig(sipPort, httpPort)]);
  const samples = [];
  let result;
  try {
    // New calls for `seconds`, then SIPp's smooth exit: no new calls, and the calls in progress
    // end as they would (held, then BYE); nothing is cut off in mid-call.
    const sipp = runSipp({
      scenario: SCENARIO,
      target: `127.0.0.1:${sipPort}`,
      rate,
      softStopAfterSeconds: seconds,
      timeoutSeconds: seconds + 120,
      extraArgs: ['-inf', NUMBERS, '-key', 'trunk', 'demo.pstn.twilio.com', '-d', String(holdMs), '-l', String(callLimit(rate))],
    });
    // 1% garbage: about 7 messages per call
    const garbageRate = Math.max(1, Math.round(rate * 7 * 0.01));
    const garbage = track(spawn(process.execPath, [FLOOD, String(sipPort), String(garbageRate), String(Math.min(seconds, 120)), 'garbage'], { stdio: 'ignore' }));
    let garbageRounds = Math.ceil(seconds / 120) - 1;
    garbage.on('exit', function again() {
      if (garbageRounds-- > 0) track(spawn(process.execPath, [FLOOD, String(sipPort), String(garbageRate), '120', 'garbage'], { stdio: 'ignore' })).on('exit', again);
    });
    const started = Date.now();
    console.log('   time    RSS MiB   calls  transactions  double releases');
    const sample = async () => {
      const m = await scrape(httpPort);
      const s = { t: (Date.now() - started) / 1000, rssMiB: rssKiB(gw.pid) / 1024, ...m };
      samples.push(s);
      console.log(`  ${s.t.toFixed(0).padStart(5)} s ${s.rssMiB.toFixed(1).padStart(9)} ${String(s.activeCalls).padStart(7)} ${String(s.transactions).padStart(13)} ${String(s.doubleReleases).padStart(16)}`);
    };
    await sample();
    let running = true;
    const r = sipp.then((x) => {
      running = false;
      return x;
    });
    while (running) {
      await new Promise((res) => setTimeout(res, sampleSeconds * 1000));
      await sample();
    }
    result = await r;
    // the end: every transaction and call gone once the timers run out (64·T1 = 32 s)
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = await scrape(httpPort);
      if ((m.transactions === 0 && m.activeCalls === 0) || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    await sample();
  } finally {
    await gw.stop();
  }

  // RSS slope over the run after warm-up, by least squares. Warm-up: the first
  // 20%, and at least 60 s, since transactions pile up for 64·T1 (32 s) before
  // the population is steady.
  const during = samples.slice(0, -1);
  const warmupSeconds = Math.max(60, 0.2 * minutes * 60);
  const steady = during.filter((s) => s.t >= warmupSeconds);
  const n = steady.length;
  const mx = steady.reduce((a, s) => a + s.t, 0) / n;
  const my = steady.reduce((a, s) => a + s.rssMiB, 0) / n;
  const slope = steady.reduce((a, s) => a + (s.t - mx) * (s.rssMiB - my), 0) / Math.max(1e-9, steady.reduce((a, s) => a + (s.t - mx) ** 2, 0));
  const span = n > 1 ? steady[n - 1].t - steady[0].t : 0;
  const growth = slope * span;
  const residual = Math.sqrt(steady.reduce((a, s) => a + (s.rssMiB - (my + slope * (s.t - mx))) ** 2, 0) / Math.max(1, n - 2));
  const allowed = Math.max(16, my * 0.1, 3 * residual);
  const end = samples[samples.length - 1];
  const checks = [
    [`RSS slope flat: ${growth.toFixed(1)} MiB over ${span.toFixed(0)} s after warm-up (allowed ${allowed.toFixed(1)}; mean ${my.toFixed(1)} MiB, noise ±${residual.toFixed(1)})`, Math.abs(growth) <= allowed],
    [`live transactions and calls back to 0 at the end (${end.transactions}, ${end.activeCalls})`, end.transactions === 0 && end.activeCalls === 0],
    [`no double release (${end.doubleReleases})`, end.doubleReleases === 0],
    [`enough samples (${n})`, n >= 3],
    [`SIPp: every call it placed completed (${result.failed} failed of ${result.created}; exit ${result.exitCode})`, result.failed === 0 && result.successful === result.created && result.exitCode === 0],
  ];
  console.log(`\nSIPp: ${result.successful} calls completed, ${result.failed} failed; ${end.attempts} INVITEs admitted or refused; ${end.parseErrors} garbage messages counted`);
  for (const [text, ok] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
  if (opt.plot) {
    writeFileSync(opt.plot, plot([{ values: samples.map((s) => s.rssMiB), color: [200, 30, 30] }, { values: samples.map((s) => s.activeCalls), color: [30, 30, 200] }]));
    console.log(`  plot: ${opt.plot} (red: RSS, blue: active calls; each scaled to its own maximum)`);
  }
  process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
