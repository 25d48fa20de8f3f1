// Inbound load generation (issue 16): trunkgate places inbound calls (POST /v1/origination) at
// 1,000 calls/s to a SIPp uas as the trunk's origination URI (the PBX), side by side with SIPp's
// own uac placing the same number of calls at the same rate to another SIPp uas. Bounded in count
// and time: `seconds` × `rate` calls, each run with a deadline. Figures: calls placed, answered,
// failed (target 0), the achieved offer rate, and the generator's CPU per call (trunkgate's
// process from /proc/PID/stat; SIPp uac's from this process's reaped-children CPU), with the
// uas's CPU per call for reference.
import { request } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, freePort, runSipp, startGatewayProcess, startSipp } from './lib.mjs';

const NUMBER = '+14155550100';

function http(method, url, body) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, headers: payload === undefined ? {} : { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

function stats(path) {
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  return Object.fromEntries(header.map((h, i) => [h, Number(last[i])]));
}

/**
 * CPU time of this process's children that have exited and been reaped (cutime + cstime of
 * /proc/self/stat): around one SIPp uac run, that run's own CPU.
 */
function reapedChildrenCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** A SIPp uas with its statistics file (the PBX), and its CPU so far. */
async function uas() {
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-bench-uas-'));
  const file = join(dir, 'stats.csv');
  const s = await startSipp({ scenario: 'uas', extraArgs: ['-trace_stat', '-stf', file, '-fd', '1'] });
  return { ...s, stats: () => stats(file) };
}

/** Wait (up to 15 s: the uas's calls end after its time-wait) until the uas has ended `total` calls; its counts. */
async function uasSettled(pbx, total) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = pbx.stats();
    const ok = s['SuccessfulCall(C)'] ?? 0;
    const failed = s['FailedCall(C)'] ?? 0;
    if (ok + failed >= total || Date.now() > deadline) return { ok, failed };
    await new Promise((r) => setTimeout(r, 250));
  }
}

function config({ sipPort, httpPort, pbxPort }) {
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-benchcfg-'));
  const path = join(dir, 'trunkgate.yaml');
  writeFileSync(
    path,
    `sip:
  listen: ["udp://127.0.0.1:${sipPort}"]
  timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }
http:
  listen: "127.0.0.1:${httpPort}"
accounts:
  - name: demo
    type: business-pcp
trunks:
  - name: demo
    account: demo
    cps: { default: 100000 }
    auth: { ipAcl: ["127.0.0.0/8"] }
    route: builtin
    origination:
      uris: [{ uri: "sip:127.0.0.1:${pbxPort}" }]
      numbers: ["${NUMBER}"]
`,
  );
  return path;
}

async function trunkgateRun({ rate, calls }) {
  const pbx = await uas();
  const sipPort = await freePort();
  const httpPort = await freePort();
  const gateway = await startGatewayProcess(['--config', config({ sipPort, httpPort, pbxPort: pbx.port })]);
  try {
    const base = `http://127.0.0.1:${httpPort}/v1/origination`;
    // warm-up (JIT, pools): a short run at a lower rate
    const warm = JSON.parse((await http('POST', base, { trunk: 'demo', rate: Math.min(rate, 500), calls: Math.min(calls, 500) })).body);
    await until(base, warm.id, 30);
    const warmCalls = warm.calls;
    const cpuBefore = cpuSeconds(gateway.pid);
    const uasCpuBefore = cpuSeconds(pbx.pid);
    const started = Date.now();
    const r = await http('POST', base, { trunk: 'demo', rate, calls });
    if (r.status !== 201) throw new Error(`POST /v1/origination: HTTP ${r.status} ${r.body}`);
    const report = await until(base, JSON.parse(r.body).id, Math.ceil(calls / rate) * 3 + 30);
    const wallSeconds = (Date.now() - started) / 1000;
    const cpu = cpuSeconds(gateway.pid) - cpuBefore;
    const uasCpu = cpuSeconds(pbx.pid) - uasCpuBefore;
    const pbxAfter = await uasSettled(pbx, warmCalls + calls);
    const answered = report.outcomes.answered ?? 0;
    return {
      label: 'trunkgate → SIPp uas',
      calls,
      placed: report.offered,
      answered,
      failed: report.offered - answered,
      offerRate: report.offerSeconds > 0 ? (report.offered - 1) / report.offerSeconds : 0,
      wallSeconds,
      genUsPerCall: (cpu / calls) * 1e6,
      uasUsPerCall: (uasCpu / calls) * 1e6,
      // the warm-up's calls included: all of them must have ended well too
      uasSuccessful: pbxAfter.ok - warmCalls,
      uasFailed: pbxAfter.failed,
      state: report.state,
    };
  } finally {
    await gateway.stop();
    await pbx.stop();
  }
}

