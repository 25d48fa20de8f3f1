/** The Calls API's parameters: the provider's error codes for each problem (research §1.2, §1.7). */
import { describe, expect, it } from 'vitest';
import { accountVoiceCap } from '../../../src/limits/account-limits.js';
import { readCreate, readList, readTarget, readUpdate } from '../../../src/voice/api-params.js';
import { VoiceAccounts } from '../../../src/voice/voice-accounts.js';
import { testConfig } from '../../support/gateway.js';

const config = testConfig({
  accounts: [
    { name: 'biz', type: 'business-pcp', authToken: 'token-biz-1', voiceCps: 3 },
    { name: 'trial', type: 'trial', verifiedNumbers: ['+14155550123'], callerIds: ['+15017122661'] },
    { name: 'demo', type: 'business-pcp' },
  ],
});
const accounts = new VoiceAccounts(config);
const biz = accounts.byName.get('biz');
const trial = accounts.byName.get('trial');
const form = (o: Record<string, string | string[]>): URLSearchParams => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) for (const x of [v].flat()) p.append(k, x);
  return p;
};
const code = (r: { ok: boolean; error?: { code: number } }): number | undefined => (r.ok ? undefined : r.error?.code);

describe('readTarget', () => {
  it('E.164 → the emulator; sip: by IP or localhost, udp/tcp; client:NAME', () => {
    expect(readTarget('+14155550123')).toEqual({ ok: true, value: { kind: 'pstn', number: '+14155550123' } });
    expect(readTarget('sip:alice@127.0.0.1:5070;transport=tcp')).toMatchObject({ ok: true, value: { kind: 'sip', user: 'alice', address: '127.0.0.1', port: 5070, transport: 'tcp' } });
    expect(readTarget('sip:localhost')).toMatchObject({ ok: true, value: { kind: 'sip', user: undefined, address: '127.0.0.1', port: 5060 } });
    expect(readTarget('client:alice')).toEqual({ ok: true, value: { kind: 'client', identity: 'alice' } });
    for (const bad of ['4155550123', '+0123', 'sip:alice@pbx.example.com', 'sip:a@127.0.0.1;transport=tls', 'client:', 'tel:+1415']) expect(code(readTarget(bad)), bad).toBe(21211);
  });
});

describe('readCreate', () => {
  const base = { To: '+14155550123', From: '+15017122661', Url: 'https://app.example.com/voice' };
  it('defaults: POST, completed only, Timeout 60, TimeLimit from the account', () => {
    const r = readCreate(form(base), biz!, config, 14_400);
    expect(r.ok && r.value.options).toMatchObject({ source: { kind: 'url', url: base.Url, method: 'POST' }, statusCallbackEvents: new Set(['completed']), timeoutSeconds: 60, timeLimitSeconds: 14_400 });
  });
  it('keeps repeated StatusCallbackEvent keys (and space-separated ones); clamps Timeout to 600', () => {
    const r = readCreate(form({ ...base, StatusCallbackEvent: ['initiated', 'ringing answered'], Timeout: '900' }), biz!, config, 14_400);
    expect(r.ok && [...r.value.options.statusCallbackEvents]).toEqual(['initiated', 'ringing', 'answered']);
    expect(r.ok && r.value.options.timeoutSeconds).toBe(600);
  });
  it.each([
    [{ From: '+15017122661', Url: base.Url }, 21201],
    [{ To: '+14155550123', Url: base.Url }, 21213],
    [{ ...base, From: 'bob' }, 21212],
    [{ ...base, Url: 'http://under_score.example.com/x' }, 21205],
    [{ ...base, FallbackUrl: 'nope' }, 21205],
    [{ ...base, StatusCallback: '/relative' }, 21205],
    [{ ...base, Method: 'DELETE' }, 21209],
    [{ ...base, Timeout: '0' }, 21208],
    [{ ...base, StatusCallbackEvent: 'hungup' }, 20001],
    [{ To: '+14155550123', From: '+15017122661', Twiml: 'x'.repeat(4001) }, 32018],
    [{ To: '+14155550123', From: '+15017122661' }, 21205],
  ])('%j → %i', (f, expected) => {
    expect(code(readCreate(form(f as Record<string, string>), biz!, config, 14_400))).toBe(expected);
  });
  it('Twiml of exactly 4000 characters is fine; Url wins over Twiml (warning 32019)', () => {
    expect(readCreate(form({ To: '+14155550123', From: '+1', Twiml: 'x'.repeat(4000) }), biz!, config, 1).ok).toBe(true);
    const both = readCreate(form({ ...base, Twiml: '<Response/>' }), biz!, config, 1);
    expect(both.ok && both.value.twimlIgnored).toBe(true);
  });
  it("the account's rules: caller IDs 21210, trial verified numbers 21219, geo 21215, blocklist 21216", () => {
    expect(code(readCreate(form({ ...base, From: '+15550000000' }), trial!, config, 600))).toBe(21210);
    expect(code(readCreate(form({ ...base, To: '+14155550199' }), trial!, config, 600))).toBe(21219);
    expect(readCreate(form(base), trial!, config, 600).ok).toBe(true);
    expect(code(readCreate(form({ ...base, To: '+442071234567' }), biz!, config, 600))).toBe(21215);
    expect(code(readCreate(form({ ...base, To: '+19005550100' }), biz!, config, 600))).toBe(21216);
  });
});

describe('readUpdate and readList', () => {
  it('Status is canceled or completed; list filters and paging', () => {
    expect(code(readUpdate(form({ Status: 'busy' }), 600))).toBe(20001);
    expect(readUpdate(form({ Status: 'completed' }), 600)).toMatchObject({ ok: true, value: { status: 'completed' } });
    const l = readList(form({ Status: 'queued', 'StartTime>': '2026-01-01', 'EndTime<': '2026-02-01T00:00:00Z', PageSize: '5000' }));
    expect(l).toMatchObject({ ok: true, value: { status: 'queued', pageSize: 1000, page: 0, startTime: { after: Date.parse('2026-01-01T00:00:00Z') } } });
    expect(code(readList(form({ 'StartTime>': 'yesterday' })))).toBe(20001);
  });
});

describe('voice concurrency caps (SPEC §3)', () => {
  it('trial 5, no-pcp 2, individual 3, business unlimited; legacy unlimited; the override wins', () => {
    const cap = (type: 'trial' | 'no-pcp' | 'individual-pcp' | 'business-pcp', legacy = false, voiceConcurrentCalls?: number | null) => accountVoiceCap({ type, legacy, voiceConcurrentCalls });
    expect([cap('trial'), cap('no-pcp'), cap('individual-pcp'), cap('business-pcp')]).toEqual([5, 2, 3, null]);
    expect(cap('trial', true)).toBe(null);
    expect(cap('business-pcp', false, 7)).toBe(7);
    expect(accounts.byName.get('trial')?.leaseScope.cap).toBe(5);
  });

  it('a reload hands the lease scope and the queue on, with the new settings', () => {
    const next = new VoiceAccounts(testConfig({ accounts: [{ name: 'biz', type: 'no-pcp', authToken: 'token-biz-2', voiceCps: 9 }, { name: 'demo', type: 'business-pcp' }] }), accounts);
    const b = next.byName.get('biz');
    expect(b?.leaseScope).toBe(biz?.leaseScope);
    expect(b?.queue).toBe(biz?.queue);
    expect(b?.leaseScope.cap).toBe(2);
    expect(b?.queue.settings.cps).toBe(9);
  });
});
