// Client benchmarks (issue 15 targets), against the built gateway as its own process, over real
// WebSockets and HTTP on 127.0.0.1, bounded in count and time:
//  - clients-registered: 1,000 WebSocket clients registered and held; the gateway's RSS per
//    registration (its WebSocket connection and its binding together);
//  - client-call-rate: calls through <Dial><Client> at 100/s (the account's voice CPS paces them),
//    every client leg answered and ended by the <Dial>'s timeLimit: target 0 failed.
// The clients are bench/ws-sip-client.mjs (lean raw SIP over WebSocket); `quick` runs fewer.
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startGatewayProcess, startGcGateway } from './lib.mjs';
import { WsSipClient } from './ws-sip-client.mjs';

const SID = `AC${'b15'.padEnd(32, '0')}`;
const TOKEN = 'bench-auth-token-15';
const DOMAIN = 'demo.client.twilio.com';
const identity = (i) => `c${String(i).padStart(4, '0')}`;
const password = (i) => `bench-pass-${String(i).padStart(4, '0')}`;

async function startClientGateway(clients, voiceCps, { gc = false } = {}) {
  const [sipPort, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-bench-clients-'));
  const path = join(dir, 'trunkgate.yaml');
  const list = Array.from({ length: clients }, (_, i) => `      - { identity: ${identity(i)}, password: ${password(i)} }`).join('\n');
  writeFileSync(
    path,
    `sip:
  listen: ["udp://127.0.0.1:${sipPort}", "ws://127.0.0.1:${wsPort}"]
  maxTcpConnections: 4096
  maxTcpConnectionsPerSource: 4096
http:
  listen: "127.0.0.1:${httpPort}"
accounts:
  - name: demo
    sid: ${SID}
    type: business-pcp
    authToken: ${TOKEN}
    voiceCps: ${voiceCps}
    clients:
${list}
pstn:
  answerAfterMs: 0
`,
  );
  const gateway = gc ? await startGcGateway(path) : await startGatewayProcess(['--config', path]);
  return { gateway, wsUrl: `ws://127.0.0.1:${wsPort}`, httpPort };
}

function get(httpPort, path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: httpPort, path }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function createCall(httpPort, form) {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: httpPort,
        method: 'POST',
        path: `/2010-04-01/Accounts/${SID}/Calls.json`,
        agent,
        headers: { authorization: `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
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

/** Open and register clients [from, to) with `concurrency` at a time. */
async function registerAll(wsUrl, from, to, concurrency = 50) {
  const clients = [];
  let next = from;
  const failures = [];
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const c = new WsSipClient({ url: wsUrl, identity: identity(i), password: password(i), domain: DOMAIN });
      clients.push(c);
      await c.open();
      const status = await c.register();
      if (status !== 200) failures.push(`${identity(i)}: ${status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failures.length > 0) throw new Error(`registrations refused: ${failures.slice(0, 5).join(', ')}`);
  return clients;
}

async function registrationCount(httpPort) {
  return JSON.parse(await get(httpPort, '/v1/clients')).count;
}

async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const settle = (ms) => new Promise((r) => setTimeout(r, ms));

export async function benchClientsRegistered({ count = 1000 } = {}) {
  const { gateway, wsUrl, httpPort } = await startClientGateway(count, 1, { gc: true });
  const clients = [];
  try {
    // warm-up: the code paths a registration uses, then let them go again
    const warm = await registerAll(wsUrl, 0, 100);
    for (const c of warm) c.close();
    await waitUntil(async () => (await registrationCount(httpPort)) === 0, 10_000, 'the warm-up registrations to go');
    await settle(1000);
    const before = await gateway.measure();
    const started = performance.now();
    clients.push(...(await registerAll(wsUrl, 0, count)));
    const seconds = (performance.now() - started) / 1000;
    const registered = await registrationCount(httpPort);
    await settle(1000);
    const after = await gateway.measure();
    const kib = (field) => (after[field] - before[field]) / 1024 / count;
    console.log(`clients-registered: ${registered} WebSocket clients registered in ${seconds.toFixed(2)} s (${Math.round(count / seconds)}/s, each with its 401 challenge)`);
    console.log(
      `  memory per registration, after a full GC (its WebSocket connection and binding together): JS heap ${kib('heapUsed').toFixed(1)} KiB + external ${kib('external').toFixed(1)} KiB; RSS ${Math.round(before.rss / 1048576)} → ${Math.round(after.rss / 1048576)} MiB (${kib('rss').toFixed(1)} KiB)`,
    );
    console.log(`  target: ${count} held: ${registered === count ? 'MET' : 'NOT MET'}`);
  } finally {
    for (const c of clients) c.close();
    await gateway.stop();
  }
}

function metricSum(text, name, labels) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function benchClientCallRate({ rate = 100, seconds = 10, clients: clientCount = 300 } = {}) {
  const { gateway, wsUrl, httpPort } = await startClientGateway(clientCount, rate);
  let clients = [];
  try {
    clients = await registerAll(wsUrl, 0, clientCount);
    const inviteTimes = [];
    for (const c of clients) {
      const original = c.onMessage.bind(c);
      c.onMessage = (text) => {
        if (text.startsWith('INVITE ')) inviteTimes.push(performance.now());
        original(text);
      };
    }
    const total = rate * seconds;
    let next = 0;
    const statuses = new Map();
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const twiml = `<Response><Dial timeout="10" timeLimit="1"><Client>${identity(i % clientCount)}</Client></Dial></Response>`;
        const s = await createCall(httpPort, { To: `+1415555${String(i % 10000).padStart(4, '0')}`, From: '+15017122661', Twiml: twiml });
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const ended = async () => metricSum(await get(httpPort, '/metrics'), 'trunkgate_voice_calls_ended_total', { direction: 'outbound-api' });
    await waitUntil(async () => (await ended()) >= total, (seconds + 30) * 1000, `the ${total} calls to end`);
    const metrics = await get(httpPort, '/metrics');
    const legs = (status) => metricSum(metrics, 'trunkgate_voice_calls_ended_total', { direction: 'outbound-dial', status });
    const completed = legs('completed');
    const failed = total - completed;
    // the account's queue is a token bucket of one second's calls: the first `rate` go at once, the rest at the rate
    const last = inviteTimes.length - 1;
    const achieved = (last - rate) / ((inviteTimes[last] - inviteTimes[rate]) / 1000);
    console.log(
      `client-call-rate: ${total} API calls (statuses ${JSON.stringify(Object.fromEntries(statuses))}) each <Dial><Client> to one of ${clientCount} WebSocket clients; ${inviteTimes.length} INVITEs reached the clients, ${achieved.toFixed(1)}/s after the first second's burst; client legs: ${completed} completed, busy ${legs('busy')}, no-answer ${legs('no-answer')}, failed ${legs('failed')}, canceled ${legs('canceled')}`,
    );
    console.log(`  target ${rate} client calls/s with 0 failed: ${failed === 0 && achieved >= rate * 0.95 ? 'MET' : 'NOT MET'}`);
  } finally {
    for (const c of clients) c.close();
    await gateway.stop();
    agent.destroy();
  }
}
