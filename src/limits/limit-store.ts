/**
 * Where the limit state of checks 12-14 lives (SPEC §4.2, §12): the trunk's
 * CPS, the account's pooled CPS and the concurrency leases. One call takes
 * all three, or none: a call refused at a later step gives back what the
 * earlier steps took, in the store, in one place.
 *
 *  - `memory` (the default): this process's limiters and lease counts,
 *    synchronous: no promise on the hot path.
 *  - `redis` (src/store/): one atomic script per admission, shared by every
 *    instance pointed at the same Redis; asynchronous.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from './clock.js';
import type { CallLease, ConcurrencyTracker, LeaseScope } from './concurrency.js';
import type { CpsScope, CpsSettings } from './cps-scope.js';

/** What checks 12-14 take for one call. */
export interface LimitRequest {
  /** Check 12: the trunk's CPS for the call's region, with the settings in force. */
  trunkCps: CpsScope;
  trunkSettings: CpsSettings;
  /** Check 13: the account's pooled CPS for the region, when it has one. */
  pooledCps: CpsScope | undefined;
  pooledSettings: CpsSettings | undefined;
  /** Check 14: the scopes the lease is taken in (the trunk, its account), with their caps. */
  leaseScopes: readonly LeaseScope[];
}

/** The step that refused the call; `store-unavailable`: a shared store could not be asked (onStoreFailure: closed). */
export type LimitRefusal = 'trunk-cps' | 'pooled-cps' | 'concurrency' | 'store-unavailable';

export type LimitResult = { ok: true; lease: CallLease } | { ok: false; refused: LimitRefusal };

export type StoreKind = 'memory' | 'redis';

/** `ready`: decisions come from the store; `connecting`: not reached yet; `unavailable`: reached before, lost now. */
export type StoreStatus = 'ready' | 'connecting' | 'unavailable';

export interface StoreState {
  kind: StoreKind;
  status: StoreStatus;
  /** What happens to new calls while the store cannot be reached. */
  onFailure: 'closed' | 'open';
  /** Whether new calls can be admitted right now (false only while a closed store is not ready). */
  admitting: boolean;
}

/** Live state to show (GET /v1/trunks): CPS room per limiter, leases per scope. */
export interface LimitSnapshotRequest {
  cps: ReadonlyArray<{ scope: CpsScope; settings: CpsSettings }>;
  leases: readonly LeaseScope[];
}

export interface LimitSnapshot {
  /** True when the figures are the shared ones (every instance); false: this process's own. */
  shared: boolean;
  /** Admissions available now, per `cps` entry; null when that limiter has not been used yet (or expired). */
  available: Array<number | null>;
  /** Leases held, per `leases` entry. */
  active: number[];
}

/** A round trip to a shared store, by what it was for. */
export type StoreOperation = 'admission' | 'release' | 'heartbeat' | 'register' | 'sweep' | 'snapshot' | 'console';

export const STORE_OPERATIONS: readonly StoreOperation[] = ['admission', 'release', 'heartbeat', 'register', 'sweep', 'snapshot', 'console'];

export interface LimitStoreEventMap {
  /** A round trip finished, `seconds` after it started; `error` when it failed. */
  operation: [operation: StoreOperation, seconds: number, error: Error | undefined];
  status: [status: StoreStatus];
  /** A call was admitted while the store could not be asked (onStoreFailure: open). */
  failedOpen: [trunk: string];
  /** Leases found expired in the store (their instance stopped heartbeating them) and removed. */
  leasesExpired: [leaseIds: string[]];
}

export interface LimitStore {
  readonly kind: StoreKind;
  /** Observers (metrics, alerts, logs); the memory store never emits. */
  readonly events: EventEmitter<LimitStoreEventMap>;
  /** Checks 12-14: take the trunk token, the pooled token and the lease, or nothing. */
  take(req: LimitRequest): LimitResult | Promise<LimitResult>;
  /**
   * A lease alone, in every scope or none (an inbound call, SPEC §11: not
   * CPS-limited, but counted with the termination calls in the same caps).
   */
  takeLease(scopes: readonly LeaseScope[]): LimitResult | Promise<LimitResult>;
  snapshot(req: LimitSnapshotRequest): LimitSnapshot | Promise<LimitSnapshot>;
  state(): StoreState;
  start(): Promise<void>;
  /** After the calls have ended: flush what is owed to the store, then let go of it. */
  stop(): Promise<void>;
}

const TRUNK_CPS: LimitResult = Object.freeze({ ok: false, refused: 'trunk-cps' });
const POOLED_CPS: LimitResult = Object.freeze({ ok: false, refused: 'pooled-cps' });
const CONCURRENCY: LimitResult = Object.freeze({ ok: false, refused: 'concurrency' });

/** The refusal of a step, as a shared value (no allocation per refusal). */
export function refusal(step: Exclude<LimitRefusal, 'store-unavailable'>): LimitResult {
  return step === 'trunk-cps' ? TRUNK_CPS : step === 'pooled-cps' ? POOLED_CPS : CONCURRENCY;
}

/** The default store: this process's limiters (in the CPS scopes) and lease counts (in the lease scopes). */
export class MemoryLimitStore implements LimitStore {
  readonly kind = 'memory' as const;
  readonly events = new EventEmitter<LimitStoreEventMap>();

  constructor(
    private readonly tracker: ConcurrencyTracker,
    private readonly clock: Clock,
  ) {}

  /**
   * Checks 12, 13, 14 in order. The tokens taken at 12 and 13 are given back
   * here, in this one place, when a later step refuses the call (SPEC §4.2).
   */
  take(req: LimitRequest): LimitResult {
    const now = this.clock.now();
    const trunk = req.trunkCps.limiter(req.trunkSettings);
    if (!trunk.tryTake(now)) return TRUNK_CPS;
    const pooled = req.pooledCps === undefined || req.pooledSettings === undefined ? undefined : req.pooledCps.limiter(req.pooledSettings);
    if (pooled !== undefined && !pooled.tryTake(now)) {
      trunk.giveBack(now);
      return POOLED_CPS;
    }
    const acquired = this.tracker.tryAcquire(req.leaseScopes);
    if (!acquired.ok) {
      trunk.giveBack(now);
      pooled?.giveBack(now);
      return CONCURRENCY;
    }
    return acquired;
  }

  takeLease(scopes: readonly LeaseScope[]): LimitResult {
    const acquired = this.tracker.tryAcquire(scopes);
    return acquired.ok ? acquired : CONCURRENCY;
  }

  snapshot(req: LimitSnapshotRequest): LimitSnapshot {
    const now = this.clock.now();
    return {
      shared: false,
      available: req.cps.map(({ scope, settings }) => scope.peek(settings)?.available(now) ?? null),
      active: req.leases.map((scope) => scope.active),
    };
  }

  state(): StoreState {
    return { kind: 'memory', status: 'ready', onFailure: 'closed', admitting: true };
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
