/**
 * `trunkgate scenario NAME`: runs a scenario of the pack with SIPp against a
 * running gateway, reads what the trunk's limits predict (GET /v1/trunks,
 * computed with src/limits/) and what happened (/metrics), and judges.
 * Exit 0 PASS, 1 FAIL, 2 when it could not run (usage, no SIPp, no gateway).
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { errorOf, type TrunkgateError } from '../errors.js';
import type { TrunkView } from '../http/admin-api.js';
import { type Counters, delta, GatewayClient } from './gateway-client.js';
import { defaultNumbers, isScenarioName, SCENARIOS, type ScenarioSpec, scenarioFile } from './pack.js';
import { predict } from './predict.js';
import { formatJson, formatJunit, formatText, judge } from './report.js';
import { SippProcess, sippInstalled } from './sipp.js';

export interface ScenarioOptions {
  rate: number;
  calls: number;
  holdMs: number | undefined;
  target: string;
  http: string;
  trunk: string | undefined;
  numbers: string | undefined;
  transport: 'udp' | 'tcp';
  token: string | undefined;
  user: string | undefined;
  password: string | undefined;
  json: boolean;
  junit: string | undefined;
  /** Seconds between progress lines; 0: none. */
  progress: number;
}

export interface Io {
  out: Writable;
  err: Writable;
  /** Where relative paths (--numbers, --junit) are resolved: the user's folder. */
  cwd: string;
}

/** The `-i` SIPp needs to reach `target` on this machine's loopback; none for other hosts (SIPp picks). */
function localIpFor(target: string): string[] {
  if (/^127\./.test(target) || target.startsWith('localhost')) return ['-i', '127.0.0.1'];
  if (target.startsWith('[::1]')) return ['-i', '::1'];
  return [];
}

function fail(io: Io, error: TrunkgateError): number {
  io.err.write(`trunkgate scenario: ${error.message}\n`);
  return 2;
}

/** A file the user named, resolved against their folder, checked readable. */
function readable(io: Io, option: string, path: string): { ok: true; path: string } | { ok: false; error: TrunkgateError } {
  const full = resolve(io.cwd, path);
  try {
    if (!statSync(full).isFile()) return { ok: false, error: errorOf('SCENARIO_FILE', option, full, 'not a file') };
    accessSync(full, constants.R_OK);
    return { ok: true, path: full };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? (err as Error).message);
    return { ok: false, error: errorOf('SCENARIO_FILE', option, full, reason) };
  }
}

/** A copy of a SIPp numbers file with its first number only (the header line kept). */
function firstNumber(path: string, dir: string): { file: string; number: string } {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const header = /^(SEQUENTIAL|RANDOM|USER)/i.test(lines[0] ?? '') ? (lines[0] as string) : 'SEQUENTIAL';
  const line = lines.find((l, i) => (i > 0 || header !== lines[0]) && l.trim().length > 0 && !l.startsWith('#')) ?? '';
  const file = join(dir, 'first-number.csv');
  writeFileSync(file, `${header}\n${line}\n`);
  return { file, number: line.split(';')[0] ?? '' };
}

function digestProblem(spec: ScenarioSpec, trunk: TrunkView, o: ScenarioOptions): string | undefined {
  if (!spec.digest) return undefined;
  const users = trunk.auth.credentialUsernames;
  if (users.length === 0) {
    return `trunk ${trunk.name} has no credentials (trunks[].auth.credentials), so nothing is challenged: choose a trunk that has them with --trunk, or add some`;
  }
  if (o.user === undefined || o.password === undefined) {
    const missing = [o.user === undefined ? '--user' : undefined, o.password === undefined ? '--password' : undefined].filter(Boolean).join(' and ');
    return `digest-auth answers the trunk's 407 challenge with a username and password: pass ${missing} (trunk ${trunk.name} has credentials for: ${users.join(', ')})`;
  }
  return undefined;
}

