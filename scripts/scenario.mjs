#!/usr/bin/env node
// npm run scenario -- <name> [--rate N --calls N --hold-ms N --target HOST:PORT ...]
//
// Runs a scenario of sip-scenarios/ with SIPp against a running gateway and
// prints a readable report: offered, admitted, rejected by reason, and what
// the trunk's configured limits predict (read from GET /v1/trunks), then a
// verdict. Exits 1 when reality and the prediction disagree.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRateLimiter } from '../dist/limits/rate-limiters.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACK = join(ROOT, 'sip-scenarios');

const SCENARIOS = {
  'basic-call': { file: 'basic-call.xml', numbers: 'us.csv', calls: true, summary: 'calls answered and hung up by the PBX (a refusal is a failed SIPp call)' },
  'cps-burst': { file: 'cps-burst.xml', numbers: 'us.csv', calls: true, summary: 'call setups; each is admitted or refused with a 503' },
  'concurrency-hold': { file: 'concurrency-hold.xml', numbers: 'us.csv', calls: true, summary: 'calls held --hold-ms; each is admitted or refused with a 503' },
  'digest-auth': { file: 'digest-auth.xml', numbers: 'us.csv', calls: true, summary: 'calls (to the first number) that answer a 407 challenge (--user, --password)' },
  'cancel-ringing': { file: 'cancel-ringing.xml', numbers: 'ringing.csv', calls: true, summary: 'calls cancelled while ringing (--hold-ms of ringing)' },
  'options-ping': { file: 'options-ping.xml', numbers: undefined, calls: false, summary: 'OPTIONS keep-alives' },
};

function usage(message) {
  if (message) console.error(`scenario: ${message}\n`);
  console.error(
    [
      'usage: npm run scenario -- <name> [options]',
      '',
      'scenarios:',
      ...Object.entries(SCENARIOS).map(([n, s]) => `  ${n.padEnd(18)} ${s.summary}`),
      '',
      'options:',
      '  --rate N          calls per second (default 1)',
      '  --calls N         calls to place (default 10)',
      '  --hold-ms N       how long an answered call stays up (or rings, for cancel-ringing) (default 0; 1000 for cancel-ringing)',
      '  --target H:P      the gateway SIP address (default 127.0.0.1:5060)',
      '  --http H:P        the gateway HTTP address, for the limits and metrics (default 127.0.0.1:8080)',
      '  --trunk NAME      the trunk to call (default: the first one in GET /v1/trunks)',
      '  --numbers FILE    numbers to call: a SIPp CSV of "called;caller;" lines (default: sip-scenarios/numbers/us.csv)',
      '  --transport T     udp or tcp (default udp)',
      '  --token T         bearer token for /v1 (http.token)',
      '  --user U --password P   digest credentials (digest-auth)',
    ].join('\n'),
  );
  process.exit(2);
}

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string', default: '1' },
    calls: { type: 'string', default: '10' },
    'hold-ms': { type: 'string' },
    target: { type: 'string', default: '127.0.0.1:5060' },
    http: { type: 'string', default: '127.0.0.1:8080' },
    trunk: { type: 'string' },
    numbers: { type: 'string' },
    transport: { type: 'string', default: 'udp' },
    token: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) usage();
const name = positionals[0];
const scenario = SCENARIOS[name];
if (scenario === undefined) usage(name === undefined ? 'which scenario?' : `unknown scenario "${name}"`);
const rate = Number(opt.rate);
const calls = Number(opt.calls);
const holdMs = Number(opt['hold-ms'] ?? (name === 'cancel-ringing' ? 1000 : 0));
if (!(rate > 0) || !Number.isInteger(calls) || calls <= 0 || !(holdMs >= 0)) usage('--rate, --calls and --hold-ms must be positive numbers');
if (opt.transport !== 'udp' && opt.transport !== 'tcp') usage('--transport is udp or tcp');
if (spawnSync('sh', ['-c', 'command -v sipp'], { stdio: 'ignore' }).status !== 0) {
  console.error('scenario: SIPp is not installed (Debian/Ubuntu: apt-get install sip-tester)');
  process.exit(2);
}

const headers = opt.token ? { authorization: `Bearer ${opt.token}` } : {};

