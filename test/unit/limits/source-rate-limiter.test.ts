/** SourceRateLimiter (issue 12, Kamailio pike as the model), on a fake clock. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/limits/clock.js';
import { SourceRateLimiter } from '../../../src/limits/source-rate-limiter.js';

const POLICY = { enabled: true, requestsPerSecond: 10, burst: 20, blockMs: 5000 };

describe('SourceRateLimiter', () => {
  it('a quiet source gets its burst at once; the request that finds the bucket empty blocks it for blockMs', () => {
    const clock = new ManualClock(0);
    const l = new SourceRateLimiter(POLICY, clock);
    const first = Array.from({ length: 25 }, () => l.allow('10.0.0.1'));
    expect(first.filter(Boolean)).toHaveLength(20);
    expect(l.blocked()).toEqual(['10.0.0.1']);
    clock.advance(4999);
    expect(l.allow('10.0.0.1')).toBe(false);
    clock.advance(1);
    expect(l.allow('10.0.0.1')).toBe(true);
    expect(l.stats).toEqual({ dropped: 6, blocks: 1 });
  });

  it('sources are independent: a flooding one does not cost another anything', () => {
    const clock = new ManualClock(0);
    const l = new SourceRateLimiter(POLICY, clock);
    for (let i = 0; i < 1000; i++) l.allow('10.0.0.1');
    expect(Array.from({ length: 20 }, () => l.allow('10.0.0.2')).every(Boolean)).toBe(true);
  });

  it('off: everything passes and nothing is tracked; configure() switches at once', () => {
    const clock = new ManualClock(0);
    const l = new SourceRateLimiter({ ...POLICY, enabled: false }, clock);
    expect(Array.from({ length: 1000 }, () => l.allow('10.0.0.1')).every(Boolean)).toBe(true);
    expect(l.size).toBe(0);
    l.configure(POLICY);
    expect(l.enabled).toBe(true);
    expect(Array.from({ length: 21 }, () => l.allow('10.0.0.1')).filter(Boolean)).toHaveLength(20);
    l.configure({ ...POLICY, enabled: false });
    expect(l.allow('10.0.0.1')).toBe(true);
    expect(l.size).toBe(0);
  });

  it('is bounded: the least recently seen source is forgotten first', () => {
    const l = new SourceRateLimiter(POLICY, new ManualClock(0), 2);
    l.allow('a');
    l.allow('b');
    l.allow('a');
    l.allow('c');
    expect(l.size).toBe(2);
  });

  it('property: a source never gets more than burst + rate × elapsed requests through', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 400 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 30 }), (gaps, rate, burst) => {
        const clock = new ManualClock(0);
        const l = new SourceRateLimiter({ enabled: true, requestsPerSecond: rate, burst, blockMs: 1000 }, clock);
        let allowed = 0;
        for (const gap of gaps) {
          clock.advance(gap);
          if (l.allow('s')) allowed++;
        }
        return allowed <= burst + (rate * clock.now()) / 1000 + 1e-9;
      }),
    );
  });
});
