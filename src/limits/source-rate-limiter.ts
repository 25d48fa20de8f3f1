/**
 * Per-source request-rate limiting for exposed deployments, after Kamailio's
 * `pike` module: each source IP address has a token bucket (`requestsPerSecond`,
 * `burst`); a request that finds it empty blocks the source for `blockMs`,
 * during which every request from it is dropped. So one flooding host is cut
 * off cheaply (before its requests are parsed) while others go on.
 *
 * Pure: time comes from the clock; no timers. Bounded: at most `maxSources`
 * sources are tracked, the least recently seen forgotten first.
 */
import type { Clock } from './clock.js';

export interface SourceRatePolicy {
  /** Off: every request passes, nothing is tracked. */
  enabled: boolean;
  requestsPerSecond: number;
  /** Bucket capacity: requests a quiet source may send at once. */
  burst: number;
  /** How long a source that ran its bucket dry is blocked. */
  blockMs: number;
}

interface SourceState {
  tokens: number;
  last: number;
  /** Blocked until this time (0: not blocked). */
  blockedUntil: number;
}

export class SourceRateLimiter {
  private readonly sources = new Map<string, SourceState>();
  private policy: SourceRatePolicy;
  /** Requests dropped, and blocks started, since start. */
  readonly stats = { dropped: 0, blocks: 0 };

  constructor(
    policy: SourceRatePolicy,
    private readonly clock: Clock,
    private readonly maxSources = 100_000,
  ) {
    this.policy = policy;
  }

  /** A new policy (reload): state is kept for sources already seen; off forgets them all. */
  configure(policy: SourceRatePolicy): void {
    this.policy = policy;
    if (!policy.enabled) this.sources.clear();
  }

  get enabled(): boolean {
    return this.policy.enabled;
  }

  /** Whether a request from `address` may be processed now. */
  allow(address: string): boolean {
    const p = this.policy;
    if (!p.enabled) return true;
    const now = this.clock.now();
    let s = this.sources.get(address);
    if (s === undefined) {
      if (this.sources.size >= this.maxSources) {
        const oldest = this.sources.keys().next().value;
        if (oldest !== undefined) this.sources.delete(oldest);
      }
      s = { tokens: p.burst, last: now, blockedUntil: 0 };
    } else {
      this.sources.delete(address); // re-inserted: most recently seen last
      if (now > s.last) {
        s.tokens = Math.min(p.burst, s.tokens + ((now - s.last) / 1000) * p.requestsPerSecond);
        s.last = now;
      }
    }
    this.sources.set(address, s);
    if (s.blockedUntil > now) {
      this.stats.dropped++;
      return false;
    }
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return true;
    }
    s.blockedUntil = now + p.blockMs;
    this.stats.blocks++;
    this.stats.dropped++;
    return false;
  }

  /** Sources blocked right now. */
  blocked(): string[] {
    const now = this.clock.now();
    const out: string[] = [];
    for (const [address, s] of this.sources) if (s.blockedUntil > now) out.push(address);
    return out;
  }

  /** Sources tracked. */
  get size(): number {
    return this.sources.size;
  }
}
