import { describe, expect, it } from 'vitest';
import { cidrMatcher, parseCidr } from '../../../src/config/cidr.js';

describe('parseCidr', () => {
  it.each([
    ['127.0.0.0/8', { address: '127.0.0.0', prefix: 8, family: 'ipv4' }],
    ['192.0.2.7/32', { address: '192.0.2.7', prefix: 32, family: 'ipv4' }],
    ['0.0.0.0/0', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
    ['192.0.2.7', { address: '192.0.2.7', prefix: 32, family: 'ipv4' }],
    ['::1/128', { address: '::1', prefix: 128, family: 'ipv6' }],
    ['2001:db8::/32', { address: '2001:db8::', prefix: 32, family: 'ipv6' }],
    ['::/0', { address: '::', prefix: 0, family: 'ipv6' }],
    ['2001:db8::1', { address: '2001:db8::1', prefix: 128, family: 'ipv6' }],
  ])('%s', (text, cidr) => {
    expect(parseCidr(text)).toEqual(cidr);
  });

  it.each([
    '',
    '/',
    '/8',
    'garbage',
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0.0/-1',
    '10.0.0.0/ 8',
    '10.0.0.0/1e1',
    '256.0.0.0/8',
    '10.0.0/8',
    'localhost/8',
    '[::1]/128',
    '10.0.0.0/0008',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('cidrMatcher', () => {
  it('IPv4 /8 matches inside, not outside', () => {
    const allows = cidrMatcher(['127.0.0.0/8']);
    expect(allows('127.0.0.1')).toBe(true);
    expect(allows('127.255.255.255')).toBe(true);
    expect(allows('128.0.0.1')).toBe(false);
    expect(allows('126.255.255.255')).toBe(false);
  });

  it('IPv4 /32 matches one address', () => {
    const allows = cidrMatcher(['192.0.2.7/32']);
    expect(allows('192.0.2.7')).toBe(true);
    expect(allows('192.0.2.8')).toBe(false);
    expect(allows('192.0.2.6')).toBe(false);
  });

  it('a bare address is a /32', () => {
    const allows = cidrMatcher(['192.0.2.7']);
    expect(allows('192.0.2.7')).toBe(true);
    expect(allows('192.0.2.8')).toBe(false);
  });

  it('IPv4 /0 matches every IPv4 address, and no IPv6 address', () => {
    const allows = cidrMatcher(['0.0.0.0/0']);
    expect(allows('1.2.3.4')).toBe(true);
    expect(allows('255.255.255.255')).toBe(true);
    expect(allows('2001:db8::1')).toBe(false);
  });

  it('IPv6 /128 and /0', () => {
    const one = cidrMatcher(['::1/128']);
    expect(one('::1')).toBe(true);
    expect(one('0:0:0:0:0:0:0:1')).toBe(true);
    expect(one('::2')).toBe(false);
    expect(one('127.0.0.1')).toBe(false);
    const all = cidrMatcher(['::/0']);
    expect(all('2001:db8::1')).toBe(true);
    expect(all('fe80::1')).toBe(true);
  });

  it('IPv6 prefixes', () => {
    const allows = cidrMatcher(['2001:db8::/32']);
    expect(allows('2001:db8:ffff::1')).toBe(true);
    expect(allows('2001:DB8::1')).toBe(true);
    expect(allows('2001:db9::1')).toBe(false);
  });

  it('an IPv4-mapped IPv6 address matches an IPv4 rule', () => {
    const allows = cidrMatcher(['127.0.0.0/8']);
    expect(allows('::ffff:127.0.0.1')).toBe(true);
    expect(allows('::FFFF:127.0.0.1')).toBe(true);
    expect(allows('::ffff:10.0.0.1')).toBe(false);
  });

  it('several rules: any one matches (the default ACL: 127.0.0.0/8 and ::1/128)', () => {
    const allows = cidrMatcher(['127.0.0.0/8', '::1/128']);
    expect(allows('127.0.0.1')).toBe(true);
    expect(allows('::1')).toBe(true);
    expect(allows('::ffff:127.0.0.2')).toBe(true);
    expect(allows('10.0.0.1')).toBe(false);
    expect(allows('::2')).toBe(false);
  });

  it('garbage addresses never match, even with /0 rules', () => {
    const allows = cidrMatcher(['0.0.0.0/0', '::/0']);
    for (const address of ['', 'garbage', 'localhost', '1.2.3', '1.2.3.4.5', '999.1.1.1', '[::1]', '::ffff:999.0.0.1', '127.0.0.1:5060']) {
      expect(allows(address), address).toBe(false);
    }
  });

  it('garbage rules are ignored (validation reports them), the rest still apply', () => {
    const allows = cidrMatcher(['garbage', '10.0.0.0/33', '10.0.0.0/8']);
    expect(allows('10.1.2.3')).toBe(true);
    expect(allows('11.0.0.1')).toBe(false);
  });

  it('no rules match nothing', () => {
    expect(cidrMatcher([])('127.0.0.1')).toBe(false);
  });
});
