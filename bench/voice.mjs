// Programmable Voice benchmarks (issue 14 targets), against the built gateway
// as its own process, over real HTTP on 127.0.0.1, bounded in count and time:
//  - voice-api-rate: Calls API creations per second (target >= 1,000/s);
//  - voice-queue-accuracy: calls placed by the CPS queue in a steady window
//    at CPS 1, 10 and 100 (target: within ±1 call of CPS × 60 s).
// `--quick` runs shorter variants (fewer creations, 10 s windows).
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startGatewayProcess } from './lib.mjs';

const QUICK = process.argv.includes('--quick');
const SID = (n) => `AC${String(n).padStart(32, '0')}`;
const TOKEN = 'bench-auth-token';
const ACCOUNTS = [
  { name: 'rate', sid: SID(1), cps: 1 },
  { name: 'cps1', sid: SID(2), cps: 1 },
  { name: 'cps10', sid: SID(3), cps: 10 },
  { name: 'cps100', sid: SID(4), cps: 100 },
];

async function startVoiceGateway() {
  const sipPort = await freePort();
  const httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-bench-voice-'));
  const path = join(dir, 'trunkgate.yaml');
  writeFileSync(
    path,
    `sip:
  listen: ["udp://127.0.0.1:${sipPort}"]
http:
  listen: "127.0.0.1:${httpPort}"
accounts:
${ACCOUNTS.map((a) => `  - { name: ${a.name}, sid: ${a.sid}, type: business-pcp, authToken: ${TOKEN}, voiceCps: ${a.cps} }`).join('\n')}
trunks:
  - { name: demo, account: rate, auth: { ipAcl: ["127.0.0.0/8"] } }
pstn:
  answerAfterMs: 0
`,
  );
  const gateway = await startGatewayProcess(['--config', path]);
  return { gateway, httpPort };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function create(httpPort, account, form) {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: httpPort,
        method: 'POST',
        path: `/2010-04-01/Accounts/${account.sid}/Calls.json`,
        agent,
        headers: {
          authorization: `Basic ${Buffer.from(`${account.sid}:${TOKEN}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Create `count` calls with `concurrency` requests in flight; returns { seconds, statuses }. */
async function createMany(httpPort, account, count, concurrency, form) {
  const statuses = new Map();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      const s = await create(httpPort, account, form);
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: (performance.now() - started) / 1000, statuses };
}

export async function benchVoiceApiRate() {
  const { gateway, httpPort } = await startVoiceGateway();
  try {
    const account = ACCOUNTS[0];
    const form = { To: '+14155550123', From: '+15017122661', Twiml: '<Response><Hangup/></Response>' };
    await createMany(httpPort, account, 500, 32, form); // warm-up
    const count = QUICK ? 5_000 : 20_000;
    const { seconds, statuses } = await createMany(httpPort, account, count, 64, form);
    const rate = count / seconds;
    console.log(`voice-api-rate: ${count} creations in ${seconds.toFixed(2)} s = ${Math.round(rate)}/s (statuses ${JSON.stringify(Object.fromEntries(statuses))}); RSS ${Math.round(gateway.rssKiB() / 1024)} MiB with ${count + 500} calls queued`);
    console.log(`  target >= 1000/s: ${rate >= 1000 && statuses.get(201) === count ? 'MET' : 'NOT MET'}`);
  } finally {
    await gateway.stop();
    agent.destroy();
  }
}

/** A local app that counts `initiated` callbacks (one per placed call) with their arrival times. */
async function startCallbackSink() {
  const times = new Map();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      const account = p.get('AccountSid');
      if (p.get('CallStatus') === 'initiated') {
        if (!times.has(account)) times.set(account, []);
        times.get(account).push(performance.now());
      }
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/status`, times, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

export async function benchVoiceQueueAccuracy() {
  const windowSeconds = QUICK ? 10 : 60;
  const settleSeconds = 3;
  const { gateway, httpPort } = await startVoiceGateway();
  const sink = await startCallbackSink();
  const results = [];
  try {
    for (const account of ACCOUNTS.slice(1)) {
      const cps = account.cps;
      // enough calls that the queue never empties during the window
      const count = Math.ceil(cps * (windowSeconds + settleSeconds + 3)) + 2;
      const form = { To: '+14155550123', From: '+15017122661', Twiml: '<Response><Hangup/></Response>', StatusCallback: sink.url, StatusCallbackEvent: 'initiated' };
      await createMany(httpPort, account, count, 32, form);
      // wait for the window to pass: settle after the first placement, then the window itself
      const deadline = performance.now() + (windowSeconds + settleSeconds + 10) * 1000;
      let placed = [];
      for (;;) {
        placed = sink.times.get(account.sid) ?? [];
        const first = placed[0];
        if (first !== undefined && performance.now() > first + (settleSeconds + windowSeconds) * 1000 + 500) break;
        if (performance.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const from = (placed[0] ?? 0) + settleSeconds * 1000;
      const to = from + windowSeconds * 1000;
      const inWindow = placed.filter((t) => t > from && t <= to).length;
      const expected = cps * windowSeconds;
      results.push({ cps, inWindow, expected, error: inWindow - expected });
      console.log(`voice-queue-accuracy: CPS ${cps}: ${inWindow} calls placed in a steady ${windowSeconds} s window (expected ${expected}, error ${inWindow - expected >= 0 ? '+' : ''}${inWindow - expected})`);
    }
    const ok = results.every((r) => Math.abs(r.error) <= 1);
    console.log(`  target within ±1 call over ${windowSeconds} s at CPS 1, 10, 100: ${ok ? 'MET' : 'NOT MET'}${QUICK ? ' (quick variant: the target is stated for 60 s)' : ''}`);
  } finally {
    await gateway.stop();
    await sink.close();
    agent.destroy();
  }
}
