/**
 * What the status page shows that no other part keeps: INVITEs offered and
 * admitted per second, per trunk and region (a sliding second of five
 * 200 ms buckets), and the most recent refusals.
 */
import type { Refusal } from './refusal-log.js';

const BUCKET_MS = 200;
const BUCKETS = 5;

class Rate {
  private readonly counts = new Int32Array(BUCKETS);
  private readonly stamps = new Float64Array(BUCKETS).fill(-1);

  add(now: number): void {
    const slot = Math.floor(now / BUCKET_MS);
    const i = slot % BUCKETS;
    if (this.stamps[i] !== slot) {
      this.stamps[i] = slot;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] as number) + 1;
  }

  /** Events in the last second (the current bucket and the four before it). */
  perSecond(now: number): number {
    const slot = Math.floor(now / BUCKET_MS);
    let n = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const s = this.stamps[i] as number;
      if (s > slot - BUCKETS && s <= slot) n += this.counts[i] as number;
    }
    return n;
  }
}

export interface TrafficRates {
  offeredPerSecond: number;
  admittedPerSecond: number;
}

export class Traffic {
  private readonly offered = new Map<string, Rate>();
  private readonly admitted = new Map<string, Rate>();
  private readonly refusals: Refusal[] = [];
  private next = 0;

  constructor(
    private readonly now: () => number,
    /** Refusals kept for the status page. */
    readonly refusalCapacity = 50,
  ) {}

  attempt(trunk: string, region: string, admitted: boolean): void {
    const key = `${trunk}\u0000${region}`;
    const now = this.now();
    rateOf(this.offered, key).add(now);
    if (admitted) rateOf(this.admitted, key).add(now);
  }

  rates(trunk: string, region: string): TrafficRates {
    const key = `${trunk}\u0000${region}`;
    const now = this.now();
    return { offeredPerSecond: this.offered.get(key)?.perSecond(now) ?? 0, admittedPerSecond: this.admitted.get(key)?.perSecond(now) ?? 0 };
  }

  refused(r: Refusal): void {
    if (this.refusals.length < this.refusalCapacity) this.refusals.push(r);
    else this.refusals[this.next] = r;
    this.next = (this.next + 1) % this.refusalCapacity;
  }

  /** The most recent refusals, newest first. */
  recentRefusals(limit: number): Refusal[] {
    const ordered = this.refusals.length < this.refusalCapacity ? this.refusals.slice() : [...this.refusals.slice(this.next), ...this.refusals.slice(0, this.next)];
    return ordered.reverse().slice(0, limit);
  }
}

function rateOf(map: Map<string, Rate>, key: string): Rate {
  let r = map.get(key);
  if (r === undefined) {
    r = new Rate();
    map.set(key, r);
  }
  return r;
}
