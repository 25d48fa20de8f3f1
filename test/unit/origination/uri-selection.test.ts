/**
 * Origination URI selection (SPEC §11): priority first, then weight; failover
 * rules by status. Properties with fast-check over random URI sets and
 * random draws; the weighted split measured over many draws of a seeded
 * generator.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_FAILOVER_STATUSES, failsOver } from '../../../src/origination/failover.js';
import { attemptOrder } from '../../../src/origination/uri-selection.js';

const uriArb = fc.record({ id: fc.nat(), priority: fc.integer({ min: 0, max: 5 }), weight: fc.integer({ min: 1, max: 65_535 }), enabled: fc.boolean() });

/** A seeded generator (mulberry32): the same split every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('attemptOrder', () => {
  it('holds every enabled URI exactly once, no disabled one, in ascending priority (any random draws)', () => {
    fc.assert(
      fc.property(fc.array(uriArb, { maxLength: 10 }), fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 20 }), (uris, draws) => {
        let k = 0;
        const order = attemptOrder(uris, () => draws[k++ % draws.length] as number);
        expect(order.length).toBe(uris.filter((u) => u.enabled).length);
        expect(new Set(order).size).toBe(order.length);
        for (const u of order) expect(u.enabled).toBe(true);
        for (let i = 1; i < order.length; i++) expect((order[i] as { priority: number }).priority).toBeGreaterThanOrEqual((order[i - 1] as { priority: number }).priority);
      }),
      { numRuns: 500 },
    );
  });

  it('picks first the URI whose weight interval the draw falls in (draw 0 → first, draw → 1 → last)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 10 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (weights, draw) => {
        const uris = weights.map((weight, id) => ({ id, priority: 10, weight, enabled: true }));
        const first = attemptOrder(uris, () => draw)[0];
        const total = weights.reduce((a, b) => a + b, 0);
        let acc = 0;
        const expected = uris.find((u) => {
          acc += u.weight;
          return draw * total < acc;
        }) ?? uris[uris.length - 1];
        expect(first).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('over 20,000 calls the first tries split by weight within 1.5 percentage points; a lower priority is never first', () => {
    const uris = [
      { id: 'a', priority: 10, weight: 60, enabled: true },
      { id: 'b', priority: 10, weight: 30, enabled: true },
      { id: 'c', priority: 10, weight: 10, enabled: true },
      { id: 'backup', priority: 20, weight: 1000, enabled: true },
      { id: 'off', priority: 0, weight: 1000, enabled: false },
    ];
    const random = seeded(16);
    const firsts: Record<string, number> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const first = attemptOrder(uris, random)[0]?.id as string;
      firsts[first] = (firsts[first] ?? 0) + 1;
    }
    expect(Object.keys(firsts).sort()).toEqual(['a', 'b', 'c']);
    expect(Math.abs((firsts['a'] as number) / n - 0.6)).toBeLessThan(0.015);
    expect(Math.abs((firsts['b'] as number) / n - 0.3)).toBeLessThan(0.015);
    expect(Math.abs((firsts['c'] as number) / n - 0.1)).toBeLessThan(0.015);
  });

  it('the second try follows the weights of the rest (a 60/30/10 group: after a, b comes second three times as often as c)', () => {
    const uris = [
      { id: 'a', priority: 10, weight: 60, enabled: true },
      { id: 'b', priority: 10, weight: 30, enabled: true },
      { id: 'c', priority: 10, weight: 10, enabled: true },
    ];
    const random = seeded(7);
    let afterA = 0;
    let bSecond = 0;
    for (let i = 0; i < 20_000; i++) {
      const order = attemptOrder(uris, random);
      if (order[0]?.id !== 'a') continue;
      afterA++;
      if (order[1]?.id === 'b') bSecond++;
    }
    expect(Math.abs(bSecond / afterA - 0.75)).toBeLessThan(0.02);
  });
});

describe('failsOver (the provider\'s list)', () => {
  it.each([200, 202, 400, 404, 405, 410, 416, 482, 484, 486, 600, 603, 604, 606])('%i ends the call where it is', (status) => {
    expect(failsOver(status)).toBe(false);
  });

  it.each([300, 302, 401, 403, 407, 408, 480, 487, 488, 500, 502, 503, 504])('%i fails over', (status) => {
    expect(failsOver(status)).toBe(true);
  });

  it('every 3xx-5xx outside the list fails over; every 2xx and 6xx does not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 699 }), (status) => {
        const expected = status >= 300 && status < 600 && !NO_FAILOVER_STATUSES.has(status);
        expect(failsOver(status)).toBe(expected);
      }),
    );
  });
});
