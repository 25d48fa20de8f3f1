/**
 * The inbound side against real PBXs (SIPp UAS instances as origination URIs,
 * started here on 127.0.0.1), driven through the admin API
 * (POST /v1/origination): the split over priorities and weights, the
 * failover rules (503 fails over, 486 does not, silence fails over after 4 s),
 * the disaster-recovery webhook (a real HTTP app serving TwiML), a number's
 * voice URL, and the provider's headers as the PBX receives them, byte by
 * byte. Every run is bounded in calls and time; every lease comes back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { RunReport } from '../../src/origination/origination-run.js';
import { generatedAccountSid } from '../../src/termination/directory.js';
import { expectAllReleased } from '../support/assertions.js';
import { startTestGateway } from '../support/gateway.js';
import { adminClient } from '../support/http.js';
import { type StartedSipp, parseMessageLog, startSipp } from '../support/sipp.js';
import { type VoiceApp, startVoiceApp } from '../support/voice-app.js';
import { waitFor } from '../support/wait-for.js';

const SCENARIOS = fileURLToPath(new URL('../scenarios/', import.meta.url));
const ANSWER = `${SCENARIOS}pbx-inbound.xml`;
const HEADERS = `${SCENARIOS}pbx-inbound-headers.xml`;
const SILENT = `${SCENARIOS}carrier-silent.xml`;
const NUMBER = '+14155550100';
const AUTH_TOKEN = 'demo-auth-token';

let gateway: Gateway | undefined;
const sipps: StartedSipp[] = [];
let app: VoiceApp | undefined;

afterEach(async () => {
  for (const s of sipps.splice(0)) s.kill('SIGKILL');
  await gateway?.stop();
  gateway = undefined;
  await app?.close();
  app = undefined;
});

async function pbx(scenario: string, extraArgs: string[] = [], options: { traceMessages?: boolean; timeoutSeconds?: number } = {}): Promise<StartedSipp> {
  const s = await startSipp({ scenario, extraArgs, timeoutSeconds: options.timeoutSeconds ?? 90, traceMessages: options.traceMessages });
  sipps.push(s);
  return s;
}

/** A PBX that refuses every inbound call with `status` (after a 100 Trying) and takes the ACK: SIPp wants the code written in the scenario. */
function rejecting(status: number, reason: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'trunkgate-pbx-')), `reject-${status}.xml`);
  const headers = (tag: boolean): string => `[last_Via:]\n[last_From:]\n[last_To:]${tag ? ';tag=[pid]SIPpTag01[call_number]' : ''}\n[last_Call-ID:]\n[last_CSeq:]\nContent-Length: 0\n\n`;
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="PBX refuses inbound calls with ${status}">
  <recv request="INVITE" />
  <send><![CDATA[
SIP/2.0 100 Trying
${headers(false)}]]></send>
  <send><![CDATA[
SIP/2.0 ${status} ${reason}
${headers(true)}]]></send>
  <recv request="ACK" />
