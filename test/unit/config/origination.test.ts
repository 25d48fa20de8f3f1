/**
 * The inbound side's configuration (SPEC §11, §13): origination URIs with
 * priority and weight, the disaster-recovery URL, the trunk's numbers and
 * the account's numbers, transferMode; every problem reported with its path.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { parseOriginationUri } from '../../../src/config/origination-uri.js';

const ACCOUNT = { name: 'acme', type: 'business-pcp' };

function problems(raw: unknown): Array<{ path: string; message: string }> {
  const r = validateConfig(raw);
  return r.ok ? [] : r.problems.map((p) => ({ path: p.path, message: p.message }));
}

describe('origination URIs', () => {
  it('default priority 10, weight 10, enabled; the disaster-recovery method POST', () => {
    const r = validateConfig({ accounts: [ACCOUNT], trunks: [{ name: 'acme', account: 'acme', origination: { uris: [{ uri: 'sip:127.0.0.1:5080' }], disasterRecoveryUrl: 'http://127.0.0.1:3000/dr', numbers: ['+14155550100'] } }] });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.trunks[0]?.origination).toEqual({
      uris: [{ uri: 'sip:127.0.0.1:5080', priority: 10, weight: 10, enabled: true }],
      disasterRecoveryUrl: 'http://127.0.0.1:3000/dr',
      disasterRecoveryMethod: 'POST',
      numbers: ['+14155550100'],
    });
    expect(r.config.trunks[0]?.transferMode).toBe('disable-all');
  });

  it('checks each field with its path: at most 10 URIs, priority 0-65535, weight 1-65535, no DNS names, an http(s) URL', () => {
    const eleven = Array.from({ length: 11 }, (_, i) => ({ uri: `sip:127.0.0.1:${5080 + i}` }));
    const p = problems({
      accounts: [ACCOUNT],
      trunks: [
        { name: 'a', account: 'acme', origination: { uris: eleven } },
        {
          name: 'b',
          account: 'acme',
          transferMode: 'pstn-only',
          origination: {
            uris: [{ uri: 'sip:pbx.example.com:5060' }, { uri: 'sip:127.0.0.1', priority: 70_000 }, { uri: 'sip:127.0.0.1', weight: 0 }, { uri: 'http://127.0.0.1' }],
            disasterRecoveryUrl: 'ftp://x',
            numbers: ['4155550100'],
          },
        },
      ],
    });
    const paths = p.map((x) => x.path);
    expect(paths).toContain('trunks[0].origination.uris');
    expect(p.find((x) => x.path === 'trunks[0].origination.uris')?.message).toMatch(/at most 10/);
    expect(p.find((x) => x.path === 'trunks[1].origination.uris[0].uri')?.message).toMatch(/no DNS/);
    expect(paths).toContain('trunks[1].origination.uris[1].priority');
    expect(paths).toContain('trunks[1].origination.uris[2].weight');
    expect(paths).toContain('trunks[1].origination.uris[3].uri');
    expect(paths).toContain('trunks[1].origination.disasterRecoveryUrl');
    expect(paths).toContain('trunks[1].origination.numbers[0]');
    expect(paths).toContain('trunks[1].transferMode');
  });

  it('a tcp or tls URI needs a listener of its transport; a secure trunk needs tls', () => {
    const p = problems({
      sip: { listen: ['udp://127.0.0.1:5060'] },
      accounts: [ACCOUNT],
      trunks: [{ name: 'a', account: 'acme', origination: { uris: [{ uri: 'sip:127.0.0.1:5080;transport=tcp' }, { uri: 'sips:127.0.0.1' }] } }],
    });
    expect(p.map((x) => x.path)).toEqual(['trunks[0].origination.uris[0].uri', 'trunks[0].origination.uris[1].uri']);
  });
});

describe('numbers', () => {
  it('a number belongs to one place; an account number names a trunk of its own account, or a voice URL, not both', () => {
    const p = problems({
      accounts: [
        { ...ACCOUNT, numbers: [{ number: '+14155550100', trunk: 'other' }, { number: '+14155550101', trunk: 'a', voiceUrl: 'http://127.0.0.1/v' }, { number: '+14155550102', trunk: 'nope' }, { number: '+14155550103', voiceUrl: 'http://127.0.0.1/v' }] },
        { name: 'beta', type: 'trial', numbers: [{ number: '+14155550103' }] },
      ],
      trunks: [
        { name: 'a', account: 'acme', origination: { numbers: ['+14155550104', '+14155550104'] } },
        { name: 'other', account: 'beta' },
      ],
    });
    const by = Object.fromEntries(p.map((x) => [x.path, x.message]));
    expect(by['accounts[0].numbers[0].trunk']).toMatch(/another account/);
    expect(by['accounts[0].numbers[1]']).toMatch(/not both/);
    expect(by['accounts[0].numbers[2].trunk']).toMatch(/no trunk named "nope"/);
    expect(by['accounts[1].numbers[0].number']).toMatch(/already a number of accounts\[0\]/);
    expect(by['trunks[0].origination.numbers[1]']).toMatch(/already a number of trunks\[0\]/);
  });

  it('the same number in a trunk and in its account with that trunk says one thing twice: fine', () => {
    expect(problems({ accounts: [{ ...ACCOUNT, numbers: [{ number: '+14155550100', trunk: 'a' }] }], trunks: [{ name: 'a', account: 'acme', origination: { numbers: ['+14155550100'] } }] })).toEqual([]);
  });
});

describe('parseOriginationUri', () => {
  it('reads transport, port defaults, a fixed user and X- headers', () => {
    const r = parseOriginationUri('sip:pbx@127.0.0.1:5070;transport=tcp;edge=ashburn?X-Site=paris&X-Route=a%20b');
    expect(r).toEqual({ ok: true, target: { uri: 'sip:pbx@127.0.0.1:5070;transport=tcp;edge=ashburn?X-Site=paris&X-Route=a%20b', transport: 'tcp', address: '127.0.0.1', port: 5070, portGiven: true, user: 'pbx', headers: [['X-Site', 'paris'], ['X-Route', 'a b']] } });
    const s = parseOriginationUri('sips:[::1]');
    expect(s.ok && s.target).toMatchObject({ transport: 'tls', address: '::1', port: 5061, user: undefined });
    const l = parseOriginationUri('sip:localhost');
    expect(l.ok && l.target).toMatchObject({ transport: 'udp', address: '127.0.0.1', port: 5060 });
  });

  it.each([
    ['sip:pbx.example.com', /no DNS/],
    ['sip:127.0.0.1;transport=sctp', /udp, tcp or tls/],
    ['sip:127.0.0.1;maddr=1.2.3.4', /unknown URI parameter/],
    ['sip:127.0.0.1?Subject=x', /only X- headers/],
    ['sip:127.0.0.1?X-Twilio-CallSid=x', /provider's own/],
    ['tel:+14155550100', /expected sip:/],
    ['sip:127.0.0.1:0', /1-65535/],
  ])('refuses %s', (uri, message) => {
    const r = parseOriginationUri(uri);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(message);
  });
});
