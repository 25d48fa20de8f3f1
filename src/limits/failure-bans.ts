/**
 * Bans after repeated failures (fail2ban's rule, in process): failures are
 * counted per key (a source IP address, a username) in a sliding window;
 * the failure that reaches `maxFailures` within `windowMs` bans the key for
 * `banMs`. Pure: time comes from the caller, nothing runs on a timer. Bounded:
 * at most `maxKeys` keys are tracked; the least recently failed is forgotten
 * first (a ban is never evicted while it lasts, unless every tracked key is
 * banned).
 */

export interface BanPolicy {
  /** Failures within the window that start a ban (the one that reaches it included). */
  maxFailures: number;
  windowMs: number;
  banMs: number;
}

export interface Ban {
  key: string;
  /** Failures counted when the ban started. */
  failures: number;
  /** When it started and ends (ms on the caller's clock). */
  sinceMs: number;
  untilMs: number;
}

interface Entry {
  /** Failure times within the window, oldest first. */
  failures: number[];
  ban: Ban | undefined;
}

export type FailureOutcome =
  /** Counted; not banned (yet). */
  | { banned: false; failures: number }
  /** Banned: by this failure (`started`), or already. */
  | { banned: true; ban: Ban; started: boolean };

export class FailureBans {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxKeys = 100_000) {}

  /** The ban on `key` in force at `now`, if any (an expired one is forgotten). */
  banned(key: string, now: number): Ban | undefined {
    const e = this.entries.get(key);
    const ban = e?.ban;
    if (e === undefined || ban === undefined) return undefined;
    if (ban.untilMs > now) return ban;
    // the ban is over: the key starts afresh
    this.entries.delete(key);
    return undefined;
  }

  /** Count a failure for `key`; the one that reaches `policy.maxFailures` in the window starts a ban. */
  fail(key: string, now: number, policy: BanPolicy): FailureOutcome {
    let e = this.entries.get(key);
    if (e !== undefined) this.entries.delete(key); // re-inserted below: most recently failed last
    else {
      e = { failures: [], ban: undefined };
      this.evictIfFull();
    }
    this.entries.set(key, e);
    if (e.ban !== undefined && e.ban.untilMs > now) return { banned: true, ban: e.ban, started: false };
    e.ban = undefined;
    const since = now - policy.windowMs;
    let drop = 0;
    while (drop < e.failures.length && (e.failures[drop] as number) <= since) drop++;
    if (drop > 0) e.failures.splice(0, drop);
    e.failures.push(now);
    if (e.failures.length < policy.maxFailures) return { banned: false, failures: e.failures.length };
    const ban: Ban = { key, failures: e.failures.length, sinceMs: now, untilMs: now + policy.banMs };
    e.ban = ban;
    e.failures = [];
    return { banned: true, ban, started: true };
  }

  /** Bans in force at `now`, oldest first. */
  list(now: number): Ban[] {
    const out: Ban[] = [];
    for (const e of this.entries.values()) if (e.ban !== undefined && e.ban.untilMs > now) out.push(e.ban);
    return out.sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** Forget one key (its ban and its failures). Returns whether it was banned at `now`. */
  clear(key: string, now: number): boolean {
    const wasBanned = this.banned(key, now) !== undefined;
    this.entries.delete(key);
    return wasBanned;
  }

  /** Forget every key. Returns how many bans were in force at `now`. */
  clearAll(now: number): number {
    const n = this.list(now).length;
    this.entries.clear();
    return n;
  }

  /** Keys tracked (with failures or a ban). */
  get size(): number {
    return this.entries.size;
  }

  private evictIfFull(): void {
    if (this.entries.size < this.maxKeys) return;
    // the least recently failed key without a ban; if all are banned, the oldest
    for (const [key, e] of this.entries) {
      if (e.ban === undefined) {
        this.entries.delete(key);
        return;
      }
    }
    const oldest = this.entries.keys().next().value;
    if (oldest !== undefined) this.entries.delete(oldest);
  }
}