async function until(base, id, seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const report = JSON.parse((await http('GET', `${base}/${id}`)).body);
    if (report.endedAt !== null) return report;
    if (Date.now() > deadline) {
      await http('DELETE', `${base}/${id}`);
      throw new Error(`run ${id} did not end within ${seconds} s: ${JSON.stringify(report)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function sippRun({ rate, calls }) {
  const pbx = await uas();
  try {
    const warmCalls = Math.min(calls, 500);
    await runSipp({ scenario: 'uac', target: `127.0.0.1:${pbx.port}`, calls: warmCalls, rate: Math.min(rate, 500), timeoutSeconds: 30 });
    const uasCpuBefore = cpuSeconds(pbx.pid);
    const uacCpuBefore = reapedChildrenCpuSeconds();
    const r = await runSipp({ scenario: 'uac', target: `127.0.0.1:${pbx.port}`, calls, rate, timeoutSeconds: Math.ceil(calls / rate) * 3 + 30 });
    const uacCpu = reapedChildrenCpuSeconds() - uacCpuBefore;
    const uasCpu = cpuSeconds(pbx.pid) - uasCpuBefore;
    const pbxAfter = await uasSettled(pbx, warmCalls + calls);
    return {
      label: 'SIPp uac → SIPp uas',
      calls,
      placed: r.created,
      answered: r.successful,
      failed: r.failed + (calls - r.created),
      offerRate: r.created / Math.max(r.wallSeconds, 0.001),
      wallSeconds: r.wallSeconds,
      genUsPerCall: (uacCpu / calls) * 1e6,
      uasUsPerCall: (uasCpu / calls) * 1e6,
      uasSuccessful: pbxAfter.ok - warmCalls,
      uasFailed: pbxAfter.failed,
      state: r.exitCode === 0 ? 'completed' : `exit ${r.exitCode}`,
    };
  } finally {
    await pbx.stop();
  }
}

export async function benchOrigination({ rate = 1000, seconds = 10 } = {}) {
  const calls = rate * seconds;
  const rows = [await trunkgateRun({ rate, calls }), await sippRun({ rate, calls })];
  for (const r of rows) {
    console.log(
      `  ${r.label.padEnd(22)} ${r.placed}/${r.calls} placed at ${r.offerRate.toFixed(0)}/s, ${r.answered} answered, ${r.failed} failed` +
        ` (uas: ${r.uasSuccessful} ok, ${r.uasFailed} failed), ${r.wallSeconds.toFixed(1)} s` +
        `${Number.isNaN(r.genUsPerCall) ? '' : `, generator ${r.genUsPerCall.toFixed(0)} µs CPU/call`}, uas ${r.uasUsPerCall.toFixed(0)} µs CPU/call`,
    );
  }
  const ours = rows[0];
  const met = ours.failed === 0 && ours.uasFailed === 0 && ours.uasSuccessful === calls && ours.placed === calls && ours.offerRate >= rate * 0.95;
  console.log(`  target: ${rate} calls/s to a SIPp uas with 0 failed calls: ${met ? 'met' : 'NOT met'}`);
  return { rows, met };
}
