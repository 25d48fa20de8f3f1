/**
 * limits.* and instance (SPEC §12, §13): the store URL's forms, its password
 * never printed in a configuration error, the defaults, and the reload
 * warning (the store is connected at start).
 */
import { describe, expect, it } from 'vitest';
import { formatProblems, validateConfig } from '../../../src/config/load.js';
import { restartOnlyChanges } from '../../../src/config/restart-only.js';
import { defaultInstanceName, redactedStoreUrl } from '../../../src/config/schema.js';

function problemsOf(raw: unknown): string {
  const r = validateConfig(raw);
  return r.ok ? '' : formatProblems(r.problems);
}

describe('limits.store', () => {
  it.each(['memory', 'redis://127.0.0.1:6379', 'redis://localhost', 'redis://:s3cret@10.0.0.5:6380/2', 'rediss://user:pw@redis.example:6380/0', 'redis://[::1]:6379'])('accepts %s', (store) => {
    expect(problemsOf({ limits: { store } })).toBe('');
  });

  it.each([
    ['redis', 'expected memory, or redis://'],
    ['http://127.0.0.1:6379', 'not http://'],
    ['redis://127.0.0.1:6379/abc', 'the path is the database number'],
    ['redis://127.0.0.1:6379/0?x=1', 'no query or fragment'],
    ['redis://127.0.0.1:99999', 'expected memory, or redis://'],
  ])('refuses %s, saying what it expects', (store, message) => {
    expect(problemsOf({ limits: { store } })).toContain(message);
  });

  it('a bad URL with a password is reported without the password', () => {
    const text = problemsOf({ limits: { store: 'redis://:Very-secret-9@127.0.0.1:6379/x' } });
    expect(text).toContain('limits.store');
    expect(text).toContain('<redacted>');
    expect(text).not.toContain('Very-secret-9');
  });

  it('redactedStoreUrl hides the password, keeps the rest', () => {
    expect(redactedStoreUrl('redis://:pw@h:1/0')).toBe('redis://:<redacted>@h:1/0');
    expect(redactedStoreUrl('rediss://me:pw@h:1')).toBe('rediss://me:<redacted>@h:1');
    expect(redactedStoreUrl('redis://h:1')).toBe('redis://h:1');
    expect(redactedStoreUrl('memory')).toBe('memory');
  });
});

describe('limits and instance', () => {
  it('defaults: memory, closed, 30 s leases, 500 ms store timeout, prefix trunkgate; instance is the host name', () => {
    const r = validateConfig({});
    if (!r.ok) throw new Error('invalid');
    expect(r.config.limits).toEqual({ store: 'memory', onStoreFailure: 'closed', leaseTtlMs: 30_000, storeTimeoutMs: 500, keyPrefix: 'trunkgate' });
    expect(r.config.instance).toBe(defaultInstanceName());
    expect(r.config.instance).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/);
  });

  it('refuses a bad onStoreFailure, a lease TTL under 1 s, an instance name with spaces', () => {
    const text = problemsOf({ limits: { onStoreFailure: 'maybe', leaseTtlMs: 10 }, instance: 'gw a' });
    expect(text).toContain('limits.onStoreFailure');
    expect(text).toContain('limits.leaseTtlMs');
    expect(text).toContain('instance');
  });

  it('a reload that changes limits or instance warns: they take effect on restart', () => {
    const before = validateConfig({});
    const after = validateConfig({ limits: { store: 'redis://127.0.0.1:6379' }, instance: 'gw-b' });
    if (!before.ok || !after.ok) throw new Error('invalid');
    expect(restartOnlyChanges(before.config, after.config)).toEqual(['limits.* changes take effect on restart', 'instance changes take effect on restart']);
    expect(restartOnlyChanges(before.config, before.config)).toEqual([]);
  });
});
