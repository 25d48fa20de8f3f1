// The cost of scraping /metrics during a 1,000 calls/s run (issue: metrics and
// the admin API): the gateway's CPU time for the same SIPp run, without and
// with a scrape every `intervalMs`. Target: ≤ 2% of the throughput, i.e. at
// most 2% more CPU per call.
import { readFileSync } from 'node:fs';
import { benchConfig, freePort, runSipp, startGatewayProcess } from './lib.mjs';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime + stime
}

async function oneRun({ rate, seconds, scrapeEveryMs }) {
  const port = await freePort();
  const httpPort = await freePort();
  const gw = await startGatewayProcess(['--config', benchConfig({ port }), '--http-listen', `127.0.0.1:${httpPort}`]);
  try {
    await runSipp({ scenario: 'uac', target: `127.0.0.1:${port}`, calls: 500, rate: 500, extraArgs: ['-s', '+14155550123'] }); // warm-up
    let scrapes = 0;
    let stop = false;
    const scraper = (async () => {
      while (!stop && scrapeEveryMs > 0) {
        const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
        await res.text();
        scrapes++;
        await new Promise((r) => setTimeout(r, scrapeEveryMs));
      }
    })();
    const before = cpuSeconds(gw.pid);
    const r = await runSipp({ scenario: 'uac', target: `127.0.0.1:${port}`, calls: rate * seconds, rate, timeoutSeconds: seconds * 3 + 20, extraArgs: ['-s', '+14155550123'] });
    const cpu = cpuSeconds(gw.pid) - before;
    stop = true;
    await scraper;
    // the cost of one scrape on its own: 200 back-to-back scrapes of the idle gateway
    const idle = cpuSeconds(gw.pid);
    for (let i = 0; i < 200; i++) await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const perScrape = (cpuSeconds(gw.pid) - idle) / 200;
    return { cpu, failed: r.failed, successful: r.successful, scrapes, perScrape };
  } finally {
    await gw.stop();
  }
}

export async function benchScrapeCost({ rate = 1000, seconds = 10, scrapeEveryMs = 250, repeats = 2 } = {}) {
  console.log(`Scrape cost (SIPp uac at ${rate} calls/s for ${seconds} s; /metrics scraped every ${scrapeEveryMs} ms vs never)`);
  const plain = [];
  const scraped = [];
  const perScrape = [];
  for (let i = 0; i < repeats; i++) {
    const a = await oneRun({ rate, seconds, scrapeEveryMs: 0 });
    const b = await oneRun({ rate, seconds, scrapeEveryMs });
    console.log(`  run ${i + 1}: without scrapes ${a.cpu.toFixed(2)} CPU-s (${a.failed} failed); with ${b.scrapes} scrapes ${b.cpu.toFixed(2)} CPU-s (${b.failed} failed)`);
    plain.push(a.cpu);
    scraped.push(b.cpu);
    perScrape.push(a.perScrape, b.perScrape);
  }
  const base = Math.min(...plain);
  const withScrapes = Math.min(...scraped);
  const cost = (withScrapes - base) / base;
  console.log(`  CPU per call: ${((base / (rate * seconds)) * 1e6).toFixed(1)} µs without scraping, ${((withScrapes / (rate * seconds)) * 1e6).toFixed(1)} µs with`);
  console.log(`  A/B difference: ${(cost * 100).toFixed(2)}% (run-to-run noise of this A/B is larger than 2%, so the direct figure below is the measure)`);
  // The direct figure: one scrape's CPU, at this scrape rate, against the CPU of a second of calls.
  const scrapeCpu = Math.min(...perScrape);
  const direct = (scrapeCpu * (1000 / scrapeEveryMs)) / (base / seconds);
  console.log(`  one scrape costs ${(scrapeCpu * 1000).toFixed(2)} ms of CPU; every ${scrapeEveryMs} ms that is ${(direct * 100).toFixed(2)}% of the CPU a second of ${rate} calls/s takes`);
  console.log(`  (at Prometheus' default 15 s interval: ${((direct * scrapeEveryMs) / 15000 * 100).toFixed(3)}%)`);
  console.log(`  target ≤ 2%: ${direct <= 0.02 ? 'MET' : 'MISSED'}`);
  return { base, withScrapes, abCost: cost, scrapeCpu, cost: direct };
}
