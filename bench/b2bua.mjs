// Calls through the B2BUA (issue: calls end to end):
//  - SIPp uac → trunkgate → built-in emulator (answers at once, -d 0): highest rate with 0 failed calls
//  - SIPp uac → trunkgate → SIPp uas as the carrier: the same
//  - memory per established call, with 10,000 calls held at once
// Targets: builtin ≥ 2,000 calls/s; carrier ≥ 1,000 calls/s; ≤ 8 KiB per established call.
import { benchConfig, freePort, highestCleanRate, runSipp, startGatewayProcess, startGcGateway, startSipp } from './lib.mjs';

const RATES = [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000];
const SERVICE = ['-s', '+14155550123'];

export async function benchB2buaRates({ seconds = 5, rates = RATES, timeoutSeconds } = {}) {
  console.log(`Call rate through the B2BUA (SIPp uac, -d 0, ${seconds} s per step, UDP)`);
  const port = await freePort();
  let gw = await startGatewayProcess(['--config', benchConfig({ port })]);
  let builtin;
  try {
    builtin = await highestCleanRate({ label: 'uac → trunkgate → builtin', target: `127.0.0.1:${port}`, rates, seconds, timeoutSeconds, extraArgs: SERVICE });
  } finally {
    await gw.stop();
  }
  const carrier = await startSipp({ scenario: 'uas' });
  const port2 = await freePort();
  gw = await startGatewayProcess(['--config', benchConfig({ port: port2, route: `sip:127.0.0.1:${carrier.port}` })]);
  let viaCarrier;
  try {
    viaCarrier = await highestCleanRate({ label: 'uac → trunkgate → SIPp uas', target: `127.0.0.1:${port2}`, rates, seconds, timeoutSeconds, extraArgs: SERVICE });
  } finally {
    await gw.stop();
    await carrier.stop();
  }
  console.log(`  builtin: ${builtin.best} calls/s (target ≥ 2,000: ${builtin.best >= 2000 ? 'MET' : 'MISSED'})`);
  console.log(`  carrier: ${viaCarrier.best} calls/s (target ≥ 1,000: ${viaCarrier.best >= 1000 ? 'MET' : 'MISSED'})`);
  return { builtin: builtin.best, carrier: viaCarrier.best };
}

export async function benchMemoryPerCall({ calls = 10_000, rate = 1000, t1Ms = 500 } = {}) {
  console.log(`Memory per established call (${calls.toLocaleString('en-US')} calls held at once, built-in route, T1 ${t1Ms} ms)`);
  const port = await freePort();
  const httpPort = await freePort();
  // transactions end 64·T1 after their final response
  const transactionLifeMs = 64 * t1Ms;
  // the gateway with --expose-gc: besides RSS, its heap after a full GC (what the calls hold, no garbage)
  const gw = await startGcGateway(benchConfig({ port, httpPort, t1Ms }));
  const heapKiB = (m) => Math.round((m.heapUsed + m.external) / 1024);
  try {
    // warm up: a few hundred short calls so JIT and pools are in place; then wait until
    // their transactions have expired (64·T1), so the baseline holds no call state at all
    await runSipp({ scenario: 'uac', target: `127.0.0.1:${port}`, calls: 500, rate: 500, extraArgs: SERVICE });
    const idleBy = Date.now() + transactionLifeMs + 30_000;
    while (Date.now() < idleBy) {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const live = [...text.matchAll(/^trunkgate_sip_transactions\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      if (live === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const before = await gw.measure();
    const holdMs = Math.ceil(calls / rate) * 1000 + transactionLifeMs + 13_000;
    const run = runSipp({ scenario: 'uac', target: `127.0.0.1:${port}`, calls, rate, timeoutSeconds: holdMs / 1000 + 60, extraArgs: [...SERVICE, '-d', String(holdMs), '-l', String(calls + 10)] });
    const establishedBy = Date.now() + (calls / rate) * 1000 + 3000;
    while (Date.now() < establishedBy) await new Promise((r) => setTimeout(r, 250));
    const atEstablished = await gw.measure();
    // after 64·T1 (32 s with the default T1) the INVITE transactions of the set-up are gone: the steady state of held calls
    await new Promise((r) => setTimeout(r, transactionLifeMs + 2000));
    const steady = await gw.measure();
    const result = await run;
    const rss = (m) => Math.round(m.rss / 1024);
    const perCall = (a, b) => ((b - a) / calls).toFixed(2);
    console.log(`  RSS before ${rss(before)} KiB; with ${calls} calls set up ${rss(atEstablished)} KiB (${perCall(rss(before), rss(atEstablished))} KiB/call, transactions still live)`);
    console.log(`  held, after the set-up transactions expired: ${rss(steady)} KiB (${perCall(rss(before), rss(steady))} KiB/call)`);
    console.log(`  heap + external after a full GC: before ${heapKiB(before)} KiB; set up ${perCall(heapKiB(before), heapKiB(atEstablished))} KiB/call; held ${perCall(heapKiB(before), heapKiB(steady))} KiB/call`);
    console.log(`  SIPp: ${result.successful}/${calls} calls completed, ${result.failed} failed`);
    // judged on the heap after a full GC: RSS measured right after one has given pages back, and
    // without one it counts garbage, so it says little either way
    const steadyPerCall = (heapKiB(steady) - heapKiB(before)) / calls;
    console.log(`  target ≤ 8 KiB per established call: ${steadyPerCall <= 8 ? 'MET' : 'MISSED'} (held, heap + external after a full GC)`);
    return { before: rss(before), atEstablished: rss(atEstablished), steady: rss(steady), perCallKiB: steadyPerCall };
  } finally {
    await gw.stop();
  }
}
