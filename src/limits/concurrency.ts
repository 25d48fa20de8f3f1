/**
 * Concurrency leases (SPEC §4.4). A call holds a lease from admission until
 * it ends; the lease counts against every scope it was taken in (the trunk,
 * the account). `release()` is idempotent: the first call gives the capacity
 * back, any later call changes nothing and is counted as a double release,
 * which is a bug somewhere above.
 */

/** How a call ended, as far as its lease is concerned. */
export type ReleaseReason =
  | 'rejected'
  | 'canceled'
  | 'bye-caller'
  | 'bye-callee'
  | 'invite-timeout'
  | 'no-ack'
  | 'max-duration'
  | 'transport-error'
  | 'admin'
  | 'shutdown';

/** A counter a lease is taken in, with its cap (null: no cap). */
export interface LeaseScope {
  readonly key: string;
  readonly cap: number | null;
}

export type AcquireResult = { ok: true; lease: CallLease } | { ok: false; scope: LeaseScope; active: number };

export class ConcurrencyTracker {
  private readonly counts = new Map<string, number>();
  /** Leases held right now. */
  active = 0;
  issued = 0;
  released = 0;
  doubleReleases = 0;
  /** Called on every double release (the metrics layer counts them; logs say where). */
  onDoubleRelease: ((lease: CallLease, reason: ReleaseReason) => void) | undefined;

  /** Scope keys with active calls that start with `prefix`, the prefix removed (e.g. trunk names). */
  keysWithPrefix(prefix: string): string[] {
    const out: string[] = [];
    for (const key of this.counts.keys()) if (key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out;
  }

  /** Calls active in a scope. */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Take a lease in every scope, or none if any scope is at its cap. */
  tryAcquire(scopes: readonly LeaseScope[]): AcquireResult {
    for (const scope of scopes) {
      const active = this.count(scope.key);
      if (scope.cap !== null && active >= scope.cap) return { ok: false, scope, active };
    }
    for (const scope of scopes) this.counts.set(scope.key, this.count(scope.key) + 1);
    this.active++;
    this.issued++;
    return { ok: true, lease: new CallLease(this, scopes) };
  }

  /** @internal used by CallLease */
  giveBack(scopes: readonly LeaseScope[]): void {
    for (const scope of scopes) {
      const n = this.count(scope.key) - 1;
      if (n <= 0) this.counts.delete(scope.key);
      else this.counts.set(scope.key, n);
    }
    this.active--;
    this.released++;
  }
}

export class CallLease {
  private reason: ReleaseReason | undefined;

  constructor(
    private readonly tracker: ConcurrencyTracker,
    readonly scopes: readonly LeaseScope[],
  ) {}

  get released(): boolean {
    return this.reason !== undefined;
  }

  /** Why it was released, once it has been. */
  get releaseReason(): ReleaseReason | undefined {
    return this.reason;
  }

  /** Give the capacity back. Returns false (and counts a double release) when already released. */
  release(reason: ReleaseReason): boolean {
    if (this.reason !== undefined) {
      this.tracker.doubleReleases++;
      this.tracker.onDoubleRelease?.(this, reason);
      return false;
    }
    this.reason = reason;
    this.tracker.giveBack(this.scopes);
    return true;
  }
}
