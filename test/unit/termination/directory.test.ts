import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import type { AccountConfig, Config } from '../../../src/config/schema.js';
import { Directory, maxCallDurationMs } from '../../../src/termination/directory.js';
import { EDGES, edgeByLabel } from '../../../src/termination/edges.js';

function config(raw: unknown): Config {
  const r = validateConfig(raw);
  if (!r.ok) throw new Error(`invalid test config:\n${JSON.stringify(r.problems, null, 2)}`);
  return r.config;
}

function account(raw: Record<string, unknown>): AccountConfig {
  const a = config({ accounts: [{ name: 'a', ...raw }] }).accounts[0];
  if (a === undefined) throw new Error('no account');
  return a;
}

const RAW = {
  accounts: [
    { name: 'acme', type: 'business-pcp' },
    { name: 'tri', type: 'trial' },
  ],
  trunks: [
    { name: 'acme', account: 'acme' },
    { name: 'eu', account: 'acme', region: 'ie1', auth: { ipAcl: ['10.0.0.0/8'] } },
    { name: 'trial-1', account: 'tri' },
  ],
};

const directory = new Directory(config(RAW));

function where(host: string): { trunk: string; edge: string | undefined; region: string } | undefined {
  const m = directory.match(host);
  return m === undefined ? undefined : { trunk: m.trunk.name, edge: m.edge, region: m.region };
}

describe('edges (SPEC §2.1 table)', () => {
  it('has the eight edges with their legacy ids and regions', () => {
    expect(EDGES.map((e) => [e.edge, e.legacy, e.region])).toEqual([
      ['ashburn', 'us1', 'us1'],
      ['umatilla', 'us2', 'us2'],
      ['dublin', 'ie1', 'ie1'],
      ['frankfurt', 'de1', 'de1'],
      ['singapore', 'sg1', 'sg1'],
      ['tokyo', 'jp1', 'jp1'],
      ['sao-paulo', 'br1', 'br1'],
      ['sydney', 'au1', 'au1'],
    ]);
  });

  it('edgeByLabel finds an edge by name, legacy id and -ix variant, in any case', () => {
    expect(edgeByLabel('dublin')?.region).toBe('ie1');
    expect(edgeByLabel('ie1')?.edge).toBe('dublin');
    expect(edgeByLabel('dublin-ix')?.edge).toBe('dublin');
    expect(edgeByLabel('ie1-ix')?.edge).toBe('dublin');
    expect(edgeByLabel('DUBLIN')?.edge).toBe('dublin');
    expect(edgeByLabel('paris')).toBeUndefined();
    expect(edgeByLabel('')).toBeUndefined();
    expect(edgeByLabel('dublin-ix-ix')).toBeUndefined();
  });
});

describe('Directory.match: Request-URI host → trunk, edge, region (SPEC §2.1)', () => {
  it('<trunk>.pstn.twilio.com: no edge, the trunk home region', () => {
    expect(where('acme.pstn.twilio.com')).toEqual({ trunk: 'acme', edge: undefined, region: 'us1' });
    expect(where('eu.pstn.twilio.com')).toEqual({ trunk: 'eu', edge: undefined, region: 'ie1' });
  });

  describe.each(EDGES.map((e) => [e.edge, e.legacy, e.region] as const))('edge %s (legacy %s, region %s)', (edge, legacy, region) => {
    it.each([
      [`eu.pstn.${edge}.twilio.com`],
      [`eu.pstn.${legacy}.twilio.com`],
      [`eu.pstn.${edge}-ix.twilio.com`],
      [`eu.pstn.${legacy}-ix.twilio.com`],
      [`EU.PSTN.${edge.toUpperCase()}.TWILIO.COM`],
      [`eu.pstn.${edge}.twilio.com.`],
    ])('%s', (host) => {
      // The named edge decides the region, not the trunk's home region (ie1).
      expect(where(host)).toEqual({ trunk: 'eu', edge, region });
    });
  });

  it('is case-insensitive and takes a trailing dot (a fully qualified name)', () => {
    expect(where('Acme.PSTN.Twilio.Com')).toEqual({ trunk: 'acme', edge: undefined, region: 'us1' });
    expect(where('acme.pstn.twilio.com.')).toEqual({ trunk: 'acme', edge: undefined, region: 'us1' });
    expect(where('TRIAL-1.pstn.Umatilla.twilio.com.')).toEqual({ trunk: 'trial-1', edge: 'umatilla', region: 'us2' });
  });

  it.each([
    ['an unknown trunk', 'nobody.pstn.twilio.com'],
    ['an unknown trunk at an edge', 'nobody.pstn.ashburn.twilio.com'],
    ['an unknown edge', 'acme.pstn.paris.twilio.com'],
    ['an unknown legacy id', 'acme.pstn.us9.twilio.com'],
    ['a double -ix', 'acme.pstn.ashburn-ix-ix.twilio.com'],
    ['an edge with a dot in it', 'acme.pstn.ashburn.us1.twilio.com'],
    ['an empty edge label', 'acme.pstn..twilio.com'],
    ['the wrong suffix', 'acme.pstn.example.com'],
    ['the wrong first label', 'acme.sip.twilio.com'],
    ['the wrong first label with an edge', 'acme.sip.ashburn.twilio.com'],
    ['the suffix alone', 'pstn.twilio.com'],
    ['the trunk name alone', 'acme'],
    ['an IP address', '127.0.0.1'],
    ['an IPv6 address', '[::1]'],
    ['an empty host', ''],
    ['a leading dot', '.acme.pstn.twilio.com'],
    ['extra labels after the suffix', 'acme.pstn.twilio.com.evil.example'],
    ['extra labels before the trunk', 'x.acme.pstn.twilio.com'],
  ])('%s → undefined (%s)', (_what, host) => {
    expect(directory.match(host)).toBeUndefined();
  });

  it('a custom sip.domainSuffix replaces pstn.twilio.com, in both shapes', () => {
    const d = new Directory(config({ ...RAW, sip: { domainSuffix: 'trunks.example.test' } }));
    const m = (host: string): unknown => {
      const r = d.match(host);
      return r && { trunk: r.trunk.name, edge: r.edge, region: r.region };
    };
    expect(m('acme.trunks.example.test')).toEqual({ trunk: 'acme', edge: undefined, region: 'us1' });
    expect(m('acme.trunks.sydney.example.test')).toEqual({ trunk: 'acme', edge: 'sydney', region: 'au1' });
    expect(m('ACME.Trunks.Example.Test.')).toEqual({ trunk: 'acme', edge: undefined, region: 'us1' });
    expect(m('acme.pstn.twilio.com')).toBeUndefined();
    expect(m('acme.pstn.sydney.twilio.com')).toBeUndefined();
  });

  it('a two-label domainSuffix: the edge goes between its labels', () => {
    const d = new Directory(config({ ...RAW, sip: { domainSuffix: 'pstn.test' } }));
    expect(d.match('acme.pstn.test')?.region).toBe('us1');
    expect(d.match('acme.pstn.tokyo.test')?.region).toBe('jp1');
    expect(d.match('acme.pstn.twilio.com')).toBeUndefined();
  });

  describe('sip.fallbackTrunk', () => {
    const d = new Directory(config({ ...RAW, sip: { fallbackTrunk: 'eu' } }));

    it.each(['127.0.0.1', 'nobody.pstn.twilio.com', 'acme.pstn.paris.twilio.com', 'acme.example.com', ''])(
      'takes %j, in its home region',
      (host) => {
        const r = d.match(host);
        expect(r?.trunk.name).toBe('eu');
        expect(r?.edge).toBeUndefined();
        expect(r?.region).toBe('ie1');
      },
    );

    it('does not take hosts that name a trunk', () => {
      expect(d.match('acme.pstn.twilio.com')?.trunk.name).toBe('acme');
      expect(d.match('trial-1.pstn.dublin.twilio.com')?.trunk.name).toBe('trial-1');
    });
  });
});

