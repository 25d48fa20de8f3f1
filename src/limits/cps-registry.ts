/**
 * The CPS limiters in use, by scope: per (trunk, region) and pooled per
 * (account, region) (SPEC §2.2, §3). A limiter keeps its state while its
 * settings stay the same; new settings (reload, the Console API) give a
 * fresh limiter, so limits swap atomically.
 */
import type { Clock } from './clock.js';
import { type CpsAlgorithm, type RateLimiter, createRateLimiter } from './rate-limiters.js';

interface Entry {
  limiter: RateLimiter;
  signature: string;
}

export class CpsRegistry {
  private readonly limiters = new Map<string, Entry>();

  constructor(readonly clock: Clock) {}

  /** The limiter for `key` with these settings (created, or replaced when the settings changed). */
  limiter(key: string, algorithm: CpsAlgorithm, cps: number, burst: number | null): RateLimiter {
    const signature = settingsSignature(algorithm, cps, burst);
    const entry = this.limiters.get(key);
    if (entry !== undefined && entry.signature === signature) return entry.limiter;
    const limiter = createRateLimiter(algorithm, cps, burst);
    this.limiters.set(key, { limiter, signature });
    return limiter;
  }

  /**
   * The limiter for `key` if one exists (for live state). With `settings`,
   * only if it has those settings: one with old settings is replaced on the
   * next call, so its state no longer describes the limit.
   */
  peek(key: string, settings?: { algorithm: CpsAlgorithm; cps: number; burst: number | null }): RateLimiter | undefined {
    const entry = this.limiters.get(key);
    if (entry === undefined) return undefined;
    if (settings !== undefined && entry.signature !== settingsSignature(settings.algorithm, settings.cps, settings.burst)) return undefined;
    return entry.limiter;
  }

  /** Forget limiters whose scope no longer exists (after a reload). */
  retain(keep: (key: string) => boolean): void {
    for (const key of [...this.limiters.keys()]) if (!keep(key)) this.limiters.delete(key);
  }
}

function settingsSignature(algorithm: CpsAlgorithm, cps: number, burst: number | null): string {
  return `${algorithm}|${cps}|${burst ?? ''}`;
}
