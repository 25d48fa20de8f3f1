/**
 * Concurrency leases (SPEC §4.4). A call holds a lease from admission until
 * it ends; the lease counts against every scope it was taken in (the trunk,
 * the account). `release()` is idempotent: the first call gives the capacity
 * back, any later call changes nothing and is counted as a double release,
 * which is a bug somewhere above.
 */
import { EventEmitter } from 'node:events';

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

export type LeaseScopeKind = 'trunk' | 'account';

/**
 * A counter leases are taken in, with its cap (null: no cap). Made once per
 * trunk and per account when the configuration is compiled, and handed on
 * to the next compilation on reload, so calls in progress and new calls
 * count in the same scope.
 */
export class LeaseScope {
  /** Leases held in this scope right now (by this process). */
  active = 0;
  /**
   * This scope's name wherever limit state is kept outside this process
   * (`trunk:acme`, `account:acme`): made once, here; a shared store builds its
   * keys from it.
   */
  readonly id: string;

  constructor(
    readonly kind: LeaseScopeKind,
    readonly name: string,
    public cap: number | null,
  ) {
    this.id = `${kind}:${name}`;
  }
}

/**
 * The part of a lease a shared store keeps (limits.store: redis): told once
 * when the lease is released, after the local counts are given back.
 */
export interface SharedLease {
  /** The lease's name in the store. */
  readonly id: string;
  release(): void;
}

export type AcquireResult = { ok: true; lease: CallLease } | { ok: false; scope: LeaseScope; active: number };

export interface ConcurrencyEventMap {
  /** A lease was released a second time (a bug above): the reason given the second time. */
  doubleRelease: [lease: CallLease, reason: ReleaseReason];
}

export class ConcurrencyTracker {
  /** Observers (metrics, logs) subscribe here. */
  readonly events = new EventEmitter<ConcurrencyEventMap>();
  /** Leases held right now. */
  active = 0;
  issued = 0;
  released = 0;
  doubleReleases = 0;
  /** Scopes with leases held: a scope whose trunk a reload removed still shows while its calls last. */
  private readonly busy = new Set<LeaseScope>();

  /** The scopes that hold leases right now. */
  busyScopes(): IterableIterator<LeaseScope> {
    return this.busy.values();
  }

  /** Take a lease in every scope, or none if any scope is at its cap. */
  tryAcquire(scopes: readonly LeaseScope[]): AcquireResult {
    for (const scope of scopes) {
      if (scope.cap !== null && scope.active >= scope.cap) return { ok: false, scope, active: scope.active };
    }
    for (const scope of scopes) {
      scope.active++;
      this.busy.add(scope);
    }
    this.active++;
    this.issued++;
    return { ok: true, lease: new CallLease(this, scopes, undefined) };
  }

  /**
   * Count a lease whose caps a shared store has checked and taken (or that was
   * admitted while the store was unreachable, with onStoreFailure: open): no
   * cap is checked here; `shared` hears of the release.
   */
  adopt(scopes: readonly LeaseScope[], shared: SharedLease): CallLease {
    for (const scope of scopes) {
      scope.active++;
      this.busy.add(scope);
    }
    this.active++;
    this.issued++;
    return new CallLease(this, scopes, shared);
  }

  /** @internal used by CallLease */
  giveBack(scopes: readonly LeaseScope[]): void {
    for (const scope of scopes) {
      scope.active--;
      if (scope.active <= 0) this.busy.delete(scope);
    }
    this.active--;
    this.released++;
  }

  /** @internal used by CallLease */
  releasedTwice(lease: CallLease, reason: ReleaseReason): void {
    this.doubleReleases++;
    this.events.emit('doubleRelease', lease, reason);
  }
}

export class CallLease {
  private reason: ReleaseReason | undefined;

  constructor(
    private readonly tracker: ConcurrencyTracker,
    readonly scopes: readonly LeaseScope[],
    /** The store's side of the lease (limits.store: redis); undefined in memory. */
    readonly shared: SharedLease | undefined,
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
      this.tracker.releasedTwice(this, reason);
      return false;
    }
    this.reason = reason;
    this.tracker.giveBack(this.scopes);
    this.shared?.release();
    return true;
  }
}
