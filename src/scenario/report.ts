/**
 * A scenario run judged against the trunk's limits, and written out three
 * ways: the readable report, one JSON object (--json), JUnit XML (--junit).
 * Pure: the runner (run.ts) gathers the facts.
 */
import type { Prediction } from './predict.js';
import type { ScenarioName, ScenarioSpec } from './pack.js';

/** What each admission outcome (trunkgate_call_attempts_total{outcome}) answers. */
export const RESPONSES: Readonly<Record<string, string>> = {
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

/** Far-end outcomes (trunkgate_calls_ended_total{disposition}) that fail a SIPp call which expects 200. */
const FAR_END_FAILURES = ['busy', 'no_answer', 'failed', 'timeout'];

export interface RunFacts {
  scenario: ScenarioName;
  spec: ScenarioSpec;
  target: string;
  transport: 'udp' | 'tcp';
  trunk: { name: string; terminationUri: string; credentialUsernames: string[] };
  offer: { count: number; rate: number; holdMs: number };
  user: string | undefined;
  startedAt: string;
  elapsedSeconds: number;
  /** trunkgate_call_attempts_total of the trunk during the run, by outcome. */
  attempts: Record<string, number>;
  /** trunkgate_calls_ended_total of the trunk during the run, by disposition. */
  ended: Record<string, number>;
  sipp: {
    exitCode: number | null;
    successful: number | undefined;
    failed: number | undefined;
    /** 200 OKs received (-trace_counts), for requests outside calls. */
    answered200: number | undefined;
    /** SIPp's own words when it could not run the scenario. */
    error: string | undefined;
    /** SIPp's last words (stderr, error log), shown when calls failed that the gateway does not explain. */
    said: string[];
  };
  prediction: Prediction | null;
}

export interface Check {
  name: string;
  pass: boolean;
  /** Why it failed (or what it found). */
  detail: string;
}

export interface ScenarioReport {
  scenario: ScenarioName;
  target: string;
  transport: 'udp' | 'tcp';
  trunk: string;
  terminationUri: string;
  startedAt: string;
  elapsedSeconds: number;
  offered: { count: number; kind: 'calls' | 'requests'; rate: number; holdMs: number };
  admitted: number;
  /** 407 challenges answered with credentials: part of a call's set-up, not a refusal. */
  challenged: number;
  refused: { total: number; byReason: Array<{ outcome: string; response: string; count: number }> };
  /** How admitted calls ended (the far end's answer, busy, a cancel …). */
  ended: Record<string, number>;
  sipp: RunFacts['sipp'];
  prediction: Prediction | null;
  checks: Check[];
  verdict: 'PASS' | 'FAIL';
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export function judge(f: RunFacts): ScenarioReport {
  const n = (k: string): number => f.attempts[k] ?? 0;
  const admitted = n('admitted');
  const challenged = f.spec.digest ? n('challenged') : 0;
  const byReason = Object.entries(f.attempts)
    .filter(([k, v]) => k !== 'admitted' && v > 0 && !(f.spec.digest && k === 'challenged'))
    .map(([outcome, count]) => ({ outcome, response: RESPONSES[outcome] ?? outcome, count }));
  const refusedTotal = sum(byReason.map((r) => r.count));
  const checks: Check[] = [];
  const check = (name: string, pass: boolean, detail: string): void => void checks.push({ name, pass, detail });

  check('SIPp ran the scenario', f.sipp.error === undefined, f.sipp.error === undefined ? `exit ${f.sipp.exitCode}` : `SIPp stopped (exit ${f.sipp.exitCode}): ${f.sipp.error}`);

  const p = f.prediction;
  if (f.spec.calls && p !== null) {
    const cps = n('cps_limited') + n('pooled_cps_limited');
    const conc = n('concurrency_limited');
    // refused credentials never reach the CPS check: the credentials check below explains those calls
    const credentialsRefused = f.spec.digest && n('unauthorized') > 0;
    if (!credentialsRefused) check(
      'admitted as the limits predict',
      Math.abs(admitted - p.admitted) <= p.tolerance,
      `${admitted} admitted; the limits predict ${p.admitted} ± ${p.tolerance}`,
    );
    if (!credentialsRefused) check(
      'refused as the limits predict',
      Math.abs(cps - p.cpsRefused) <= p.tolerance && Math.abs(conc - p.concurrencyRefused) <= p.tolerance,
      `refused ${cps} × CPS 503, ${conc} × concurrency 503; the limits predict ${p.cpsRefused} and ${p.concurrencyRefused} (± ${p.tolerance})`,
    );
    const expected = new Set(['cps_limited', 'pooled_cps_limited', 'concurrency_limited', ...(f.spec.digest ? ['unauthorized'] : [])]);
    const other = byReason.filter((r) => !expected.has(r.outcome));
    check(
      'no refusals the limits do not explain',
      other.length === 0,
      other.length === 0
        ? 'none'
        : `${other.map((r) => `${r.count} × ${r.response}`).join(', ')}; GET /v1/alerts says why${
            other.some((r) => r.outcome === 'challenged')
              ? ` (trunk ${f.trunk.name} asks for credentials: run digest-auth with --user and --password)`
              : ''
          }`,
    );
    const reached = admitted + refusedTotal;
    check(
      'every INVITE reached the trunk',
      reached >= f.offer.count,
      `${reached} of ${f.offer.count} INVITEs reached trunk ${f.trunk.name}${reached >= f.offer.count ? '' : ' (a wrong --target, or a Request-URI the gateway does not know: those get no answer at all)'}`,
    );
    if (f.spec.digest) {
      check(
        'every call was challenged (407) first',
        challenged >= f.offer.count,
        `${challenged} of ${f.offer.count} calls got the 407 challenge${challenged === 0 ? `: trunk ${f.trunk.name} asks for no credentials` : ''}`,
      );
      const unauthorized = n('unauthorized');
      const known = f.trunk.credentialUsernames;
      const who =
        f.user !== undefined && !known.includes(f.user)
          ? `trunk ${f.trunk.name} has no user "${f.user}" (it has: ${known.join(', ') || 'none'})`
          : `the password given with --password is not the one of user "${f.user ?? '?'}" on trunk ${f.trunk.name}`;
      check(
        'the credentials were accepted',
        unauthorized === 0,
        unauthorized === 0 ? `user ${f.user ?? '?'}` : `${unauthorized} × 403 Forbidden after the challenge: ${who}`,
      );
    }
    // SIPp's failed calls must all be explained: a refusal (for scenarios that fail on anything but 200) or the far end's answer
    const refusalsFailSipp = f.spec.sippCounts === 'refusals-fail' ? sum(byReason.filter((r) => r.outcome !== 'unauthorized').map((r) => r.count)) : 0;
    const farEnd = sum(FAR_END_FAILURES.map((d) => f.ended[d] ?? 0));
    const failed = f.sipp.failed ?? 0;
    const explained = refusalsFailSipp + farEnd;
    check(
      "SIPp's failed calls are explained",
      failed <= explained,
      failed === 0
        ? 'none failed'
        : `SIPp failed ${failed} call(s); the gateway explains ${explained} (${refusalsFailSipp} refused, ${farEnd} not answered by the far end)${
            failed > explained && f.sipp.said.length > 0 ? `; SIPp says: ${f.sipp.said.join(' / ')}` : ''
          }`,
    );
  } else if (!f.spec.calls) {
    const ok = f.sipp.answered200 ?? f.sipp.successful ?? 0;
    check('every request answered 200 OK', ok >= f.offer.count && (f.sipp.failed ?? 0) === 0, `${ok} of ${f.offer.count} answered 200 OK, ${f.sipp.failed ?? '?'} failed`);
  }

  return {
    scenario: f.scenario,
    target: f.target,
    transport: f.transport,
    trunk: f.trunk.name,
    terminationUri: f.trunk.terminationUri,
    startedAt: f.startedAt,
    elapsedSeconds: Math.round(f.elapsedSeconds * 10) / 10,
    offered: { count: f.offer.count, kind: f.spec.calls ? 'calls' : 'requests', rate: f.offer.rate, holdMs: f.offer.holdMs },
    admitted,
    challenged,
    refused: { total: refusedTotal, byReason },
    ended: Object.fromEntries(Object.entries(f.ended).filter(([, v]) => v > 0)),
    sipp: f.sipp,
    prediction: f.spec.calls ? p : null,
    checks,
    verdict: checks.every((c) => c.pass) ? 'PASS' : 'FAIL',
  };
}

/** The readable report: one fact per line, the verdict and what failed last. */
export function formatText(r: ScenarioReport, user?: string): string {
  const lines: string[] = [];
  const row = (label: string, text: string): void => void lines.push(`  ${label.padEnd(12)} ${text}`);
  row('offered', `${r.offered.count} at ${r.offered.rate}/s, ran ${r.elapsedSeconds.toFixed(1)} s`);
  if (r.offered.kind === 'calls') {
    row('admitted', String(r.admitted));
    if (r.challenged > 0) row('challenged', `${r.challenged} × 407 Proxy Authentication Required, answered${user === undefined ? '' : ` as ${user}`} (not refusals)`);
    row('refused', String(r.refused.total));
    for (const x of r.refused.byReason) lines.push(`    ${String(x.count).padStart(6)}  ${x.response}`);
    const ended = Object.entries(r.ended);
    if (ended.length > 0) row('ended', ended.map(([d, count]) => `${count} ${d.replace('_', ' ')}`).join(', '));
  } else if (r.sipp.answered200 !== undefined) {
    row('answered', `${r.sipp.answered200} × 200 OK`);
  }
  row('SIPp', `${r.sipp.successful ?? '?'} successful, ${r.sipp.failed ?? '?'} failed (exit ${r.sipp.exitCode ?? 'none'})`);
  if (r.sipp.error !== undefined) for (const l of r.sipp.error.split('\n')) lines.push(`               | ${l}`);
  const p = r.prediction;
  if (p !== null) {
    const cap = p.concurrencyCap === null ? 'no cap' : `${p.concurrencyCap} at once`;
    const tolerance = p.toleranceMs > 0 ? `, tolerance ${p.toleranceMs} ms` : '';
    row('prediction', `CPS ${p.cps} (${p.algorithm}, burst ${p.burst}${tolerance}), concurrency ${cap}${p.leaseMs > 0 ? `, each call holding ${p.leaseMs} ms` : ''}:`);
    lines.push(`               ${p.admitted} admitted, ${p.cpsRefused} × CPS 503, ${p.concurrencyRefused} × concurrency 503 (± ${p.tolerance} for timing)`);
  }
  row('verdict', r.verdict === 'PASS' ? 'PASS: reality matches what the limits predict' : 'FAIL');
  for (const c of r.checks.filter((x) => !x.pass)) lines.push(`               - ${c.name}: ${c.detail}`);
  return `${lines.join('\n')}\n`;
}

/** The --json object: the report as is (absent values as null, so every key is always there). */
export function formatJson(r: ScenarioReport): string {
  return `${JSON.stringify(r, (_k, v: unknown) => (v === undefined ? null : v), 2)}\n`;
}

function xml(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex -- tab, LF and CR are the control characters XML 1.0 allows
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '') // characters XML 1.0 cannot carry
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** JUnit XML (the Ant/Surefire schema CI tools read): one test suite per run, one test case per check. */
export function formatJunit(r: ScenarioReport, text: string): string {
  const failures = r.checks.filter((c) => !c.pass).length;
  const suite = `trunkgate scenario ${r.scenario}`;
  const props: Array<[string, string | number]> = [
    ['target', r.target],
    ['transport', r.transport],
    ['trunk', r.trunk],
    ['offered', r.offered.count],
    ['rate', r.offered.rate],
    ['holdMs', r.offered.holdMs],
    ['admitted', r.admitted],
    ['refused', r.refused.total],
    ['verdict', r.verdict],
  ];
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="trunkgate scenario" tests="${r.checks.length}" failures="${failures}" errors="0" time="${r.elapsedSeconds}">`,
    `  <testsuite name="${xml(suite)}" tests="${r.checks.length}" failures="${failures}" errors="0" skipped="0" time="${r.elapsedSeconds}" timestamp="${xml(r.startedAt.replace(/\.\d+Z$/, ''))}">`,
    '    <properties>',
    ...props.map(([k, v]) => `      <property name="${xml(k)}" value="${xml(String(v))}"/>`),
    '    </properties>',
  ];
  for (const c of r.checks) {
    const head = `    <testcase classname="${xml(`trunkgate.scenario.${r.scenario}`)}" name="${xml(c.name)}" time="0">`;
    if (c.pass) out.push(`${head}</testcase>`);
    else out.push(head, `      <failure message="${xml(c.detail)}" type="verdict">${xml(c.detail)}</failure>`, '    </testcase>');
  }
  out.push(`    <system-out>${xml(text)}</system-out>`, '  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}
