/**
 * What check-config adds to validation: "did you mean" for unknown keys, the
 * YAML code frame, and the warnings about valid files (src/config/suggest.ts,
 * load.ts, lint.ts).
 */
import { describe, expect, it } from 'vitest';
import { lintConfig, networkOf } from '../../../src/config/lint.js';
import { parseConfigText, validateConfig, yamlErrorMessage } from '../../../src/config/load.js';
import { ConfigSchema } from '../../../src/config/schema.js';
import { allowedKeysAt, closest, editDistance } from '../../../src/config/suggest.js';

describe('did you mean', () => {
  it('finds the keys allowed at a path, through lists and defaults', () => {
    expect(allowedKeysAt(ConfigSchema, [])).toEqual(['sip', 'shutdown', 'http', 'blocklist', 'cps', 'accounts', 'trunks', 'pstn', 'voice', 'security', 'limits', 'instance', 'observability']);
    expect(allowedKeysAt(ConfigSchema, ['sip', 'timers'])).toEqual(['t1Ms', 't2Ms', 't4Ms']);
    expect(allowedKeysAt(ConfigSchema, ['trunks', 0, 'auth'])).toEqual(['ipAcl', 'credentials']);
    expect(allowedKeysAt(ConfigSchema, ['trunks', 0, 'auth', 'credentials', 3])).toEqual(['username', 'password']);
    expect(allowedKeysAt(ConfigSchema, ['nope'])).toEqual([]);
    expect(allowedKeysAt(ConfigSchema, ['trunks', 'x'])).toEqual([]);
  });

  it('suggests the closest key: a typo, a case or dash difference; nothing for a word far from all', () => {
    expect(editDistance('acount', 'account')).toBe(1);
    expect(closest('acount', ['name', 'account', 'region'])).toBe('account');
    expect(closest('unknownDomian', ['listen', 'unknownDomain', 'domainSuffix'])).toBe('unknownDomain');
    expect(closest('ip_acl', ['ipAcl', 'credentials'])).toBe('ipAcl');
    expect(closest('IPACL', ['ipAcl', 'credentials'])).toBe('ipAcl');
    expect(closest('zzz', ['name', 'account', 'region'])).toBeUndefined();
    expect(closest('cp', ['cps', 'burst'])).toBe('cps');
  });

  it('an unknown key is reported with the suggestion', () => {
    const r = validateConfig({ sip: { listn: ['udp://127.0.0.1:5060'] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual([{ path: 'sip.listn', value: ['udp://127.0.0.1:5060'], message: 'unknown key; did you mean "listen"? (see docs/configuration.md)' }]);
  });
});

describe('YAML syntax errors', () => {
  it('carry the line, the column and a code frame of the line before and the line itself', () => {
    expect(yamlErrorMessage('a: 1\nb: [\nc: 2\n', 'Flow sequence … at line 2, column 4:\n\nb: [\n   ^\n', 2, 4)).toBe(
      ['YAML syntax: Flow sequence … (line 2, column 4)', '  1 | a: 1', '> 2 | b: [', '    |    ^'].join('\n'),
    );
    const r = parseConfigText('a: 1\na: 2\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.message).toBe(['YAML syntax: Map keys must be unique (line 2, column 1)', '  1 | a: 1', '> 2 | a: 2', '    | ^'].join('\n'));
  });

  it('without a position: the message alone', () => {
    expect(yamlErrorMessage('', 'Something odd', undefined, undefined)).toBe('YAML syntax: Something odd');
  });
});

describe('warnings about valid files', () => {
  const valid = (raw: unknown) => {
    const r = validateConfig(raw);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.config;
  };

  it('the network of a CIDR, and whether host bits are set', () => {
    expect(networkOf('192.168.1.5/24')).toEqual({ network: '192.168.1.0/24', hostBitsSet: true });
    expect(networkOf('192.168.1.0/24')).toEqual({ network: '192.168.1.0/24', hostBitsSet: false });
    expect(networkOf('10.1.2.3')).toEqual({ network: '10.1.2.3/32', hostBitsSet: false });
    expect(networkOf('172.16.5.4/12')).toEqual({ network: '172.16.0.0/12', hostBitsSet: true });
    expect(networkOf('0.0.0.0/0')).toEqual({ network: '0.0.0.0/0', hostBitsSet: false });
    expect(networkOf('2001:db8::1/64')).toEqual({ network: '2001:db8::/64', hostBitsSet: true });
    expect(networkOf('::1/128')).toEqual({ network: '::1/128', hostBitsSet: false });
    expect(networkOf('fe80::1:2/112')).toEqual({ network: 'fe80::1:0/112', hostBitsSet: true });
    expect(networkOf('::ffff:192.0.2.1/120')).toEqual({ network: '::ffff:c000:200/120', hostBitsSet: true });
    expect(networkOf('nope')).toBeUndefined();
  });

  it('no trunks; a trunk that refuses every call; host bits; none for a sound file', () => {
    expect(lintConfig(valid({})).map((w) => w.path)).toEqual(['trunks']);
    const config = valid({
      accounts: [{ name: 'a', type: 'trial' }],
      trunks: [
        { name: 'open', account: 'a' },
        { name: 'lan', account: 'a', auth: { ipAcl: ['10.0.0.1/8', '127.0.0.1'] } },
        { name: 'auth', account: 'a', auth: { credentials: [{ username: 'u', password: 'p' }] } },
      ],
    });
    expect(lintConfig(config).map((w) => [w.path, w.value])).toEqual([
      ['trunks[0].auth', undefined],
      ['trunks[1].auth.ipAcl[0]', '10.0.0.1/8'],
    ]);
    expect(lintConfig(valid({ accounts: [{ name: 'a', type: 'trial' }], trunks: [{ name: 'a', account: 'a', auth: { ipAcl: ['127.0.0.0/8'] } }] }))).toEqual([]);
  });
});
