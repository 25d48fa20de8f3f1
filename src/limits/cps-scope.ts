/**
 * Where CPS is accounted (SPEC §2.2, §3): one scope per (trunk, region), and
 * one per (account, region) for pooled CPS. A scope keeps its limiter while
 * the settings stay the same; new settings (reload, the Console API) give it
 * a fresh limiter, so limits swap atomically. Scopes are made when the
 * configuration is compiled and handed on to the next compilation on reload.
 */
import { type CpsAlgorithm, type RateLimiter, createRateLimiter, defaultToleranceMs } from './rate-limiters.js';

export interface CpsSettings {
  algorithm: CpsAlgorithm;
  cps: number;
  /** Token-bucket capacity; null: the default (cps, at least 1). */
  burst: number | null;
  /** Token-bucket tolerance (GCRA's τ), ms; null: the default (10% of one token's interval, at most 100). */
  toleranceMs: number | null;
}

export class CpsScope {
  private current: { limiter: RateLimiter; settings: CpsSettings } | undefined;

  constructor(
    readonly kind: 'trunk' | 'account',
    /** The trunk's or the account's name. */
    readonly owner: string,
    readonly region: string,
  ) {}

  /** The limiter with these settings: the one in use, or a fresh one when the settings changed. */
  limiter(settings: CpsSettings): RateLimiter {
    const c = this.current;
    if (c !== undefined && sameSettings(c.settings, settings)) return c.limiter;
    const limiter = createRateLimiter(settings.algorithm, settings.cps, settings.burst, settings.toleranceMs ?? defaultToleranceMs(settings.cps));
    this.current = { limiter, settings: { ...settings } };
    return limiter;
  }

  /**
   * The limiter in use, if any (for live state). With `settings`, only if it
   * has those settings: one with old settings is replaced at the next call,
   * so its state no longer describes the limit.
   */
  peek(settings?: CpsSettings): RateLimiter | undefined {
    const c = this.current;
    if (c === undefined) return undefined;
    if (settings !== undefined && !sameSettings(c.settings, settings)) return undefined;
    return c.limiter;
  }
}

function sameSettings(a: CpsSettings, b: CpsSettings): boolean {
  return a.algorithm === b.algorithm && a.cps === b.cps && a.burst === b.burst && a.toleranceMs === b.toleranceMs;
}
