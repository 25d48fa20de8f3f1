/**
 * The scenario runner's pure parts: the prediction (the gateway's own
 * limiters), the judgement of a run, and its three formats; reading the
 * gateway's counters and SIPp's words.
 */
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { delta, parseCounters } from '../../../src/scenario/gateway-client.js';
import { SCENARIOS } from '../../../src/scenario/pack.js';
import { predict, type TrunkLimits } from '../../../src/scenario/predict.js';
import { formatJson, formatJunit, formatText, judge, type RunFacts } from '../../../src/scenario/report.js';
import { sippWords } from '../../../src/scenario/sipp.js';

const limits = (over: Partial<TrunkLimits> = {}): TrunkLimits => ({
  cpsAlgorithm: 'token-bucket',
  homeRegion: 'us1',
  regions: [
    { region: 'ie1', cps: 50, burst: 50 },
    { region: 'us1', cps: 1, burst: 1 },
  ],
  concurrency: { trunkCap: null, accountCap: null, accountActive: 0 },
  pstnAnswerAfterMs: 1000,
  ...over,
});

describe('predict', () => {
  it('CPS 1, burst 1, 50 calls at 5/s: one a second is admitted (the README walkthrough)', () => {
    const p = predict(limits(), { calls: 50, rate: 5, holdMs: 0, cancelsWhileRinging: false });
    expect(p).toMatchObject({ admitted: 10, cpsRefused: 40, concurrencyRefused: 0, region: 'us1', cps: 1, burst: 1, concurrencyCap: null, leaseMs: 1000, tolerance: 1 });
  });

  it('a cap of 4 with calls held 3 s (+1 s ringing) at 10/s: at most 4 at once, the rest refused for concurrency', () => {
    const p = predict(limits({ regions: [{ region: 'us1', cps: 10, burst: 10 }], concurrency: { trunkCap: null, accountCap: 4, accountActive: 0 } }), {
      calls: 50,
      rate: 10,
      holdMs: 3000,
      cancelsWhileRinging: false,
    });
    expect(p.concurrencyCap).toBe(4);
    expect(p.leaseMs).toBe(4000);
    // 4 at 0-0.3 s, the next 4 when those end at 4.0-4.3 s; the offer ends at 4.9 s
    expect(p.admitted).toBe(8);
    expect(p.concurrencyRefused).toBe(42);
    expect(p.tolerance).toBe(2);
  });

  it('the other algorithms come from src/limits too; a cancel holds the lease for the ringing only', () => {
    const fixed = predict(limits({ cpsAlgorithm: 'fixed-window', regions: [{ region: 'us1', cps: 2, burst: 2 }] }), { calls: 20, rate: 20, holdMs: 0, cancelsWhileRinging: false });
    expect(fixed.algorithm).toBe('fixed-window');
    expect(fixed.admitted).toBeGreaterThanOrEqual(2);
    expect(fixed.admitted).toBeLessThanOrEqual(4);
    expect(predict(limits(), { calls: 1, rate: 1, holdMs: 1500, cancelsWhileRinging: true }).leaseMs).toBe(1500);
    expect(() => predict(limits({ cpsAlgorithm: 'leaky' }), { calls: 1, rate: 1, holdMs: 0, cancelsWhileRinging: false })).toThrow(/leaky/);
  });
});

const facts = (over: Partial<RunFacts> = {}): RunFacts => ({
  scenario: 'cps-burst',
  spec: SCENARIOS['cps-burst'],
  target: '127.0.0.1:5060',
  transport: 'udp',
  trunk: { name: 'demo', terminationUri: 'demo.pstn.twilio.com', credentialUsernames: [] },
  offer: { count: 50, rate: 5, holdMs: 0 },
  user: undefined,
  startedAt: '2026-11-30T10:00:00.000Z',
  elapsedSeconds: 10.24,
  attempts: { admitted: 10, cps_limited: 40 },
  ended: { answered: 10 },
  sipp: { exitCode: 0, successful: 50, failed: 0, answered200: undefined, error: undefined, said: [] },
  prediction: predict(limits(), { calls: 50, rate: 5, holdMs: 0, cancelsWhileRinging: false }),
  ...over,
});

