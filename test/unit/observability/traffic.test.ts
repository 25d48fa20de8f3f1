/** The status page's rates (a sliding second of 200 ms buckets) and recent refusals. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/limits/clock.js';
import type { Refusal } from '../../../src/observability/refusal-log.js';
import { Traffic } from '../../../src/observability/traffic.js';

describe('Traffic', () => {
  it('counts offered and admitted INVITEs over the last second, per trunk and region', () => {
    const clock = new ManualClock(50_000);
    const t = new Traffic(() => clock.now());
    for (let i = 0; i < 10; i++) {
      t.attempt('demo', 'us1', i < 4);
      clock.advance(50); // 10 attempts over 500 ms
    }
    t.attempt('demo', 'ie1', true);
    expect(t.rates('demo', 'us1')).toEqual({ offeredPerSecond: 10, admittedPerSecond: 4 });
    expect(t.rates('demo', 'ie1')).toEqual({ offeredPerSecond: 1, admittedPerSecond: 1 });
    expect(t.rates('other', 'us1')).toEqual({ offeredPerSecond: 0, admittedPerSecond: 0 });
    clock.advance(600); // the first 200 ms bucket (4 attempts, all admitted) leaves the window
    expect(t.rates('demo', 'us1')).toEqual({ offeredPerSecond: 6, admittedPerSecond: 0 });
    clock.advance(1000);
    expect(t.rates('demo', 'us1')).toEqual({ offeredPerSecond: 0, admittedPerSecond: 0 });
    // a bucket reused a lap later starts from zero
    t.attempt('demo', 'us1', false);
    expect(t.rates('demo', 'us1').offeredPerSecond).toBe(1);
  });

  it('keeps the most recent refusals, newest first, up to its capacity', () => {
    const t = new Traffic(() => 0, 3);
    const r = (n: number): Refusal => ({ time: n, status: 403, reason: 'Forbidden', outcome: 'forbidden', trunk: 'demo', region: 'us1', callId: `c${n}`, source: 'x', alert: undefined });
    for (let i = 1; i <= 5; i++) t.refused(r(i));
    expect(t.recentRefusals(10).map((x) => x.callId)).toEqual(['c5', 'c4', 'c3']);
    expect(t.recentRefusals(2).map((x) => x.callId)).toEqual(['c5', 'c4']);
  });
});
