// npm run bench [-- name ...]: run the benchmarks and print their figures
// against the issue targets. They are measurements, not tests.
import { benchParse } from './parse.mjs';
import { benchAnswerRate } from './answer-rate.mjs';
import { requireSipp } from './lib.mjs';
import { benchB2buaRates, benchMemoryPerCall } from './b2bua.mjs';
import { benchAdmissionLatency, benchRejections } from './admission.mjs';
import { benchScrapeCost } from './scrape-cost.mjs';
import { benchCaptureCost } from './capture-cost.mjs';

const BENCHES = {
  parse: () => benchParse(),
  'answer-rate': () => {
    requireSipp();
    return benchAnswerRate();
  },
  'b2bua-rate': () => {
    requireSipp();
    return benchB2buaRates();
  },
  'admission-latency': () => benchAdmissionLatency(),
  rejections: () => {
    requireSipp();
    return benchRejections();
  },
  'scrape-cost': () => {
    requireSipp();
    return benchScrapeCost();
  },
  'capture-cost': () => {
    requireSipp();
    return benchCaptureCost();
  },
  'memory-per-call': () => {
    requireSipp();
    return benchMemoryPerCall();
  },
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(BENCHES);
for (const name of names) {
  const bench = BENCHES[name];
  if (bench === undefined) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  await bench();
}
