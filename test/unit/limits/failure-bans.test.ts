/** FailureBans (issue 12): failures in a sliding window start a ban; bans end, can be lifted, and the table is bounded. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FailureBans } from '../../../src/limits/failure-bans.js';

const POLICY = { maxFailures: 3, windowMs: 60_000, banMs: 600_000 };

describe('FailureBans', () => {
  it('the maxFailures-th failure within the window starts a ban; earlier ones only count', () => {
    const b = new FailureBans();
    expect(b.fail('1.2.3.4', 0, POLICY)).toEqual({ banned: false, failures: 1 });
    expect(b.fail('1.2.3.4', 1000, POLICY)).toEqual({ banned: false, failures: 2 });
    expect(b.fail('1.2.3.4', 2000, POLICY)).toEqual({ banned: true, started: true, ban: { key: '1.2.3.4', failures: 3, sinceMs: 2000, untilMs: 602_000 } });
    expect(b.banned('1.2.3.4', 601_999)).toBeDefined();
    expect(b.fail('1.2.3.4', 3000, POLICY)).toMatchObject({ banned: true, started: false });
    expect(b.banned('1.2.3.4', 602_000)).toBeUndefined();
    // after the ban the key starts afresh
    expect(b.fail('1.2.3.4', 602_001, POLICY)).toEqual({ banned: false, failures: 1 });
  });

  it('failures older than the window fall out of the count', () => {
    const b = new FailureBans();
    b.fail('k', 0, POLICY);
    b.fail('k', 30_000, POLICY);
    expect(b.fail('k', 60_001, POLICY)).toEqual({ banned: false, failures: 2 });
    expect(b.fail('k', 60_002, POLICY)).toMatchObject({ banned: true, started: true });
  });

  it('keys are independent; list() gives the bans in force, oldest first; clear lifts one, clearAll every one', () => {
    const b = new FailureBans();
    for (const t of [0, 1, 2]) b.fail('b', 10 + t, POLICY);
    for (const t of [0, 1, 2]) b.fail('a', 20 + t, POLICY);
    b.fail('c', 30, POLICY);
    expect(b.list(100).map((x) => x.key)).toEqual(['b', 'a']);
    expect(b.clear('b', 100)).toBe(true);
    expect(b.clear('c', 100)).toBe(false); // failures, no ban
    expect(b.list(100).map((x) => x.key)).toEqual(['a']);
    expect(b.clearAll(100)).toBe(1);
    expect(b.size).toBe(0);
  });

  it('is bounded: beyond maxKeys the least recently failed key without a ban is forgotten', () => {
    const b = new FailureBans(3);
    for (const t of [0, 1, 2]) b.fail('banned', t, POLICY);
    b.fail('x', 10, POLICY);
    b.fail('y', 11, POLICY);
    b.fail('z', 12, POLICY);
    expect(b.size).toBe(3);
    expect(b.banned('banned', 13)).toBeDefined();
    expect(b.fail('y', 14, POLICY)).toEqual({ banned: false, failures: 2 }); // y was kept, x was dropped
    expect(b.fail('x', 15, POLICY)).toEqual({ banned: false, failures: 1 });
  });

  it('property: no key is ever banned after fewer than maxFailures failures within one window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (gaps, maxFailures) => {
        const policy = { maxFailures, windowMs: 60_000, banMs: 1000 };
        const b = new FailureBans();
        let now = 0;
        const times: number[] = [];
        for (const gap of gaps) {
          now += gap;
          const outcome = b.fail('k', now, policy);
          if (outcome.banned && outcome.started) {
            times.push(now);
            const inWindow = times.filter((t) => t > now - policy.windowMs);
            if (inWindow.length < maxFailures) return false;
            times.length = 0;
          } else if (!outcome.banned) times.push(now);
        }
        return true;
      }),
    );
  });
});