describe('judge', () => {
  it('a run that matches: PASS, refused by reason', () => {
    const r = judge(facts());
    expect(r.verdict).toBe('PASS');
    expect(r.refused).toEqual({ total: 40, byReason: [{ outcome: 'cps_limited', response: '503 Trunk CPS limit exceeded', count: 40 }] });
    expect(r.elapsedSeconds).toBe(10.2);
  });

  it('too many admitted: FAIL naming the figures', () => {
    const r = judge(facts({ attempts: { admitted: 20, cps_limited: 30 } }));
    expect(r.verdict).toBe('FAIL');
    expect(r.checks.filter((c) => !c.pass).map((c) => c.detail)).toEqual([
      '20 admitted; the limits predict 10 ± 1',
      'refused 30 × CPS 503, 0 × concurrency 503; the limits predict 40 and 0 (± 1)',
    ]);
  });

  it('INVITEs that never reached the trunk, and SIPp failures the gateway cannot explain, with SIPp’s words', () => {
    const r = judge(
      facts({ attempts: {}, ended: {}, sipp: { exitCode: 1, successful: 0, failed: 50, answered200: undefined, error: undefined, said: ['Aborting call on unexpected message'] } }),
    );
    const failed = Object.fromEntries(r.checks.filter((c) => !c.pass).map((c) => [c.name, c.detail]));
    expect(failed['every INVITE reached the trunk']).toMatch(/^0 of 50 INVITEs reached trunk demo \(a wrong --target/);
    expect(failed["SIPp's failed calls are explained"]).toMatch(/SIPp failed 50 call\(s\); the gateway explains 0 .*; SIPp says: Aborting call on unexpected message$/);
  });

  it('SIPp could not run: FAIL with its own error', () => {
    const r = judge(facts({ attempts: {}, sipp: { exitCode: 255, successful: undefined, failed: undefined, answered200: undefined, error: 'fatal error\nUnable to open file x.csv', said: [] } }));
    expect(r.checks[0]).toEqual({ name: 'SIPp ran the scenario', pass: false, detail: 'SIPp stopped (exit 255): fatal error\nUnable to open file x.csv' });
    expect(formatText(r)).toContain('               | Unable to open file x.csv');
  });

  it('basic-call: busy and unanswered numbers explain failed SIPp calls', () => {
    const spec = SCENARIOS['basic-call'];
    const prediction = predict(limits({ regions: [{ region: 'us1', cps: 100, burst: 100 }] }), { calls: 4, rate: 4, holdMs: 0, cancelsWhileRinging: false });
    const ok = judge(facts({ scenario: 'basic-call', spec, offer: { count: 4, rate: 4, holdMs: 0 }, prediction, attempts: { admitted: 4 }, ended: { answered: 2, busy: 1, failed: 1 }, sipp: { exitCode: 1, successful: 2, failed: 2, answered200: undefined, error: undefined, said: [] } }));
    expect(ok.verdict).toBe('PASS');
    expect(formatText(ok)).toMatch(/ended\s+2 answered, 1 busy, 1 failed/);
    const bad = judge(facts({ scenario: 'basic-call', spec, offer: { count: 4, rate: 4, holdMs: 0 }, prediction, attempts: { admitted: 4 }, ended: { answered: 4 }, sipp: { exitCode: 1, successful: 2, failed: 2, answered200: undefined, error: undefined, said: [] } }));
    expect(bad.verdict).toBe('FAIL');
  });

  it('digest-auth: challenges are not refusals; refused credentials are explained once', () => {
    const spec = SCENARIOS['digest-auth'];
    const base = { scenario: 'digest-auth' as const, spec, offer: { count: 3, rate: 5, holdMs: 0 }, user: 'pbx', trunk: { name: 'demo', terminationUri: 'demo.pstn.twilio.com', credentialUsernames: ['pbx'] } };
    const prediction = predict(limits({ regions: [{ region: 'us1', cps: 100, burst: 100 }] }), { calls: 3, rate: 5, holdMs: 0, cancelsWhileRinging: false });
    const ok = judge(facts({ ...base, prediction, attempts: { challenged: 3, admitted: 3 }, ended: { answered: 3 }, sipp: { exitCode: 0, successful: 3, failed: 0, answered200: undefined, error: undefined, said: [] } }));
    expect(ok).toMatchObject({ verdict: 'PASS', admitted: 3, challenged: 3, refused: { total: 0 } });
    expect(formatText(ok, 'pbx')).toMatch(/challenged\s+3 × 407 Proxy Authentication Required, answered as pbx \(not refusals\)/);
    const wrong = judge(facts({ ...base, prediction, attempts: { challenged: 3, unauthorized: 3 }, ended: {}, sipp: { exitCode: 0, successful: 3, failed: 0, answered200: undefined, error: undefined, said: [] } }));
    expect(wrong.verdict).toBe('FAIL');
    expect(wrong.checks.filter((c) => !c.pass).map((c) => c.name)).toEqual(['the credentials were accepted']);
    const stranger = judge(facts({ ...base, user: 'alice', prediction, attempts: { challenged: 3, unauthorized: 3 }, ended: {}, sipp: { exitCode: 0, successful: 3, failed: 0, answered200: undefined, error: undefined, said: [] } }));
    expect(stranger.checks.find((c) => !c.pass)?.detail).toBe('3 × 403 Forbidden after the challenge: trunk demo has no user "alice" (it has: pbx)');
  });

  it('options-ping: every request answered 200', () => {
    const spec = SCENARIOS['options-ping'];
    const r = judge(facts({ scenario: 'options-ping', spec, offer: { count: 3, rate: 1, holdMs: 0 }, prediction: null, attempts: {}, ended: {}, sipp: { exitCode: 0, successful: 3, failed: 0, answered200: 3, error: undefined, said: [] } }));
    expect(r.verdict).toBe('PASS');
    expect(r.prediction).toBeNull();
    expect(formatText(r)).toMatch(/answered\s+3 × 200 OK/);
  });
});

describe('the formats', () => {
  it('text: the lines the README shows', () => {
    const text = formatText(judge(facts()));
    expect(text).toBe(
      [
        '  offered      50 at 5/s, ran 10.2 s',
        '  admitted     10',
        '  refused      40',
        '        40  503 Trunk CPS limit exceeded',
        '  ended        10 answered',
        '  SIPp         50 successful, 0 failed (exit 0)',
        '  prediction   CPS 1 (token-bucket, burst 1), concurrency no cap, each call holding 1000 ms:',
        '               10 admitted, 40 × CPS 503, 0 × concurrency 503 (± 1 for timing)',
        '  verdict      PASS: reality matches what the limits predict',
        '',
      ].join('\n'),
    );
  });

  it('JSON: every key present, absent values as null', () => {
    const json = JSON.parse(formatJson(judge(facts()))) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['scenario', 'target', 'transport', 'trunk', 'terminationUri', 'startedAt', 'elapsedSeconds', 'offered', 'admitted', 'challenged', 'refused', 'ended', 'sipp', 'prediction', 'checks', 'verdict']);
    expect(json['sipp']).toEqual({ exitCode: 0, successful: 50, failed: 0, answered200: null, error: null, said: [] });
  });

  it('JUnit: well-formed, a test case per check, failures with their reason, awkward characters escaped', () => {
    const report = judge(facts({ attempts: { admitted: 20, cps_limited: 30 }, target: '127.0.0.1:5060 <&> "\u0001"' }));
    const xml = formatJunit(report, 'text with <tags> & "quotes"\n');
    const errors: string[] = [];
    const failures: string[] = [];
    const parser = new SaxesParser();
    parser.on('error', (e) => errors.push(e.message));
    parser.on('opentag', (t) => {
      if (t.name === 'failure') failures.push((t.attributes as Record<string, string>)['message'] as string);
    });
    parser.write(xml).close();
    expect(errors).toEqual([]);
    expect(failures).toEqual(['20 admitted; the limits predict 10 ± 1', 'refused 30 × CPS 503, 0 × concurrency 503; the limits predict 40 and 0 (± 1)']);
    expect(xml).toContain('<testsuite name="trunkgate scenario cps-burst" tests="6" failures="2"');
    expect(xml).toContain('value="127.0.0.1:5060 &lt;&amp;&gt; &quot;&quot;"');
  });
});

