/**
 * Time for the limiters, injected so tests drive it (fake clocks; no sleeps).
 * Milliseconds on the wall-clock scale (fixed windows align to wall-clock
 * seconds), but monotonic: built on performance.now().
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}
