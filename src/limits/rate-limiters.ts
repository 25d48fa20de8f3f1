/**
 * The CPS algorithms of SPEC §4.3. Each admits a call setup (`tryTake`) or
 * not, and can give back the admission of a setup that a later check refused
 * (`giveBack`). They keep no timers: time comes from the caller's clock.
 *
 * Accuracy contract (property-tested): over any run,
 *   admitted ≤ burst + cps × (elapsed + tolerance) seconds,
 * and under steady overload, admitted ≥ cps × elapsed − 1.
 */

export type CpsAlgorithm = 'token-bucket' | 'sliding-window' | 'fixed-window';

export interface RateLimiter {
  readonly algorithm: CpsAlgorithm;
  /** Calls per second. */
  readonly cps: number;
  /** The most admissions that can happen at once (token-bucket capacity; N of the windows). */
  readonly burst: number;
  /** How early an arrival may come and still be admitted (GCRA's τ; token bucket only, else 0). */
  readonly toleranceMs: number;
  tryTake(nowMs: number): boolean;
  /** Undo the last `tryTake` that returned true (a later check refused the call). */
  giveBack(nowMs: number): void;
  /** Admissions available right now (for /v1/trunks): tokens, or window room. */
  available(nowMs: number): number;
  /** The earliest time (ms) a `tryTake` can succeed: now if one is available (a queue sleeps until then). */
  nextAdmissionAt(nowMs: number): number;
}

/**
 * The default tolerance (SPEC §9): 10% of one token's interval, at most
 * 100 ms, so a PBX pacing exactly at its CPS is never refused for jitter.
 */
export function defaultToleranceMs(cps: number): number {
  return cps <= 0 ? 0 : Math.min(100, 100 / cps);
}

/**
 * Token bucket (the default): refills at `cps` tokens per second up to
 * `burst` (default: cps, at least 1); a setup takes one token. With a
 * tolerance τ, a setup is admitted up to τ early (GCRA's τ): the bucket may
 * lend the tokens τ would refill, so it admits while it holds at least
 * 1 − cps × τ, and never more than burst + cps × (elapsed + τ) over a run.
 */
export class TokenBucket implements RateLimiter {
  readonly algorithm = 'token-bucket' as const;
  readonly burst: number;
  readonly toleranceMs: number;
  /** The fewest tokens a take may leave: minus what τ refills. */
  private readonly floor: number;
  private tokens: number;
  private last: number | undefined;

  constructor(
    readonly cps: number,
    burst?: number | null,
    toleranceMs = 0,
  ) {
    // CPS 0 admits nothing; otherwise at least one call can pass at once.
    this.burst = cps <= 0 ? 0 : Math.max(1, burst ?? Math.ceil(cps));
    this.toleranceMs = cps <= 0 ? 0 : Math.max(0, toleranceMs);
    this.floor = -(this.toleranceMs * cps) / 1000;
    this.tokens = this.burst;
  }