</scenario>
`,
  );
  return path;
}

const uriOf = (s: StartedSipp, extra = ''): string => `sip:127.0.0.1:${s.localPort}${extra}`;

async function gatewayWith(origination: Record<string, unknown>, patch: Record<string, unknown> = {}): Promise<Gateway> {
  gateway = await startTestGateway({
    trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin', origination: { numbers: [NUMBER], ...origination } }],
    ...patch,
  });
  return gateway;
}

/** Start a run through the API and wait (with a deadline) until it is no longer running. */
async function runToEnd(g: Gateway, body: Record<string, unknown>, timeoutMs = 30_000): Promise<RunReport> {
  const api = adminClient(g);
  const started = await api.post<RunReport>('/v1/origination', body);
  expect(started.status, started.text).toBe(201);
  expect(started.headers.get('location')).toBe(`/v1/origination/${started.json.id}`);
  return waitFor(
    async () => {
      const r = await api.get<RunReport>(`/v1/origination/${started.json.id}`);
      return r.json.state === 'running' ? undefined : r.json;
    },
    { timeoutMs, intervalMs: 50, what: 'the run to end' },
  );
}

/** SIPp's successful calls so far (its statistics file, written every second). */
const successes = (s: StartedSipp): number => Number(s.stats()['SuccessfulCall(C)'] ?? '0');
const failures = (s: StartedSipp): number => Number(s.stats()['FailedCall(C)'] ?? '0');

describe('priority and weight', () => {
  it('1,000 calls split over three URIs of equal priority by weight 60/30/10 (within 5 points); the lower priority gets none', async () => {
    const [a, b, c, backup] = await Promise.all([pbx(ANSWER), pbx(ANSWER), pbx(ANSWER), pbx(ANSWER)]);
    const g = await gatewayWith({
      uris: [
        { uri: uriOf(a), priority: 10, weight: 60 },
        { uri: uriOf(b), priority: 10, weight: 30 },
        { uri: uriOf(c), priority: 10, weight: 10 },
        { uri: uriOf(backup), priority: 20, weight: 1000 },
      ],
    });
    const report = await runToEnd(g, { trunk: 'demo', rate: 250, calls: 1000 }, 60_000);
    expect(report).toMatchObject({ state: 'completed', offered: 1000, failovers: 0, refusedAtCap: 0, answers: { '200': 1000 }, outcomes: { answered: 1000 }, active: 0 });
    const share = (s: StartedSipp): number => (report.delivered[uriOf(s)] ?? 0) / 1000;
    expect(Math.abs(share(a) - 0.6)).toBeLessThan(0.05);
    expect(Math.abs(share(b) - 0.3)).toBeLessThan(0.05);
    expect(Math.abs(share(c) - 0.1)).toBeLessThan(0.05);
    expect(report.delivered[uriOf(backup)]).toBeUndefined();
    // each PBX counted, on its side, the calls the report says it got (SIPp writes its counters every second)
    await waitFor(() => [a, b, c].every((s) => successes(s) === report.delivered[uriOf(s)]), {
      timeoutMs: 10_000,
      what: 'the PBXs to count every call',
      detail: () => [a, b, c, backup].map((s) => `${uriOf(s)}: ${successes(s)} ok ${failures(s)} failed`).join(', '),
    });
    expect(successes(backup) + failures(backup)).toBe(0);
    await expectAllReleased(g);
  });
});

describe('failover (the provider\'s rules)', () => {
  it('a URI answering 503 fails over to the next priority (alert 32011 per attempt); the call is answered there', async () => {
    const down = await pbx(rejecting(503, 'Service Unavailable'));
    const up = await pbx(ANSWER);
    const g = await gatewayWith({ uris: [{ uri: uriOf(down), priority: 10 }, { uri: uriOf(up), priority: 20 }] });
    const report = await runToEnd(g, { trunk: 'demo', rate: 20, calls: 10 });
    expect(report).toMatchObject({ state: 'completed', offered: 10, failovers: 10, answers: { '503': 10, '200': 10 }, outcomes: { answered: 10 } });
    expect(report.delivered).toEqual({ [uriOf(up)]: 10 });
    expect(g.alerts.list().filter((a) => a.code === 32011)).toHaveLength(10);
    await waitFor(() => successes(down) === 10 && successes(up) === 10, { what: 'both PBXs to count 10 calls', detail: () => `${successes(down)} ${successes(up)}` });
    await expectAllReleased(g);
  });

  it('a URI answering 486 does not fail over: the call ends busy there, the next URI never sees it', async () => {
    const busy = await pbx(rejecting(486, 'Busy Here'));
    const other = await pbx(ANSWER);
    const g = await gatewayWith({ uris: [{ uri: uriOf(busy), priority: 10 }, { uri: uriOf(other), priority: 20 }] });
    const report = await runToEnd(g, { trunk: 'demo', rate: 20, calls: 10 });
    expect(report).toMatchObject({ state: 'completed', offered: 10, failovers: 0, answers: { '486': 10 }, outcomes: { rejected: 10 } });
    expect(report.delivered).toEqual({ [uriOf(busy)]: 10 });
    expect(g.alerts.list().filter((a) => a.code === 32011)).toHaveLength(0);
    await waitFor(() => successes(busy) === 10, { what: 'the busy PBX to count 10 calls' });
    expect(successes(other) + failures(other)).toBe(0);
    await expectAllReleased(g);
  });

  it('a silent URI fails over after 4 s without any response, not before (timestamps on both PBXs)', async () => {
    const silent = await pbx(SILENT, [], { traceMessages: true, timeoutSeconds: 30 });
    const up = await pbx(ANSWER, [], { traceMessages: true, timeoutSeconds: 30 });
    const g = await gatewayWith({ uris: [{ uri: uriOf(silent), priority: 10 }, { uri: uriOf(up), priority: 20 }] });
    const report = await runToEnd(g, { trunk: 'demo', rate: 1, calls: 1 }, 20_000);
    expect(report).toMatchObject({ state: 'completed', failovers: 1, answers: { 'no-response': 1, '200': 1 }, outcomes: { answered: 1 } });
    // SIPp writes its message log as it goes; the INVITE (and its retransmissions) at the silent one, then the INVITE at the next
    sipps.splice(0).forEach((s) => s.kill('SIGKILL'));
    const first = parseMessageLog((await silent.done).messageLog ?? '').find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE'));
    const second = parseMessageLog((await up.done).messageLog ?? '').find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE'));
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    const gapMs = (second?.atMs ?? 0) - (first?.atMs ?? 0);
    expect(gapMs).toBeGreaterThanOrEqual(3990);
    expect(gapMs).toBeLessThan(5500);
    await expectAllReleased(g);
  });

  it('every URI failing goes to the disaster-recovery webhook: its TwiML runs, signed, with the call still holding its trunk lease', async () => {
    app = await startVoiceApp(AUTH_TOKEN, { '/dr': { twiml: '<Response><Say>We are sorry, the office is closed.</Say><Hangup/></Response>' } });
    const down = await pbx(rejecting(503, 'Service Unavailable'));
    const forbidden = await pbx(rejecting(403, 'Forbidden'));
    const g = await gatewayWith({ uris: [{ uri: uriOf(down), priority: 10 }, { uri: uriOf(forbidden), priority: 20 }], disasterRecoveryUrl: `${app.base}/dr` });
    const api = adminClient(g);
    const started = await api.post<RunReport>('/v1/origination', { trunk: 'demo', rate: 10, calls: 3, holdMs: 60_000, from: '+12125550100' });
    expect(started.status).toBe(201);
    const fetches = await app.waitFor('/dr', 3);
    for (const f of fetches) {
      expect(f.signatureValid).toBe(true);
      expect(f.params).toMatchObject({ To: NUMBER, From: '+12125550100', Direction: 'inbound', CallStatus: 'ringing', AccountSid: generatedAccountSid('demo') });
      expect(f.params['CallSid']).toMatch(/^CA[0-9a-f]{32}$/);
    }
    // the <Say> takes its time: meanwhile the calls hold their trunk leases (and no voice lease)
    expect(g.directory.trunks.get('demo')?.leaseScope.active).toBe(3);
    const report = await waitFor(async () => {
      const r = await api.get<RunReport>(`/v1/origination/${started.json.id}`);
      return r.json.state === 'completed' ? r.json : undefined;
    }, { timeoutMs: 20_000, what: 'the run to complete' });
    expect(report).toMatchObject({ offered: 3, failovers: 6, answers: { '503': 3, '403': 3 }, outcomes: { disaster_recovery: 3 } });
    expect(report.delivered).toEqual({ [`${app.base}/dr`]: 3 });
    await expectAllReleased(g);
  });

  it('no enabled URI: alert 32010, and without a disaster-recovery URL the call is not delivered', async () => {
    const off = await pbx(ANSWER);
    const g = await gatewayWith({ uris: [{ uri: uriOf(off), enabled: false }] });
    const report = await runToEnd(g, { trunk: 'demo', rate: 10, calls: 2 });
    expect(report).toMatchObject({ offered: 2, delivered: {}, outcomes: { failed: 2 } });
    expect(g.alerts.list().filter((a) => a.code === 32010)).toHaveLength(2);
    expect(successes(off) + failures(off)).toBe(0);
    await expectAllReleased(g);
  });
});

describe('the INVITE the PBX receives', () => {
  it('carries the dialled number in the Request-URI and Diversion, X-Twilio-AccountSid, X-Twilio-CallSid, User-Agent: Twilio Gateway, Max-Forwards: 60 and the URI\'s X- header (SIPp checks each; the bytes compared)', async () => {
    const p = await pbx(HEADERS, [], { traceMessages: true, timeoutSeconds: 30 });
    const g = await gatewayWith({ uris: [{ uri: uriOf(p, '?X-Site=paris') }] });
    const report = await runToEnd(g, { trunk: 'demo', rate: 1, calls: 1, holdMs: 200, from: '+12125550100' });
    expect(report).toMatchObject({ outcomes: { answered: 1 }, answers: { '200': 1 } });
    await waitFor(() => successes(p) === 1, { what: 'the PBX to accept the headers', detail: () => `failed ${failures(p)}: ${p.errors()}` });
    expect(failures(p)).toBe(0);
    p.kill('SIGKILL');
    const invite = parseMessageLog((await p.done).messageLog ?? '').find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE'));
    if (invite === undefined) throw new Error('no INVITE in the message log');
    const lines = invite.text.split(/\r?\n/);
    expect(lines[0]).toBe(`INVITE sip:${NUMBER}@127.0.0.1:${p.localPort} SIP/2.0`);
    const header = (name: string): string[] => lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    expect(header('Diversion')).toEqual([`Diversion: <sip:${NUMBER}@twilio.com>;reason=unconditional`]);
    expect(header('X-Twilio-AccountSid')).toEqual([`X-Twilio-AccountSid: ${generatedAccountSid('demo')}`]);
    expect(header('X-Twilio-CallSid')).toHaveLength(1);
    expect(header('X-Twilio-CallSid')[0]).toMatch(/^X-Twilio-CallSid: CA[0-9a-f]{32}$/);
    expect(header('User-Agent')).toEqual(['User-Agent: Twilio Gateway']);
    expect(header('Max-Forwards')).toEqual(['Max-Forwards: 60']);
    expect(header('X-Site')).toEqual(['X-Site: paris']);
    expect(header('From')[0]).toMatch(/^From: <sip:\+12125550100@127\.0\.0\.1:\d+>;tag=[0-9a-f]+$/);
    expect(header('To')).toEqual([`To: <sip:${NUMBER}@127.0.0.1:${p.localPort}>`]);
    expect(header('Content-Type')).toEqual(['Content-Type: application/sdp']);
    expect(invite.text).toMatch(/m=audio \d+ RTP\/AVP 0 8\r?\n/);
    await expectAllReleased(g);
  });

  it('a URI with a user part keeps it in the Request-URI (the dialled number stays in To and Diversion)', async () => {
    const p = await pbx(ANSWER, [], { traceMessages: true, timeoutSeconds: 30 });
    const g = await gatewayWith({ uris: [{ uri: `sip:reception@127.0.0.1:${p.localPort}` }] });
    await runToEnd(g, { trunk: 'demo', rate: 1, calls: 1 });
    p.kill('SIGKILL');
    const invite = parseMessageLog((await p.done).messageLog ?? '').find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE'));
    expect(invite?.startLine).toBe(`INVITE sip:reception@127.0.0.1:${p.localPort} SIP/2.0`);
    expect(invite?.text).toContain(`Diversion: <sip:${NUMBER}@twilio.com>;reason=unconditional`);
    await expectAllReleased(g);
  });
});

describe('a number with a voice URL', () => {
  it('goes to its webhook instead of a trunk: TwiML fetched (signed, Direction inbound), counted in the account\'s voice concurrency', async () => {
    app = await startVoiceApp(AUTH_TOKEN, { '/voice': { twiml: '<Response><Pause length="1"/><Hangup/></Response>' } });
    const g = await startTestGateway({
      accounts: [{ name: 'demo', type: 'individual-pcp', authToken: AUTH_TOKEN, numbers: [{ number: '+14155550111', voiceUrl: `${app.base}/voice` }] }],
      trunks: [{ name: 'demo', account: 'demo', cps: { default: 100_000 }, auth: { ipAcl: ['127.0.0.0/8'] }, route: 'builtin' }],
    });
    gateway = g;
    const api = adminClient(g);
    // individual-pcp: 3 concurrent voice calls; 5 at once: 3 answered by the webhook, 2 not delivered
    const started = await api.post<RunReport>('/v1/origination', { trunk: 'demo', rate: 1000, calls: 5, holdMs: 30_000, to: '+14155550111' });
    expect(started.status, started.text).toBe(201);
    const report = await waitFor(async () => {
      const r = await api.get<RunReport>(`/v1/origination/${started.json.id}`);
      return r.json.state === 'completed' ? r.json : undefined;
    }, { timeoutMs: 20_000, what: 'the run to complete' });
    expect(report).toMatchObject({ offered: 5, refusedAtCap: 2, outcomes: { webhook: 3, concurrency_limited: 2 } });
    expect(report.delivered).toEqual({ [`${app.base}/voice`]: 3 });
    const fetches = app.to('/voice');
    expect(fetches).toHaveLength(3);
    expect(fetches[0]?.params).toMatchObject({ To: '+14155550111', Direction: 'inbound', CallStatus: 'ringing' });
    expect(fetches.every((f) => f.signatureValid)).toBe(true);
    await expectAllReleased(g);
  });
});

describe('bad runs get a clear answer', () => {
  it('unknown trunk, no numbers, a number elsewhere, bad fields; an unknown run', async () => {
    const g = await gatewayWith({ uris: [] , numbers: [] });
    const api = adminClient(g);
    expect((await api.post('/v1/origination', { trunk: 'nope', rate: 1, calls: 1 })).json).toMatchObject({ code: 'TRUNK_NOT_FOUND' });
    expect((await api.post('/v1/origination', { trunk: 'demo', rate: 1, calls: 1 })).json).toMatchObject({ code: 'ORIGINATION_NO_NUMBERS' });
    const elsewhere = await api.post('/v1/origination', { trunk: 'demo', rate: 1, calls: 1, to: '+14155559999' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json).toMatchObject({ code: 'ORIGINATION_NUMBER_ELSEWHERE' });
    const bad = await api.post<{ code: string; message: string }>('/v1/origination', { trunk: 'demo', rate: 0, calls: 1.5, holdMs: -1, to: '4155550100', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('BAD_BODY');
    for (const field of ['rate', 'calls', 'holdMs', 'to', 'extra']) expect(bad.json.message).toContain(field);
    expect((await api.get('/v1/origination/OR0')).json).toMatchObject({ code: 'ORIGINATION_RUN_NOT_FOUND' });
    expect((await api.request('POST', '/v1/origination', { raw: '{"trunk":"demo"', contentType: 'application/json' })).json).toMatchObject({ code: 'BAD_BODY' });
  });
});