export async function runScenario(name: string, o: ScenarioOptions, io: Io): Promise<number> {
  if (!isScenarioName(name)) return fail(io, errorOf('SCENARIO_UNKNOWN', name, Object.keys(SCENARIOS).join(', ')));
  const spec: ScenarioSpec = SCENARIOS[name];
  let numbers: string | undefined;
  if (spec.numbers !== undefined) {
    const r = o.numbers === undefined ? { ok: true as const, path: defaultNumbers(spec) as string } : readable(io, '--numbers', o.numbers);
    if (!r.ok) return fail(io, r.error);
    numbers = r.path;
  }
  const junit = o.junit === undefined ? undefined : resolve(io.cwd, o.junit);
  if (junit !== undefined && !existsSync(dirname(junit))) return fail(io, errorOf('SCENARIO_FILE', '--junit', junit, `no folder ${dirname(junit)}`));
  if (!sippInstalled()) return fail(io, errorOf('SIPP_MISSING'));

  const client = new GatewayClient(o.http, o.token);
  const got = await client.trunks();
  if (!got.ok) return fail(io, got.error);
  const trunk = o.trunk === undefined ? got.trunks[0] : got.trunks.find((t) => t.name === o.trunk);
  if (trunk === undefined) return fail(io, errorOf('SCENARIO_NO_TRUNK', got.trunks.length === 0 ? undefined : o.trunk, got.trunks.map((t) => t.name).join(', ')));
  const digest = digestProblem(spec, trunk, o);
  if (digest !== undefined) return fail(io, errorOf('SCENARIO_CREDENTIALS', digest));

  const holdMs = o.holdMs ?? spec.defaultHoldMs;
  const prediction = spec.calls ? predict(trunk, { calls: o.calls, rate: o.rate, holdMs, cancelsWhileRinging: spec.cancelsWhileRinging }) : null;
  // the report goes to stdout; with --json that is the JSON object only, and the progress goes to stderr
  const say = (line: string): void => void (o.json ? io.err : io.out).write(`${line}\n`);
  say(`trunkgate scenario: ${name} → ${o.target} (trunk ${trunk.name}, ${trunk.terminationUri}, ${o.transport.toUpperCase()})`);
  say(`  offering ${o.calls} ${spec.calls ? 'calls' : 'requests'} at ${o.rate}/s${holdMs > 0 ? `, held ${holdMs} ms` : ''} …`);
  if (spec.digest && o.user !== undefined && !trunk.auth.credentialUsernames.includes(o.user)) {
    say(`  note: trunk ${trunk.name} has no user "${o.user}" (it has: ${trunk.auth.credentialUsernames.join(', ')}); expect 403 Forbidden after each challenge`);
  }

  const before: Counters = await client.counters(trunk.name);
  const dir = mkdtempSync(join(tmpdir(), 'trunkgate-scenario-'));
  const args = ['-sf', scenarioFile(spec), o.target, ...localIpFor(o.target), '-t', o.transport === 'tcp' ? 't1' : 'u1'];
  args.push('-m', String(o.calls), '-r', String(o.rate), '-key', 'trunk', trunk.terminationUri, '-nostdin');
  args.push('-timeout', `${Math.ceil(o.calls / o.rate + holdMs / 1000 + 60)}s`, '-timeout_error', '-trace_counts', '-trace_stat', '-fd', '1');
  if (spec.digest && numbers !== undefined) {
    // SIPp signs uri="sip:<remote IP>:<port>" unless -auth_uri names the Request-URI, which trunkgate
    // requires (security.digest.requireUriMatch); -auth_uri is one value per run: call the first number
    const first = firstNumber(numbers, dir);
    args.push('-inf', first.file, '-auth_uri', `${first.number}@${trunk.terminationUri}`);
  } else if (numbers !== undefined) args.push('-inf', numbers);
  if (holdMs > 0) args.push('-d', String(holdMs));
  if (spec.digest) args.push('-au', o.user as string, '-ap', o.password as string);

  const startedAt = new Date();
  const sipp = new SippProcess(args, dir);
  // Ctrl-C stops SIPp (ours, by PID) and removes the scratch folder before exiting
  const interrupted = (signal: NodeJS.Signals): void => {
    const exit = (): never => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    sipp.stop(1000).then(exit, exit);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let progress: NodeJS.Timeout | undefined;
  if (o.progress > 0) {
    progress = setInterval(() => {
      const s = sipp.stats();
      void client.counters(trunk.name).then(
        (now) => {
          const d = delta(before.attempts, now.attempts);
          const admitted = d['admitted'] ?? 0;
          const challenged = spec.digest ? (d['challenged'] ?? 0) : 0;
          const refused = Object.entries(d).reduce((a, [k, v]) => (k === 'admitted' || (spec.digest && k === 'challenged') ? a : a + v), 0);
          const secs = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);
          // SIPp writes its statistics once a second: the gateway's count may be ahead
          const started = Math.max(Number(s['TotalCallCreated'] ?? 0), spec.digest ? challenged : admitted + refused);
          say(
            `  … ${secs} s: ${started} started, ${spec.calls ? `${admitted} admitted, ${refused} refused, ${challenged > 0 ? `${challenged} challenged, ` : ''}` : ''}${s['CurrentCall'] ?? '0'} in progress`,
          );
        },
        () => undefined, // the gateway went away: the end of the run says so
      );
    }, o.progress * 1000);
  }
  const result = await sipp.done;
  if (progress !== undefined) clearInterval(progress);
  process.removeListener('SIGINT', interrupted);
  process.removeListener('SIGTERM', interrupted);
  const elapsedSeconds = (Date.now() - startedAt.getTime()) / 1000;
  // the last BYEs and their counters settle within a moment of SIPp's exit
  await new Promise((r) => setTimeout(r, 300));
  let after: Counters;
  try {
    after = await client.counters(trunk.name);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return fail(io, errorOf('GATEWAY_UNREACHABLE', `http://${o.http}/metrics`, (err as Error).message));
  }
  rmSync(dir, { recursive: true, force: true });

  const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  const answered200 = Object.entries(result.counts)
    .filter(([k]) => /_200_Recv$/.test(k))
    .map(([, v]) => Number(v))[0];
  const report = judge({
    scenario: name,
    spec,
    target: o.target,
    transport: o.transport,
    trunk: { name: trunk.name, terminationUri: trunk.terminationUri, credentialUsernames: trunk.auth.credentialUsernames },
    offer: { count: o.calls, rate: o.rate, holdMs },
    user: o.user,
    startedAt: startedAt.toISOString(),
    elapsedSeconds,
    attempts: delta(before.attempts, after.attempts),
    ended: delta(before.ended, after.ended),
    sipp: {
      exitCode: result.exitCode,
      successful: num(result.stats['SuccessfulCall(C)']),
      failed: num(result.stats['FailedCall(C)']),
      answered200: spec.calls ? undefined : answered200,
      error: result.error,
      said: result.said,
    },
    prediction,
  });
  const text = formatText(report, o.user);
  if (o.json) io.out.write(formatJson(report));
  else io.out.write(`\n${text}`);
  if (junit !== undefined) {
    try {
      writeFileSync(junit, formatJunit(report, text));
    } catch (err) {
      return fail(io, errorOf('SCENARIO_FILE', '--junit', junit, (err as NodeJS.ErrnoException).code ?? (err as Error).message));
    }
  }
  return report.verdict === 'PASS' ? 0 : 1;
}

/** The names and one-line summaries of the pack, for --help. */
export function scenarioList(): string {
  return Object.entries(SCENARIOS)
    .map(([n, s]) => `  ${n.padEnd(18)} ${s.summary}${s.numbers === undefined ? '' : ` (numbers: ${s.numbers})`}`)
    .join('\n');
}

