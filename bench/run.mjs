// npm run bench [-- [--quick] [name ...]]: run the benchmarks and print their figures against the
// issue targets. They are measurements, not tests. --quick runs each with fewer steps and shorter
// runs (about a minute in all, for a smoke check of the benchmarks themselves; its figures are
// rougher). Every process a benchmark starts is stopped when it ends, fails or is interrupted
// (bench/lib.mjs).
import { parseArgs } from 'node:util';
import { benchParse } from './parse.mjs';
import { benchAnswerRate } from './answer-rate.mjs';
import { requireSipp } from './lib.mjs';
import { benchB2buaRates, benchMemoryPerCall } from './b2bua.mjs';
import { benchAdmissionLatency, benchRejections } from './admission.mjs';
import { benchScrapeCost } from './scrape-cost.mjs';
import { benchVoiceApiRate, benchVoiceQueueAccuracy } from './voice.mjs';
import { benchSharedLimits } from './shared-limits.mjs';
import { benchCaptureCost } from './capture-cost.mjs';
import { benchClientCallRate, benchClientsRegistered } from './clients.mjs';
import { benchCpu } from './cpu.mjs';
import { benchOrigination } from './origination.mjs';

/** name → [what it measures, run(quick)] */
const BENCHES = {
  parse: ['INVITE parse throughput, one core (target ≥ 150,000/s)', (quick) => benchParse(quick ? { seconds: 1 } : {})],
  'answer-rate': [
    'SIPp uac → trunkgate answering, highest clean rate (target ≥ 2,000/s and ≥ 0.8 × SIPp uas)',
    (quick) => {
      requireSipp();
      return benchAnswerRate(quick ? { seconds: 2, rates: [1000, 2000], timeoutSeconds: 8 } : {});
    },
  ],
  'b2bua-rate': [
    'calls through the B2BUA to the emulator and to a SIPp carrier (targets 2,000/s, 1,000/s)',
    (quick) => {
      requireSipp();
      return benchB2buaRates(quick ? { seconds: 2, rates: [1000, 2000], timeoutSeconds: 8 } : {});
    },
  ],
  'admission-latency': ['the admission checks alone, p50/p99 (target p99 ≤ 100 µs)', (quick) => benchAdmissionLatency(quick ? { iterations: 50_000 } : {})],
  rejections: [
    'INVITE → 503 CPS refusals per second (target ≥ 10,000/s or SIPp’s ceiling)',
    (quick) => {
      requireSipp();
      return benchRejections(quick ? { seconds: 1, rates: [4000, 10000], timeoutSeconds: 6 } : {});
    },
  ],
  'scrape-cost': [
    'CPU cost of scraping /metrics during a call run (target ≤ 2%)',
    (quick) => {
      requireSipp();
      return benchScrapeCost(quick ? { rate: 500, seconds: 3, repeats: 1 } : {});
    },
  ],
  'shared-limits': ['two instances sharing limits through Redis: admissions per second, over-admission, p99 (targets ≥ 2,000/s, 0, p99 ≤ 1 ms)', (quick) => benchSharedLimits(quick ? { seconds: 2 } : {})],
  'capture-cost': [
    'gateway CPU per call with the message store off, on, and on with HEP export',
    (quick) => {
      requireSipp();
      return benchCaptureCost(quick ? { rate: 500, seconds: 3, repeats: 1 } : {});
    },
  ],
  cpu: [
    'CPU per call, side by side: SIPp uas, trunkgate builtin, trunkgate → SIPp carrier, and the 503 path (targets builtin ≤ 2 × SIPp, carrier ≤ 300 µs)',
    (quick) => {
      requireSipp();
      return benchCpu(quick ? { rates: [500], seconds: 3, repeats: 1, rejectRate: 1000 } : {});
    },
  ],
  origination: [
    'inbound load: trunkgate placing calls to a SIPp uas at 1,000/s, side by side with SIPp uac (target 0 failed)',
    (quick) => {
      requireSipp();
      return benchOrigination(quick ? { rate: 1000, seconds: 2 } : {});
    },
  ],
  'memory-per-call': [
    'RSS per held call (target ≤ 8 KiB)',
    (quick) => {
      requireSipp();
      return benchMemoryPerCall(quick ? { calls: 1000, rate: 500, t1Ms: 100 } : {});
    },
  ],
  'voice-api-rate': ['Calls API creations per second (target ≥ 1,000/s)', () => benchVoiceApiRate()],
  'voice-queue-accuracy': ['calls placed by the voice CPS queue over 60 s at CPS 1, 10, 100 (target ±1)', () => benchVoiceQueueAccuracy()],
  'clients-registered': ['1,000 WebSocket clients registered and held, RSS per registration', (quick) => benchClientsRegistered(quick ? { count: 300 } : {})],
  'client-call-rate': ['calls through <Dial><Client> to WebSocket clients (target 100/s, 0 failed)', (quick) => benchClientCallRate(quick ? { seconds: 3 } : {})],
};

const USAGE = `usage: npm run bench -- [--quick] [name ...]

  --quick   fewer steps and shorter runs: about a minute in all, rougher figures
  -h, --help

benchmarks (default: all):
${Object.entries(BENCHES)
  .map(([name, [what]]) => `  ${name.padEnd(18)} ${what}`)
  .join('\n')}`;

let opt;
let names;
try {
  const parsed = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  opt = parsed.values;
  names = parsed.positionals;
} catch (err) {
  const option = /^Unknown option '([^']+)'/.exec(err.message)?.[1];
  console.error(`bench: ${option === undefined ? err.message.split('. ')[0] : `unknown option '${option}'`}; see npm run bench -- --help`);
  process.exit(2);
}
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = names.filter((n) => !Object.hasOwn(BENCHES, n));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const started = Date.now();
for (const name of names.length > 0 ? names : Object.keys(BENCHES)) {
  console.log(`\n== ${name}${opt.quick ? ' (quick)' : ''}`);
  await BENCHES[name][1](opt.quick);
}
console.log(`\nbench: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
