import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH, readConfigRaw, validateConfig } from '../../../src/config/load.js';
import { applyOverrides } from '../../../src/config/overrides.js';
import type { Config } from '../../../src/config/schema.js';

const RAW = {
  accounts: [
    { name: 'other', type: 'trial' },
    { name: 'acme', type: 'business-pcp' },
  ],
  trunks: [
    { name: 'first', account: 'acme', cps: { default: 1, ie1: 3 } },
    { name: 'second', account: 'other' },
  ],
};

function valid(raw: unknown): Config {
  const r = validateConfig(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('applyOverrides (SPEC §7.1 quick overrides)', () => {
  it('--cps sets the first trunk CPS in every region (the region entries go)', () => {
    const c = valid(applyOverrides(RAW, { cps: 7 }));
    expect(c.trunks[0]?.cps).toEqual({ default: 7 });
    expect(c.trunks[1]?.cps).toEqual({ default: 1 });
  });

  it('--max-concurrent sets the first trunk cap', () => {
    const c = valid(applyOverrides(RAW, { maxConcurrent: 3 }));
    expect(c.trunks[0]?.maxConcurrentCalls).toBe(3);
    expect(c.trunks[1]?.maxConcurrentCalls).toBeNull();
  });

  it('--route sets the first trunk route', () => {
    const c = valid(applyOverrides(RAW, { route: 'sip:127.0.0.1:5080;transport=tcp' }));
    expect(c.trunks[0]?.route).toBe('sip:127.0.0.1:5080;transport=tcp');
    expect(c.trunks[1]?.route).toBe('builtin');
  });

  it("--account-type changes the first trunk's account, not the first account", () => {
    const c = valid(applyOverrides(RAW, { accountType: 'individual-pcp' }));
    expect(c.accounts.find((a) => a.name === 'acme')?.type).toBe('individual-pcp');
    expect(c.accounts.find((a) => a.name === 'other')?.type).toBe('trial');
  });

  it('--sip-listen replaces the listen list; --http-listen the HTTP address', () => {
    const c = valid(applyOverrides(RAW, { sipListen: ['udp://127.0.0.1:0', 'tcp://[::1]:0'], httpListen: '127.0.0.1:0' }));
    expect(c.sip.listen).toEqual(['udp://127.0.0.1:0', 'tcp://[::1]:0']);
    expect(c.http.listen).toBe('127.0.0.1:0');
  });

  it('keeps the other keys of sip and http', () => {
    const c = valid(
      applyOverrides(
        { sip: { unknownDomain: 'reject' }, http: { token: 'a-long-token' } },
        { sipListen: ['udp://127.0.0.1:0'], httpListen: '127.0.0.1:0' },
      ),
    );
    expect(c.sip.unknownDomain).toBe('reject');
    expect(c.http.token).toBe('a-long-token');
  });

  it('an empty --sip-listen list changes nothing', () => {
    expect(applyOverrides(RAW, { sipListen: [] })).toEqual(RAW);
  });

  it('no overrides: an equal copy', () => {
    const out = applyOverrides(RAW, {});
    expect(out).toEqual(RAW);
    expect(out).not.toBe(RAW);
  });

  it('never changes its input', () => {
    const before = structuredClone(RAW);
    applyOverrides(RAW, {
      cps: 9,
      maxConcurrent: 1,
      route: 'sip:127.0.0.1:1',
      accountType: 'trial',
      sipListen: ['udp://127.0.0.1:0'],
      httpListen: '127.0.0.1:0',
    });
    expect(RAW).toEqual(before);
  });

  it('work on the built-in default configuration', () => {
    const raw = readConfigRaw(DEFAULT_CONFIG_PATH);
    if (!raw.ok) throw new Error(JSON.stringify(raw.problems));
    const c = valid(applyOverrides(raw.raw, { cps: 2, accountType: 'trial', maxConcurrent: 4 }));
    expect(c.trunks[0]).toMatchObject({ name: 'demo', cps: { default: 2 }, maxConcurrentCalls: 4 });
    expect(c.accounts[0]).toMatchObject({ name: 'demo', type: 'trial' });
  });

  describe('a bad value is reported by validateConfig with its path', () => {
    it.each<[string, Parameters<typeof applyOverrides>[1], string, unknown]>([
      ['--route http://x', { route: 'http://x' }, 'trunks[0].route', 'http://x'],
      ['--cps -1', { cps: -1 }, 'trunks[0].cps.default', -1],
      ['--max-concurrent 1.5', { maxConcurrent: 1.5 }, 'trunks[0].maxConcurrentCalls', 1.5],
      ['--account-type gold', { accountType: 'gold' }, 'accounts[1].type', 'gold'],
      ['--sip-listen localhost', { sipListen: ['udp://127.0.0.1:0', 'localhost:5060'] }, 'sip.listen[1]', 'localhost:5060'],
      ['--http-listen 8080', { httpListen: '8080' }, 'http.listen', '8080'],
    ])('%s', (_flag, overrides, path, value) => {
      const r = validateConfig(applyOverrides(RAW, overrides));
      expect(r.ok ? [] : r.problems.map((p) => [p.path, p.value])).toEqual([[path, value]]);
    });
  });

  describe('throws a clear Error when there is no trunk to change', () => {
    it.each<[string, Parameters<typeof applyOverrides>[1]]>([
      ['--cps', { cps: 1 }],
      ['--max-concurrent', { maxConcurrent: 1 }],
      ['--route', { route: 'builtin' }],
      ['--account-type', { accountType: 'trial' }],
    ])('%s', (_flag, overrides) => {
      expect(() => applyOverrides({}, overrides)).toThrow(
        /--cps, --account-type, --max-concurrent and --route change the first trunk, and the configuration has none/,
      );
      expect(() => applyOverrides({ trunks: [] }, overrides)).toThrow(/has none/);
      expect(() => applyOverrides(null, overrides)).toThrow(/has none/);
    });

    it("--account-type when the first trunk's account is not configured", () => {
      expect(() => applyOverrides({ trunks: [{ name: 't', account: 'ghost' }] }, { accountType: 'trial' })).toThrow(
        '--account-type: the first trunk\'s account "ghost" is not configured',
      );
    });

    it('but --sip-listen and --http-listen need no trunk', () => {
      expect(applyOverrides(undefined, { sipListen: ['udp://127.0.0.1:0'], httpListen: '127.0.0.1:0' })).toEqual({
        sip: { listen: ['udp://127.0.0.1:0'] },
        http: { listen: '127.0.0.1:0' },
      });
    });
  });
});
