import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMERS, timersFor } from '../../../../src/sip/transaction/index.js';

describe('timersFor (RFC 3261 Table 4, RFC 6026 §8.4)', () => {
  it('defaults to T1 500 ms, T2 4 s, T4 5 s', () => {
    expect(DEFAULT_TIMERS).toEqual({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000 });
  });

  describe('unreliable transport (UDP)', () => {
    it('derives every timer from the defaults', () => {
      expect(timersFor(DEFAULT_TIMERS, false)).toEqual({
        A: 500,
        B: 32_000,
        D: 32_000,
        E: 500,
        F: 32_000,
        G: 500,
        H: 32_000,
        I: 5000,
        J: 32_000,
        K: 5000,
        L: 32_000,
        M: 32_000,
        T2: 4000,
        reliable: false,
      });
    });

    it('follows configured T1, T2 and T4', () => {
      expect(timersFor({ t1Ms: 100, t2Ms: 300, t4Ms: 700 }, false)).toEqual({
        A: 100,
        B: 6400,
        D: 32_000, // "≥ 32 s": D does not shrink with T1
        E: 100,
        F: 6400,
        G: 100,
        H: 6400,
        I: 700,
        J: 6400,
        K: 700,
        L: 6400,
        M: 6400,
        T2: 300,
        reliable: false,
      });
    });

    it('grows Timer D past 32 s when 64*T1 is larger', () => {
      expect(timersFor({ t1Ms: 1000, t2Ms: 4000, t4Ms: 5000 }, false).D).toBe(64_000);
    });
  });

  describe('reliable transport (TCP)', () => {
    it('has zero D, I, J and K and keeps the 64*T1 timeouts', () => {
      const t = timersFor({ t1Ms: 250, t2Ms: 4000, t4Ms: 5000 }, true);
      expect(t).toMatchObject({ D: 0, I: 0, J: 0, K: 0, B: 16_000, F: 16_000, H: 16_000, L: 16_000, M: 16_000, reliable: true });
    });

    it('marks the retransmission timers A, E and G unused through `reliable`', () => {
      // The values stay T1 (harmless); the transactions check `reliable` and never start them.
      const t = timersFor(DEFAULT_TIMERS, true);
      expect(t.reliable).toBe(true);
      expect([t.A, t.E, t.G]).toEqual([500, 500, 500]);
    });
  });
});