describe('reading the gateway and SIPp', () => {
  it('the counters of one trunk, summed over regions; deltas keep what grew', () => {
    const text = [
      '# HELP trunkgate_call_attempts_total x',
      'trunkgate_call_attempts_total{trunk="demo",region="us1",outcome="admitted"} 3',
      'trunkgate_call_attempts_total{trunk="demo",region="ie1",outcome="admitted"} 2',
      'trunkgate_call_attempts_total{trunk="other",region="us1",outcome="admitted"} 7',
      'trunkgate_call_attempts_total{trunk="demo",region="us1",outcome="cps_limited"} 4',
      'trunkgate_calls_ended_total{trunk="demo",disposition="busy"} 1',
      'trunkgate_call_attempts_total_created{trunk="demo",region="us1",outcome="admitted"} 1e9',
    ].join('\n');
    const c = parseCounters(text, 'demo');
    expect(c).toEqual({ attempts: { admitted: 5, cps_limited: 4 }, ended: { busy: 1 } });
    expect(delta({ admitted: 5, cps_limited: 4 }, { admitted: 9, cps_limited: 4, challenged: 1 })).toEqual({ admitted: 4, challenged: 1 });
  });

  it('SIPp’s words: the first line of each error-log entry, no noise, no repeats', () => {
    const log = [
      'The following events occurred:',
      "2026-11-30\t10:57:29.417526\t1796036249.417526: Aborting call on unexpected message for Call-Id '1-1@x': while expecting '180' (index 2), received 'SIP/2.0 407 Proxy Authentication Required",
      'Via: SIP/2.0/UDP 127.0.0.1',
      "'2026-11-30\t10:57:29.5\t1796036249.5: Unable to open file /nonexist.csv",
      '2026-11-30\t10:57:29.6\t1796036249.6: Unable to open file /nonexist.csv',
    ].join('\n');
    expect(sippWords('Resolving remote host 127.0.0.1... Done.\n', log)).toEqual([
      "Aborting call on unexpected message for Call-Id '1-1@x': while expecting '180' (index 2), received 'SIP/2.0 407 Proxy Authentication Required",
      'Unable to open file /nonexist.csv',
    ]);
    expect(sippWords('sipp: cannot bind\n', '')).toEqual(['sipp: cannot bind']);
  });
});
