/**
 * The CPS queue on a fake clock (SPEC §10): pacing at the account's CPS with
 * the trunks' limiter, queue_time estimates, the 22005 bound, the age
 * cancellation, the head waiting at the concurrency cap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/limits/clock.js';
import { CallQueue, type Queued, type QueueSettings } from '../../../src/voice/call-queue.js';

const settings = (cps: number, maxWaitSeconds = 86_400, algorithm: QueueSettings['algorithm'] = 'token-bucket'): QueueSettings => ({ algorithm, cps, burst: null, toleranceMs: 0, maxWaitMs: maxWaitSeconds * 1000 });
const item = (n: number, queuedAt = 0): Queued => ({ sid: `CA${n}`, queuedAt });

describe('CallQueue', () => {
  it('30 calls at CPS 1: queue_time 0, 1000, … 29 000 ms; placed one per second', () => {
    const clock = new ManualClock(0);
    const q = new CallQueue<Queued>('a', settings(1));
    const items = Array.from({ length: 30 }, (_, i) => item(i));
    const estimates = items.map((it, i) => {
      expect(q.offer(it)).toBe(true);
      return q.estimateWaitMs(i, clock.now());
    });
    expect(estimates).toEqual(items.map((_, i) => i * 1000));
    const placedAt: number[] = [];
    let next: number | undefined = 0;
    while (next !== undefined) {
      clock.set(next);
      next = q.pump(clock.now(), { canPlace: () => true, place: () => placedAt.push(clock.now()), expire: () => expect.fail('nothing expires') });
    }
    expect(placedAt).toEqual(items.map((_, i) => i * 1000));
    expect(q.depth).toBe(0);
  });

  it('the estimate of a queued call falls as time passes and calls ahead leave', () => {
    const clock = new ManualClock(0);
    const q = new CallQueue<Queued>('a', settings(2));
    const items = Array.from({ length: 6 }, (_, i) => item(i));
    for (const it of items) q.offer(it);
    const last = items[5] as Queued;
    expect(q.estimateWaitMs(q.position(last), 0)).toBe(2000);
    q.pump(0, { canPlace: () => true, place: () => undefined, expire: () => undefined }); // the burst of 2 goes
    clock.set(1000);
    expect(q.position(last)).toBe(3);
    expect(q.estimateWaitMs(q.position(last), clock.now())).toBe(1000);
  });

  it('22005: the queue holds at most queueMaxWaitSeconds × CPS calls', () => {
    const q = new CallQueue<Queued>('a', settings(1, 3));
    expect(q.capacity).toBe(3);
    expect([1, 2, 3, 4].map((n) => q.offer(item(n)))).toEqual([true, true, true, false]);
    expect(q.stats.refused).toBe(1);
    const big = new CallQueue<Queued>('b', settings(1));
    expect(big.capacity).toBe(86_400);
    expect(new CallQueue<Queued>('c', settings(0)).capacity).toBe(0);
  });

  it('calls queued longer than the bound are cancelled (oldest first) and never placed', () => {
    const q = new CallQueue<Queued>('a', settings(1, 2));
    q.offer(item(1, 0));
    q.offer(item(2, 500));
    const expired: string[] = [];
    const handlers = { canPlace: () => false, place: () => expect.fail('the account is full'), expire: (i: Queued) => expired.push(i.sid) };
    expect(q.pump(1000, handlers)).toBe(2000); // blocked: wake when the head ages out
    expect(q.blockedByConcurrency).toBe(true);
    expect(q.pump(2000, handlers)).toBe(2500);
    expect(expired).toEqual(['CA1']);
    q.pump(2500, handlers);
    expect(expired).toEqual(['CA1', 'CA2']);
    expect(q.depth).toBe(0);
  });

  it('the head waits at the concurrency cap without taking a token', () => {
    const q = new CallQueue<Queued>('a', settings(1));
    q.offer(item(1));
    const placed: string[] = [];
    let room = false;
    const handlers = { canPlace: () => room, place: (i: Queued) => placed.push(i.sid), expire: () => undefined };
    q.pump(0, handlers);
    expect(placed).toEqual([]);
    room = true;
    q.pump(10, handlers);
    expect(placed).toEqual(['CA1']); // the token was still there
  });

  it('remove() takes a call out wherever it is; positions close up', () => {
    const q = new CallQueue<Queued>('a', settings(1));
    const items = [item(1), item(2), item(3)];
    for (const it of items) q.offer(it);
    expect(q.remove(items[1] as Queued)).toBe(true);
    expect(q.remove(items[1] as Queued)).toBe(false);
    expect(q.position(items[2] as Queued)).toBe(1);
    expect([...q.queued()].map((i) => i.sid)).toEqual(['CA1', 'CA3']);
  });

  it.each(['token-bucket', 'sliding-window', 'fixed-window'] as const)('%s: placements over any run stay within burst + CPS × elapsed, and keep up with CPS', (algorithm) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1_000, max: 20_000 }), (cps, runMs) => {
        const q = new CallQueue<Queued>('a', settings(cps, 86_400, algorithm));
        for (let i = 0; i < cps * 40; i++) q.offer(item(i));
        let placed = 0;
        let t: number | undefined = 0;
        while (t !== undefined && t <= runMs) {
          t = q.pump(t, { canPlace: () => true, place: () => placed++, expire: () => undefined });
        }
        const ideal = (cps * runMs) / 1000;
        return placed <= cps + ideal + 1e-9 && placed >= ideal - 1;
      }),
      { numRuns: 40 },
    );
  });
});
