// The front door under load (issue: the provider's front door):
//  - rejection throughput: INVITE → 503 with the trunk at CPS 1, offered far above it,
//    next to SIPp's own ceiling (SIPp uac against a SIPp uas that answers 503)
//  - admission latency: p50 and p99 of the admission step alone, in-process
// Targets: ≥ 10,000 rejections/s or SIPp's own ceiling; admission p99 ≤ 100 µs.
import { join } from 'node:path';
import { validateConfig } from '../dist/config/load.js';
import { ConcurrencyTracker } from '../dist/limits/concurrency.js';
import { MemoryLimitStore } from '../dist/limits/limit-store.js';
import { systemClock } from '../dist/limits/clock.js';
import { parseMessage } from '../dist/sip/message/index.js';
import { admit, identify } from '../dist/termination/admission.js';
import { AlertLog } from '../dist/alerts/alert-log.js';
import { DigestAuth } from '../dist/termination/digest.js';
import { DigestGuard } from '../dist/termination/digest-guard.js';
import { Directory } from '../dist/termination/directory.js';
import { ROOT, benchConfig, freePort, runSipp, startGatewayProcess, startSipp } from './lib.mjs';
import { realisticInvite } from './fixtures.mjs';

const BURST = join(ROOT, 'sip-scenarios/cps-burst.xml');
const PACK_ARGS = ['-inf', join(ROOT, 'sip-scenarios/numbers/us.csv'), '-key', 'trunk', 'demo.pstn.twilio.com'];
const RATES = [2000, 4000, 6000, 8000, 10000, 12000, 15000, 20000];

async function highestRejectRate(label, target, seconds, extraArgs, rates, timeoutSeconds = seconds * 4 + 20) {
  let best = 0;
  for (const rate of rates) {
    const calls = rate * seconds;
    const r = await runSipp({ scenario: BURST, target, calls, rate, timeoutSeconds, extraArgs });
    const clean = r.failed === 0 && r.successful === calls && r.wallSeconds <= seconds * 1.3 + 1;
    console.log(`  ${label.padEnd(26)} ${String(rate).padStart(6)}/s: ${r.successful}/${calls} ok, ${r.failed} failed, ${r.retransmissions} retrans, ${r.wallSeconds.toFixed(1)} s ${clean ? 'clean' : 'NOT clean'}`);
    if (!clean) break;
    best = rate;
  }
  return best;
}

export async function benchRejections({ seconds = 3, rates = RATES, timeoutSeconds } = {}) {
  console.log(`Rejection throughput (INVITE → 503 Trunk CPS limit exceeded, trunk at CPS 1, ${seconds} s per step, UDP)`);
  const port = await freePort();
  const gw = await startGatewayProcess(['--config', benchConfig({ port }), '--cps', '1']);
  let trunkgate;
  try {
    trunkgate = await highestRejectRate('uac → trunkgate', `127.0.0.1:${port}`, seconds, PACK_ARGS, rates, timeoutSeconds);
  } finally {
    await gw.stop();
  }
  const uas = await startSipp({ scenario: join(ROOT, 'bench/reject-503-uas.xml') });
  let sipp;
  try {
    sipp = await highestRejectRate('uac → SIPp uas (503)', `127.0.0.1:${uas.port}`, seconds, PACK_ARGS, rates, timeoutSeconds);
  } finally {
    await uas.stop();
  }
  const met = trunkgate > 0 && (trunkgate >= 10000 || trunkgate >= sipp);
  console.log(`  trunkgate: ${trunkgate}/s; SIPp against SIPp: ${sipp}/s`);
  console.log(`  target ≥ 10,000/s or SIPp's own ceiling: ${met ? 'MET' : 'MISSED'}`);
  return { trunkgate, sipp, met };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function benchAdmissionLatency({ iterations = 200_000 } = {}) {
  console.log(`Admission latency (the admission step alone: checks 1-14 on a parsed INVITE, ${iterations.toLocaleString('en-US')} runs)`);
  const result = validateConfig({
    blocklist: ['+1900*'],
    accounts: [{ name: 'demo', type: 'business-pcp', callerIds: ['+14155550100'] }],
    trunks: [{ name: 'demo', account: 'demo', cps: { default: 100000 }, auth: { ipAcl: ['192.0.2.0/24', '127.0.0.0/8'] } }],
  });
  if (!result.ok) throw new Error('bench config invalid');
  const directory = new Directory(result.config);
  const tracker = new ConcurrencyTracker();
  const ctx = {
    directory,
    limits: new MemoryLimitStore(tracker, systemClock),
    auth: new DigestGuard(new DigestAuth(), systemClock, new AlertLog()),
    cpsFor: (trunk, region) => trunk.config.cps[region] ?? trunk.config.cps.default,
  };
  const requests = Array.from({ length: 64 }, (_, i) => {
    const r = parseMessage(realisticInvite(i));
    r.message.source = { transport: 'udp', address: '192.0.2.10', port: 5060, family: 'IPv4', localAddress: '127.0.0.1', localPort: 5060, connectionId: undefined };
    return r.message;
  });
  const run = (label, mutate) => {
    const times = new Float64Array(iterations);
    for (let i = 0; i < iterations + 20_000; i++) {
      const req = requests[i & 63];
      const t0 = process.hrtime.bigint();
      const match = identify(req, directory);
      const d = admit(req, match, ctx);
      const t1 = process.hrtime.bigint();
      if (d.kind === 'admit') d.lease.release('rejected');
      if (i >= 20_000) times[i - 20_000] = Number(t1 - t0) / 1000;
      mutate?.(i);
    }
    const sorted = Array.from(times).sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    console.log(`  ${label.padEnd(30)} p50 ${p50.toFixed(1)} µs   p99 ${p99.toFixed(1)} µs`);
    return { p50, p99 };
  };
  const admitted = run('admitted (all 14 checks)');
  ctx.cpsFor = () => 0.000001;
  const limited = run('refused at check 12 (CPS)');
  const met = admitted.p99 <= 100 && limited.p99 <= 100;
  console.log(`  target p99 ≤ 100 µs: ${met ? 'MET' : 'MISSED'}`);
  return { admitted, limited, met };
}
