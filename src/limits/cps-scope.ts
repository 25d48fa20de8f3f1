/**
 * Where CPS is accounted (SPEC §2.2, §3): one scope per (trunk, region), and
 * one per (account, region) for pooled CPS. A scope keeps its limiter while
 * the settings stay the same; new settings (reload, the Console API) give it
 * a fresh limiter, so limits swap atomically. Scopes are made when the
 * configuration is compiled and handed on to the next compilation on reload.
 */
import { type CpsAlgorithm, type RateLimiter, type ResolvedCps, createRateLimiter, defaultToleranceMs, resolveCps } from './rate-limiters.js';

export interface CpsSettings {
  algorithm: CpsAlgorithm;
  cps: number;
  /** Token-bucket capacity; null: the default (cps, at least 1). */
  burst: number | null;
  /** Token-bucket tolerance (GCRA's τ), ms; null: the default (10% of one token's interval, at most 100). */
  toleranceMs: number | null;
}

export class CpsScope {
  /**
   * This scope's name wherever limit state is kept outside this process
   * (`trunk:acme:us1`, `account:acme:us1`): made once, here; a shared store
   * builds its keys from it.
   */
  readonly id: string;
  private current: { limiter: RateLimiter | undefined; resolved: ResolvedCps; settings: CpsSettings } | undefined;

  constructor(
    readonly kind: 'trunk' | 'account',
    /** The trunk's or the account's name. */
    readonly owner: string,
    readonly region: string,
  ) {
    this.id = `${kind}:${owner}:${region}`;
  }

  /** The limiter with these settings: the one in use, or a fresh one when the settings changed. */
  limiter(settings: CpsSettings): RateLimiter {
    const c = this.settle(settings);
    c.limiter ??= createRateLimiter(c.resolved.algorithm, c.resolved.cps, c.resolved.burst, c.resolved.toleranceMs);
    return c.limiter;
  }

  /**
   * The parameters of the limiter with these settings, defaults applied (made
   * once per change of settings): what a shared store's limiter works with.
   */
  resolved(settings: CpsSettings): ResolvedCps {
    return this.settle(settings).resolved;
  }

  private settle(settings: CpsSettings): { limiter: RateLimiter | undefined; resolved: ResolvedCps; settings: CpsSettings } {
    const c = this.current;
    if (c !== undefined && sameSettings(c.settings, settings)) return c;
    const resolved = resolveCps(settings.algorithm, settings.cps, settings.burst, settings.toleranceMs ?? defaultToleranceMs(settings.cps));
    return (this.current = { limiter: undefined, resolved, settings: { ...settings } });
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
