/**
 * What a trunk's limits predict for a scenario run, computed with the
 * gateway's own limiter code (src/limits/): the trunk's CPS algorithm for its
 * home region and the concurrency caps, for evenly spaced arrivals.
 */
import { type CpsAlgorithm, createRateLimiter } from '../limits/rate-limiters.js';

/** The parts of GET /v1/trunks/{name} the prediction reads. */
export interface TrunkLimits {
  cpsAlgorithm: string;
  homeRegion: string;
  regions: Array<{ region: string; cps: number; burst: number; toleranceMs?: number }>;
  concurrency: { trunkCap: number | null; accountCap: number | null; accountActive: number };
  /** The emulator's default ringing before the answer (ms); null for a carrier route. */
  pstnAnswerAfterMs: number | null;
}

export interface Offer {
  calls: number;
  /** Calls per second. */
  rate: number;
  /** How long an answered call is held (or rings, when the caller cancels). */
  holdMs: number;
  /** The caller cancels while ringing: the lease lasts `holdMs` only. */
  cancelsWhileRinging: boolean;
}

export interface Prediction {
  admitted: number;
  cpsRefused: number;
  concurrencyRefused: number;
  /** How far reality may be from it, for timing: 5% of the admitted (at least 1), +1 with a cap and held calls. */
  tolerance: number;
  region: string;
  cps: number;
  burst: number;
  /** The token bucket's tolerance (ms; 0 for the windows). */
  toleranceMs: number;
  algorithm: CpsAlgorithm;
  /** The tighter of the trunk's and the account's caps; null: none. */
  concurrencyCap: number | null;
  /** How long each admitted call holds its lease. */
  leaseMs: number;
}

const ALGORITHMS: readonly CpsAlgorithm[] = ['token-bucket', 'sliding-window', 'fixed-window'];

export function predict(trunk: TrunkLimits, offer: Offer): Prediction {
  const region = trunk.regions.find((r) => r.region === trunk.homeRegion) ?? trunk.regions[0];
  if (region === undefined) throw new Error('the trunk has no regions');
  const algorithm = ALGORITHMS.find((a) => a === trunk.cpsAlgorithm);
  if (algorithm === undefined) throw new Error(`unknown CPS algorithm "${trunk.cpsAlgorithm}"`);
  const limiter = createRateLimiter(algorithm, region.cps, region.burst, region.toleranceMs ?? 0);
  const caps = [trunk.concurrency.trunkCap, trunk.concurrency.accountCap].filter((c): c is number => c !== null);
  const cap = caps.length > 0 ? Math.min(...caps) : null;
  const startActive = trunk.concurrency.accountActive;
  const leaseMs = (offer.cancelsWhileRinging ? 0 : (trunk.pstnAnswerAfterMs ?? 0)) + offer.holdMs;
  const ends: number[] = [];
  let admitted = 0;
  let cpsRefused = 0;
  let concurrencyRefused = 0;
  const t0 = 1_000_000;
  for (let i = 0; i < offer.calls; i++) {
    const now = t0 + (i * 1000) / offer.rate;
    while (ends.length > 0 && (ends[0] as number) <= now) ends.shift();
    if (!limiter.tryTake(now)) {
      cpsRefused++;
      continue;
    }
    if (cap !== null && startActive + ends.length >= cap) {
      limiter.giveBack(now);
      concurrencyRefused++;
      continue;
    }
    admitted++;
    ends.push(now + leaseMs);
    ends.sort((a, b) => a - b);
  }
  const tolerance = Math.max(1, Math.ceil(admitted * 0.05)) + (cap !== null && leaseMs > 0 ? 1 : 0);
  return { admitted, cpsRefused, concurrencyRefused, tolerance, region: region.region, cps: region.cps, burst: region.burst, toleranceMs: limiter.toleranceMs, algorithm, concurrencyCap: cap, leaseMs };
}
