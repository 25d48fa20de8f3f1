/** The request guards' decisions (issue 12); real HTTP requests are in test/integration/hardening-admin.test.ts. */
import { describe, expect, it } from 'vitest';
import { hostAllowed, hostName, tokenMatches } from '../../../src/http/guards.js';

describe('hostAllowed (DNS rebinding defence)', () => {
  it.each<[string, string | undefined, readonly string[], boolean]>([
    ['127.0.0.1', '127.0.0.1:8080', [], true],
    ['127.0.0.1', '127.0.0.1', [], true],
    ['127.0.0.1', 'localhost:8080', [], true],
    ['127.0.0.1', 'LOCALHOST:8080', [], true],
    ['127.0.0.1', 'evil.example:8080', [], false],
    ['127.0.0.1', '127.0.0.2:8080', [], false],
    ['127.0.0.1', '10.0.0.5:8080', [], false],
    ['127.0.0.1', undefined, [], false],
    ['127.0.0.1', '', [], false],
    ['127.0.0.1', 'trunkgate:8080', ['trunkgate'], true],
    ['127.0.0.1', 'TrunkGate', ['trunkgate'], true],
    ['::1', '[::1]:8080', [], true],
    ['::1', 'localhost', [], true],
    ['::1', '[::1', [], false],
    ['0.0.0.0', '192.0.2.7:8080', [], true],
    ['0.0.0.0', '[2001:db8::1]:8080', [], true],
    ['0.0.0.0', 'localhost:8080', [], true],
    ['0.0.0.0', 'rebind.evil.example:8080', [], false],
    ['0.0.0.0', 'trunkgate:8080', ['trunkgate'], true],
    ['192.0.2.7', 'localhost:8080', [], false],
    ['192.0.2.7', '192.0.2.7:8080', [], true],
  ])('listening on %s, Host %s (allowed %j) → %s', (listen, host, allowedHosts, ok) => {
    expect(hostAllowed(host, { host: listen, allowedHosts })).toBe(ok);
  });

  it('reads the name out of a Host header', () => {
    expect([hostName('Example.COM:80'), hostName('[::1]:8080'), hostName('[::1]x'), hostName('a:b:c')]).toEqual(['example.com', '::1', undefined, undefined]);
  });
});

describe('tokenMatches', () => {
  const token = 'admin-token-0123456789';
  it.each<[string | undefined, boolean]>([
    [`Bearer ${token}`, true],
    [`bearer ${token}`, true],
    [`Bearer ${token}x`, false],
    [`Bearer ${token.slice(0, -1)}`, false],
    ['Bearer a', false],
    [`Basic ${token}`, false],
    [token, false],
    [undefined, false],
    ['', false],
  ])('%s → %s', (header, ok) => {
    expect(tokenMatches(header, token)).toBe(ok);
  });
});
