/** The security section (issue 12): validation by check-config, the start-up warnings, the limiter's policy. */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { exposureWarnings, isLoopbackAddress, sourceRatePolicy } from '../../../src/config/security.js';

function config(raw: unknown): Config {
  const r = validateConfig(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

function problems(raw: unknown): Array<{ path: string; message: string }> {
  const r = validateConfig(raw);
  return r.ok ? [] : r.problems.map(({ path, message }) => ({ path, message }));
}

describe('validation of the new keys (check-config lists each problem with its path)', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['an unknown algorithm', { security: { digest: { algorithms: ['SHA-512'] } } }, 'security.digest.algorithms[0]', /SHA-256|MD5/],
    ['no algorithm', { security: { digest: { algorithms: [] } } }, 'security.digest.algorithms', /at least one/],
    ['an algorithm twice', { security: { digest: { algorithms: ['MD5', 'MD5'] } } }, 'security.digest.algorithms', /at most once/],
    ['maxFailures 0', { security: { digest: { maxFailures: 0 } } }, 'security.digest.maxFailures', /1/],
    ['a negative ban', { security: { digest: { banSeconds: -1 } } }, 'security.digest.banSeconds', /1/],
    ['a rate of 0', { security: { sourceRateLimit: { requestsPerSecond: 0 } } }, 'security.sourceRateLimit.requestsPerSecond', /above 0/],
    ['a fractional burst', { security: { sourceRateLimit: { burst: 1.5 } } }, 'security.sourceRateLimit.burst', /int/i],
    ['an unknown key', { security: { digest: { maxFailure: 3 } } }, 'security.digest.maxFailure', /unknown key/],
    ['a per-source cap above the global cap', { sip: { maxTcpConnections: 100, maxTcpConnectionsPerSource: 101 } }, 'sip.maxTcpConnectionsPerSource', /at most sip.maxTcpConnections \(100\)/],
    ['metricsRequireToken without a token', { http: { metricsRequireToken: true } }, 'http.metricsRequireToken', /needs http.token/],
    ['an allowed host with a port', { http: { allowedHosts: ['trunkgate:8080'] } }, 'http.allowedHosts[0]', /without a port/],
  ])('%s', (_name, raw, path, message) => {
    const found = problems(raw).filter((p) => p.path === path);
    expect(found, JSON.stringify(problems(raw))).toHaveLength(1);
    expect(found[0]?.message).toMatch(message);
  });

  it('accepts a full security section, and the defaults are what the docs say', () => {
    const c = config({
      sip: { maxTcpConnections: 100, maxTcpConnectionsPerSource: 100 },
      http: { token: 'a-long-token', metricsRequireToken: true, allowedHosts: ['trunkgate', 'gw.lab.example', '192.0.2.1', '[::1]'] },
      security: { digest: { algorithms: ['SHA-256', 'MD5'], maxFailures: 5, failureWindowSeconds: 30, banSeconds: 60 }, sourceRateLimit: { enabled: true, requestsPerSecond: 20, burst: 40, blockSeconds: 10 } },
    });
    expect(c.security.digest.algorithms).toEqual(['SHA-256', 'MD5']);
    expect(sourceRatePolicy(c)).toEqual({ enabled: true, requestsPerSecond: 20, burst: 40, blockMs: 10_000 });
    expect(config({}).security).toEqual({
      digest: { algorithms: ['MD5'], requireUriMatch: true, maxFailures: 10, failureWindowSeconds: 60, banSeconds: 600 },
      sourceRateLimit: { enabled: false, requestsPerSecond: 50, burst: 100, blockSeconds: 30 },
    });
  });
});

describe('start-up warnings for an exposed gateway', () => {
  it('none on loopback (the default)', () => {
    expect(exposureWarnings(config({}))).toEqual([]);
    expect(exposureWarnings(config({ sip: { listen: ['udp://[::1]:5060', 'tcp://127.0.0.2:5060'] }, http: { listen: 'localhost:8080' } }))).toEqual([]);
  });

  it('SIP beyond loopback without per-source rate limiting; HTTP beyond loopback without a token', () => {
    const w = exposureWarnings(config({ sip: { listen: ['udp://0.0.0.0:5060', 'tcp://127.0.0.1:5060'] }, http: { listen: '0.0.0.0:8080' } }));
    expect(w).toEqual([
      expect.stringMatching(/^SIP listens on udp:\/\/0\.0\.0\.0:5060, beyond loopback, without per-source rate limiting.*security\.sourceRateLimit\.enabled: true/),
      expect.stringMatching(/^HTTP listens on 0\.0\.0\.0:8080, beyond loopback, without http\.token.*Set http\.token/),
    ]);
  });

  it('quiet once rate limiting is on and a token is set', () => {
    const c = config({
      sip: { listen: ['udp://[::]:5060'] },
      http: { listen: '[::]:8080', token: 'a-long-token' },
      security: { sourceRateLimit: { enabled: true } },
    });
    expect(exposureWarnings(c)).toEqual([]);
  });

  it('knows loopback', () => {
    expect(['127.0.0.1', '127.8.9.10', '::1', 'localhost'].map(isLoopbackAddress)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '::', '192.0.2.1', '::ffff:10.0.0.1'].map(isLoopbackAddress)).toEqual([false, false, false, false]);
  });
});