describe('Directory compiled trunks', () => {
  it('holds every trunk with its account, and every account', () => {
    expect([...directory.trunks.keys()]).toEqual(['acme', 'eu', 'trial-1']);
    expect([...directory.accounts.keys()]).toEqual(['acme', 'tri']);
    expect(directory.trunks.get('trial-1')?.account.name).toBe('tri');
    expect(directory.trunks.get('eu')?.config.region).toBe('ie1');
  });

  it('has an ACL matcher only when the trunk has an IP ACL', () => {
    expect(directory.trunks.get('acme')?.aclAllows).toBeUndefined();
    const allows = directory.trunks.get('eu')?.aclAllows;
    expect(allows?.('10.1.2.3')).toBe(true);
    expect(allows?.('127.0.0.1')).toBe(false);
  });

  it('has the maximum call duration of its account', () => {
    expect(directory.trunks.get('acme')?.maxDurationMs).toBe(4 * 3_600_000);
    expect(directory.trunks.get('trial-1')?.maxDurationMs).toBe(10 * 60_000);
  });

  it('throws on a trunk whose account is missing (validation forbids it: a bug)', () => {
    const c = config(RAW);
    expect(() => new Directory({ ...c, trunks: [{ ...(c.trunks[0] as Config['trunks'][number]), account: 'ghost' }] })).toThrow(
      'trunk acme: no account ghost',
    );
  });
});

describe('maxCallDurationMs (SPEC §4.4)', () => {
  it.each([
    ['business-pcp', 4 * 3_600_000],
    ['individual-pcp', 4 * 3_600_000],
    ['no-pcp', 4 * 3_600_000],
    ['trial', 10 * 60_000],
  ])('%s: %i ms', (type, ms) => {
    expect(maxCallDurationMs(account({ type }))).toBe(ms);
  });

  it('extendedCallDuration: 24 h', () => {
    expect(maxCallDurationMs(account({ type: 'business-pcp', extendedCallDuration: true }))).toBe(24 * 3_600_000);
  });

  it('a trial account stays at 10 min even with extendedCallDuration', () => {
    expect(maxCallDurationMs(account({ type: 'trial', extendedCallDuration: true }))).toBe(10 * 60_000);
  });

  it('limits.maxCallDurationSeconds overrides every type', () => {
    expect(maxCallDurationMs(account({ type: 'trial', limits: { maxCallDurationSeconds: 3600 } }))).toBe(3_600_000);
    expect(maxCallDurationMs(account({ type: 'business-pcp', extendedCallDuration: true, limits: { maxCallDurationSeconds: 2 } }))).toBe(
      2000,
    );
    expect(maxCallDurationMs(account({ type: 'business-pcp', limits: { maxCallDurationSeconds: 0.25 } }))).toBe(250);
  });
});