async function getJson(path) {
  const res = await fetch(`http://${opt.http}${path}`, { headers });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** trunkgate_call_attempts_total for one trunk, by outcome. */
async function attempts(trunk) {
  const res = await fetch(`http://${opt.http}/metrics`);
  const text = await res.text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('trunkgate_call_attempts_total{') || !line.includes(`trunk="${trunk}"`)) continue;
    const outcome = /outcome="([^"]+)"/.exec(line)?.[1];
    if (outcome) out[outcome] = (out[outcome] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

const REASONS = {
  admitted: '200 OK (admitted)',
  cps_limited: '503 Trunk CPS limit exceeded',
  pooled_cps_limited: '503 Trunk CPS limit exceeded (pooled account CPS)',
  concurrency_limited: '503 Trunk concurrent call limit exceeded',
  challenged: '407 Proxy Authentication Required (digest challenge)',
  unauthorized: '403 Forbidden (digest authentication failed)',
  invalid_number: '400 Invalid Phone Number',
  forbidden: '403 (ACL, caller ID, geo permissions or blocklist)',
  unsupported_media: '415/400 (SDP)',
  draining: '503 Service Unavailable (draining)',
  inactive: '603 Decline (account not active)',
  too_many_hops: '483 Too Many Hops',
  unverified: '400 The number is unverified (trial)',
  bad_extension: '420 Bad Extension',
};

/**
 * What the limits predict for evenly spaced arrivals: the trunk's CPS
 * algorithm for its home region, and the concurrency caps with each admitted
 * call holding its lease for (answer delay + hold).
 */
function predict(trunk) {
  const region = trunk.regions.find((r) => r.region === trunk.homeRegion) ?? trunk.regions[0];
  const limiter = createRateLimiter(trunk.cpsAlgorithm, region.cps, region.burst);
  const caps = [trunk.concurrency.trunkCap, trunk.concurrency.accountCap].filter((c) => c !== null);
  const cap = caps.length > 0 ? Math.min(...caps) : Infinity;
  const startActive = trunk.concurrency.accountActive;
  const leaseMs = (name === 'cancel-ringing' ? 0 : (trunk.pstnAnswerAfterMs ?? 0)) + holdMs;
  const ends = [];
  let admitted = 0;
  let cps = 0;
  let conc = 0;
  const t0 = 1_000_000;
  for (let i = 0; i < calls; i++) {
    const now = t0 + (i * 1000) / rate;
    while (ends.length > 0 && ends[0] <= now) ends.shift();
    if (!limiter.tryTake(now)) {
      cps++;
      continue;
    }
    if (startActive + ends.length >= cap) {
      limiter.giveBack(now);
      conc++;
      continue;
    }
    admitted++;
    ends.push(now + leaseMs);
    ends.sort((a, b) => a - b);
  }
  return { admitted, cps, conc, region, cap, leaseMs };
}

function readCsvLast(path) {
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  if (lines.length < 2) return {};
  const header = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  return Object.fromEntries(header.map((h, i) => [h, last[i]]));
}

async function main() {
  let trunks;
  try {
    trunks = await getJson('/v1/trunks');
  } catch (err) {
    console.error(`scenario: cannot read the trunk's limits from http://${opt.http}/v1/trunks (${err.message}). Is the gateway running? Use --http to point at it.`);
    process.exit(2);
  }
  const trunk = opt.trunk ? trunks.find((t) => t.name === opt.trunk) : trunks[0];
  if (trunk === undefined) usage(opt.trunk ? `no trunk "${opt.trunk}" (have: ${trunks.map((t) => t.name).join(', ')})` : 'the gateway has no trunks');
  const prediction = predict(trunk);
  const before = await attempts(trunk.name);

  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-scenario-'));
  const args = ['-sf', join(PACK, scenario.file), opt.target, '-i', '127.0.0.1', '-t', opt.transport === 'tcp' ? 't1' : 'u1'];
  args.push('-m', String(calls), '-r', String(rate), '-key', 'trunk', trunk.terminationUri, '-nostdin');
  args.push('-timeout', `${Math.ceil(calls / rate + holdMs / 1000 + 60)}s`, '-timeout_error', '-trace_counts', '-trace_stat', '-stf', join(dir, 'stats.csv'), '-fd', '1');
  const numbersFile = opt.numbers ?? (scenario.numbers ? join(PACK, 'numbers', scenario.numbers) : undefined);
  if (name === 'digest-auth' && numbersFile) {
    // SIPp's [authentication] puts sip:<gateway IP>:<port> in the digest uri unless given -auth_uri,
    // and trunkgate wants the Request-URI there (security.digest.requireUriMatch): call one number.
    const line = readFileSync(numbersFile, 'utf8').split('\n').find((l) => l.trim() !== '' && !/^(#|SEQUENTIAL|RANDOM|USER)/.test(l.trim()));
    if (line === undefined) usage(`no number in ${numbersFile}`);
    const one = join(dir, 'one-number.csv');
    writeFileSync(one, `SEQUENTIAL\n${line.trim()}\n`);
    args.push('-inf', one, '-auth_uri', `${line.split(';')[0].trim()}@${trunk.terminationUri}`);
  } else if (numbersFile) args.push('-inf', numbersFile);
  if (holdMs > 0) args.push('-d', String(holdMs));
  if (opt.user) args.push('-au', opt.user);
  if (opt.password) args.push('-ap', opt.password);

  console.log(`trunkgate scenario: ${name} → ${opt.target} (trunk ${trunk.name}, ${trunk.terminationUri}, region ${prediction.region.region})`);
  console.log(`  offering ${calls} ${scenario.calls ? 'calls' : 'requests'} at ${rate}/s${holdMs > 0 ? `, held ${holdMs} ms` : ''} …`);
  const started = Date.now();
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const progress = setInterval(() => {
    const s = readCsvLast(join(dir, 'stats.csv'));
    if (s['TotalCallCreated'] === undefined) return;
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`  … ${secs} s: ${s['TotalCallCreated']} started, ${s['SuccessfulCall(C)']} done, ${s['FailedCall(C)']} failed, ${s['CurrentCall']} in progress`);
  }, 5000);
  const exitCode = await new Promise((resolve) => child.once('exit', resolve));
  clearInterval(progress);
  const elapsed = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 300));
  const after = await attempts(trunk.name);
  const stats = readCsvLast(join(dir, 'stats.csv'));
  const countsFile = readdirSync(dir).find((f) => f.endsWith('_counts.csv'));
  const counts = countsFile ? readCsvLast(join(dir, countsFile)) : {};

  const delta = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d > 0) delta[k] = d;
  }
  const admitted = delta['admitted'] ?? 0;
  const cpsRefused = (delta['cps_limited'] ?? 0) + (delta['pooled_cps_limited'] ?? 0);
  const concRefused = delta['concurrency_limited'] ?? 0;
  const other = Object.entries(delta).filter(([k]) => !['admitted', 'cps_limited', 'pooled_cps_limited', 'concurrency_limited'].includes(k));
  const rejected = Object.entries(delta).filter(([k]) => k !== 'admitted');
  const ok200 = Object.entries(counts).filter(([k]) => /_200_Recv$/.test(k)).map(([, v]) => Number(v))[0];

  console.log('');
  console.log(`  offered      ${calls} at ${rate}/s, ran ${elapsed.toFixed(1)} s`);
  if (scenario.calls) {
    console.log(`  admitted     ${admitted}`);
    console.log(`  rejected     ${rejected.reduce((a, [, n]) => a + n, 0)}`);
    for (const [outcome, n] of rejected) console.log(`    ${String(n).padStart(6)}  ${REASONS[outcome] ?? outcome}`);
  } else if (ok200 !== undefined) {
    console.log(`  answered     ${ok200} × 200 OK`);
  }
  console.log(`  SIPp         ${stats['SuccessfulCall(C)'] ?? '?'} successful, ${stats['FailedCall(C)'] ?? '?'} failed (exit ${exitCode})`);

  let verdict = true;
  const why = [];
  if (scenario.calls) {
    const r = prediction.region;
    const capText = Number.isFinite(prediction.cap) ? `${prediction.cap} at once` : 'no cap';
    const tol = Math.max(1, Math.ceil(prediction.admitted * 0.05)) + (Number.isFinite(prediction.cap) && prediction.leaseMs > 0 ? 1 : 0);
    console.log(`  prediction   CPS ${r.cps} (${trunk.cpsAlgorithm}, burst ${r.burst}), concurrency ${capText}${prediction.leaseMs > 0 ? `, each call holding ${prediction.leaseMs} ms` : ''}:`);
    console.log(`               ${prediction.admitted} admitted, ${prediction.cps} × CPS 503, ${prediction.conc} × concurrency 503 (± ${tol} for timing)`);
    if (Math.abs(admitted - prediction.admitted) > tol) {
      verdict = false;
      why.push(`${admitted} admitted, but the limits predict ${prediction.admitted} ± ${tol}`);
    }
    if (Math.abs(cpsRefused - prediction.cps) > tol || Math.abs(concRefused - prediction.conc) > tol) {
      verdict = false;
      why.push(`refusals by reason (${cpsRefused} CPS, ${concRefused} concurrency) differ from the prediction (${prediction.cps}, ${prediction.conc})`);
    }
    if (other.length > 0 && name !== 'digest-auth') {
      verdict = false;
      why.push(`refusals the limits don't explain: ${other.map(([k, n]) => `${n} × ${REASONS[k] ?? k}`).join(', ')} — see GET /v1/alerts`);
    }
    if (admitted + cpsRefused + concRefused + other.reduce((a, [, n]) => a + n, 0) < calls && name !== 'digest-auth') {
      verdict = false;
      why.push(`only ${admitted + cpsRefused + concRefused} of ${calls} INVITEs reached the trunk (wrong --target, or an unknown domain is dropped)`);
    }
  }
  if (Number(stats['FailedCall(C)'] ?? 0) > 0 && name !== 'basic-call') {
    verdict = false;
    why.push(`SIPp reports ${stats['FailedCall(C)']} failed calls${stderr ? `: ${stderr.trim().split('\n').slice(-2).join(' ')}` : ''}`);
  }
  if (name === 'basic-call' && Number(stats['FailedCall(C)'] ?? 0) !== cpsRefused + concRefused + other.reduce((a, [, n]) => a + n, 0)) {
    verdict = false;
    why.push(`SIPp failed ${stats['FailedCall(C)']} calls but the gateway refused ${cpsRefused + concRefused}`);
  }
  console.log(`  verdict      ${verdict ? 'PASS: reality matches what the limits predict' : 'FAIL'}`);
  for (const w of why) console.log(`               - ${w}`);
  process.exit(verdict ? 0 : 1);
}

main().catch((err) => {
  console.error(`scenario: ${err.stack ?? err}`);
  process.exit(2);
});