  private refill(now: number): void {
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.cps);
      // Snap rounding error (ten refills of 0.1 sum to 0.9999999999999999): without this,
      // a 1-token bucket under steady overload loses a whole arrival gap per token.
      const whole = Math.round(this.tokens);
      if (Math.abs(this.tokens - whole) < 1e-9) this.tokens = whole;
    }
    if (this.last === undefined || now > this.last) this.last = now;
  }

  tryTake(now: number): boolean {
    this.refill(now);
    if (this.burst > 0 && this.tokens - 1 >= this.floor - 1e-9) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  giveBack(now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /** Whole and fractional tokens held (3 decimals); 0 while τ's loan is being paid back. */
  available(now: number): number {
    this.refill(now);
    return Math.max(0, Math.floor(this.tokens * 1000) / 1000);
  }

  nextAdmissionAt(now: number): number {
    this.refill(now);
    if (this.burst <= 0) return Number.POSITIVE_INFINITY;
    // admissible once the bucket holds 1 + floor (1 − cps × τ) tokens
    const needed = 1 + this.floor;
    if (this.tokens >= needed - 1e-9) return now;
    return now + Math.ceil(((needed - this.tokens) / this.cps) * 1000);
  }
}

/**
 * The window shape for a rate: at most `limit` admissions per `windowMs`.
 * Integer CPS: `cps` per 1 s. Fractional CPS: the smallest whole number of
 * admissions that makes the rate exact (0.5 → 1 per 2 s; 2.5 → 3 per 1.2 s).
 */
export function windowShape(cps: number): { limit: number; windowMs: number } {
  if (cps <= 0) return { limit: 0, windowMs: 1000 };
  const limit = Math.max(1, Math.ceil(cps));
  return { limit, windowMs: (limit / cps) * 1000 };
}

/** Sliding window: at most `limit` admissions in any `windowMs` interval (a log of admission times). */
export class SlidingWindow implements RateLimiter {
  readonly algorithm = 'sliding-window' as const;
  readonly burst: number;
  readonly toleranceMs = 0;
  private readonly windowMs: number;
  /** Admission times, oldest first (a ring of `limit` entries). */
  private readonly times: number[] = [];

  constructor(readonly cps: number) {
    const shape = windowShape(cps);
    this.burst = shape.limit;
    this.windowMs = shape.windowMs;
  }

  private prune(now: number): void {
    while (this.times.length > 0 && (this.times[0] as number) <= now - this.windowMs) this.times.shift();
  }

  tryTake(now: number): boolean {
    this.prune(now);
    if (this.times.length >= this.burst) return false;
    this.times.push(now);
    return true;
  }

  giveBack(_now: number): void {
    this.times.pop();
  }

  available(now: number): number {
    this.prune(now);
    return this.burst - this.times.length;
  }

  nextAdmissionAt(now: number): number {
    this.prune(now);
    if (this.burst === 0) return Number.POSITIVE_INFINITY;
    if (this.times.length < this.burst) return now;
    // the oldest admission leaves the window just after times[0] + windowMs (prune keeps t > now - windowMs)
    return (this.times[0] as number) + this.windowMs + 1e-6;
  }
}

/**
 * Fixed window: at most `limit` admissions per wall-clock window (per second
 * for integer CPS), reset at each boundary, like Kamailio's TAILDROP.
 */
export class FixedWindow implements RateLimiter {
  readonly algorithm = 'fixed-window' as const;
  readonly burst: number;
  readonly toleranceMs = 0;
  private readonly windowMs: number;
  private window = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(readonly cps: number) {
    const shape = windowShape(cps);
    this.burst = shape.limit;
    this.windowMs = shape.windowMs;
  }

  private roll(now: number): void {
    const w = Math.floor(now / this.windowMs);
    if (w !== this.window) {
      this.window = w;
      this.count = 0;
    }
  }

  tryTake(now: number): boolean {
    this.roll(now);
    if (this.count >= this.burst) return false;
    this.count++;
    return true;
  }

  giveBack(now: number): void {
    this.roll(now);
    if (this.count > 0) this.count--;
  }

  available(now: number): number {
    this.roll(now);
    return this.burst - this.count;
  }

  nextAdmissionAt(now: number): number {
    this.roll(now);
    if (this.burst === 0) return Number.POSITIVE_INFINITY;
    return this.count < this.burst ? now : (this.window + 1) * this.windowMs;
  }
}

/**
 * A limiter's parameters with every default applied: what a limiter built
 * from them works with, and what the shared (Redis) limiters are given, so
 * both compute with the same numbers.
 */
export interface ResolvedCps {
  algorithm: CpsAlgorithm;
  cps: number;
  /** Token-bucket capacity, or the windows' admissions per window. */
  burst: number;
  /** Token bucket only; 0 for the windows. */
  toleranceMs: number;
  /** The windows' length (ms); 0 for the token bucket. */
  windowMs: number;
}

/** The parameters `createRateLimiter(algorithm, cps, burst, toleranceMs)` works with. */
export function resolveCps(algorithm: CpsAlgorithm, cps: number, burst?: number | null, toleranceMs = 0): ResolvedCps {
  if (algorithm === 'token-bucket') {
    return { algorithm, cps, burst: cps <= 0 ? 0 : Math.max(1, burst ?? Math.ceil(cps)), toleranceMs: cps <= 0 ? 0 : Math.max(0, toleranceMs), windowMs: 0 };
  }
  const shape = windowShape(cps);
  return { algorithm, cps, burst: shape.limit, toleranceMs: 0, windowMs: shape.windowMs };
}

/** A limiter; `toleranceMs` applies to the token bucket (the windows have none). */
export function createRateLimiter(algorithm: CpsAlgorithm, cps: number, burst?: number | null, toleranceMs = 0): RateLimiter {
  switch (algorithm) {
    case 'token-bucket':
      return new TokenBucket(cps, burst, toleranceMs);
    case 'sliding-window':
      return new SlidingWindow(cps);
    case 'fixed-window':
      return new FixedWindow(cps);
  }
}
