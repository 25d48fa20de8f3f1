/**
 * The shared limit store (limits.store: redis://…, SPEC §12): checks 12-14
 * in one round trip to a store every instance shares, so one account's CPS
 * and concurrency are one budget across instances. This file is the logic
 * that does not depend on Redis (tested on fake clocks); the round trips are
 * the backend's (redis-backend.ts, tested against a real Redis):
 *
 *  - Admission: one atomic script takes the trunk token, the pooled token and
 *    the lease in each scope, or gives back what it took. The lease is then
 *    counted here too (the tracker), so this process knows its own calls.
 *  - Leases live in the store with an expiry: every live lease is
 *    heartbeated each leaseTtlMs/3. A crashed instance stops heartbeating
 *    and its leases expire after leaseTtlMs at most; whoever finds them
 *    (an admission, the periodic sweep) removes them and reports them
 *    (`leasesExpired`: alert 99102).
 *  - The store unreachable: new calls are refused (onStoreFailure: closed,
 *    503 and alert 99101) or admitted without it (open, counted). Calls in
 *    progress are never touched. A release that cannot reach the store is
 *    owed and sent when it is back; the live leases are registered again
 *    (their expiry may have passed meanwhile), so the counts are right after
 *    recovery. Nothing is released twice: the lease's own release is
 *    idempotent, and removing a lease from the store is too.
 */
import { EventEmitter } from 'node:events';
import type { CallLease, ConcurrencyTracker, LeaseScope, SharedLease } from '../limits/concurrency.js';
import {
  type LimitRequest,
  type LimitResult,
  type LimitSnapshot,
  type LimitSnapshotRequest,
  type LimitStore,
  type LimitStoreEventMap,
  type StoreOperation,
  type StoreState,
  type StoreStatus,
  refusal,
} from '../limits/limit-store.js';
import type { SharedLimitsBackend } from './redis-backend.js';
import { leaseName } from './redis-keys.js';

export interface SharedLimitStoreOptions {
  backend: SharedLimitsBackend;
  tracker: ConcurrencyTracker;
  /** This instance's name: its leases are named after it. */
  instance: string;
  onStoreFailure: 'closed' | 'open';
  leaseTtlMs: number;
  /** How long start() waits for the first connection (it keeps trying after). */
  connectWaitMs?: number;
  /** The lease scopes to sweep for expired leases (every configured trunk and account). */
  sweepScopes: () => Iterable<LeaseScope>;
  /** A random id of this process, part of every lease name (tests fix it). */
  boot?: string;
}

const STORE_UNAVAILABLE: LimitResult = Object.freeze({ ok: false, refused: 'store-unavailable' });

class StoreLease implements SharedLease {
  constructor(
    private readonly store: SharedLimitStore,
    readonly id: string,
    readonly scopes: readonly LeaseScope[],
  ) {}

  release(): void {
    this.store.released(this);
  }
}

export class SharedLimitStore implements LimitStore {
  readonly kind = 'redis' as const;
  readonly events = new EventEmitter<LimitStoreEventMap>();
  /** Leases held by this instance's calls, by name: what is heartbeated, and registered again after a reconnect. */
  private readonly live = new Map<string, StoreLease>();
  /** Releases (or admissions whose outcome is unknown) the store has not heard of yet. */
  private readonly owed = new Map<string, readonly LeaseScope[]>();
  private status: StoreStatus = 'connecting';
  private seq = 0;
  private readonly boot: string;
  private timer: NodeJS.Timeout | undefined;
  /** A retry of the owed releases soon (a round trip failed while the connection stayed up: a timeout). */
  private retry: NodeJS.Timeout | undefined;
  private recovering: Promise<void> | undefined;
  /** Round trips under way (stop() waits for them). */
  private inFlight = 0;

  constructor(private readonly options: SharedLimitStoreOptions) {
    this.boot = options.boot ?? Math.random().toString(36).slice(2, 10);
    const backend = options.backend;
    backend.events.on('ready', () => {
      this.recovering = this.recover();
    });
    backend.events.on('unavailable', () => {
      if (this.status === 'ready') this.setStatus('unavailable');
    });
  }

  /** Leases this instance holds in the store. */
  get liveLeases(): number {
    return this.live.size;
  }

  /** Releases waiting for the store to come back. */
  get owedReleases(): number {
    return this.owed.size;
  }

  state(): StoreState {
    const onFailure = this.options.onStoreFailure;
    return { kind: 'redis', status: this.status, onFailure, admitting: this.status === 'ready' || onFailure === 'open' };
  }

  async start(): Promise<void> {
    await this.options.backend.connect(this.options.connectWaitMs ?? 2000);
    await this.recovering;
    const every = Math.max(100, Math.floor(this.options.leaseTtlMs / 3));
    this.timer = setInterval(() => {
      this.tick().catch(() => undefined);
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    // the releases of the calls that just ended are on their way
    const deadline = Date.now() + 2000;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await this.options.backend.close();
  }

  take(req: LimitRequest): Promise<LimitResult> | LimitResult {
    if (!this.options.backend.ready) return this.unreachable(req, undefined);
    const id = leaseName(this.options.instance, this.boot, ++this.seq);
    const trunk = { scope: req.trunkCps, resolved: req.trunkCps.resolved(req.trunkSettings) };
    const pooled = req.pooledCps === undefined || req.pooledSettings === undefined ? undefined : { scope: req.pooledCps, resolved: req.pooledCps.resolved(req.pooledSettings) };
    const started = performance.now();
    this.inFlight++;
    return this.options.backend.admit(trunk, pooled, req.leaseScopes, id, this.options.leaseTtlMs).then(
      ({ step, expired }) => {
        this.inFlight--;
        this.done('admission', started, undefined);
        if (expired.length > 0) this.events.emit('leasesExpired', expired);
        switch (step) {
          case 0:
            return { ok: true, lease: this.adopt(id, req.leaseScopes) };
          case 1:
            return refusal('trunk-cps');
          case 2:
            return refusal('pooled-cps');
          case 3:
            return refusal('concurrency');
        }
      },
      (err: unknown) => {
        this.inFlight--;
        this.done('admission', started, err);
        // The script may have run (a timeout): owe its lease's removal, in case it was added.
        this.owed.set(id, req.leaseScopes);
        this.retrySoon();
        return this.unreachable(req, id);
      },
    );
  }

  /** An inbound call's lease: the caps checked in the store, no CPS; the same failure rules as `take`. */
  takeLease(scopes: readonly LeaseScope[]): Promise<LimitResult> | LimitResult {
    if (!this.options.backend.ready) return this.unreachableLease(scopes, undefined);
    const id = leaseName(this.options.instance, this.boot, ++this.seq);
    const started = performance.now();
    this.inFlight++;
    return this.options.backend.lease(scopes, id, this.options.leaseTtlMs).then(
      ({ step, expired }) => {
        this.inFlight--;
        this.done('admission', started, undefined);
        if (expired.length > 0) this.events.emit('leasesExpired', expired);
        return step === 0 ? { ok: true as const, lease: this.adopt(id, scopes) } : refusal('concurrency');
      },
      (err: unknown) => {
        this.inFlight--;
        this.done('admission', started, err);
        this.owed.set(id, scopes);
        this.retrySoon();
        return this.unreachableLease(scopes, id);
      },
    );
  }

  /** The store could not decide: refuse (closed), or admit without it (open). */
  private unreachable(req: LimitRequest, id: string | undefined): LimitResult {
    return this.unreachableLease(req.leaseScopes, id, req.trunkCps.owner);
  }

  /** `trunk`: whose call it is, for the failed-open count (an inbound call's: its trunk scope's name). */
  private unreachableLease(scopes: readonly LeaseScope[], id: string | undefined, trunk = scopes[0]?.name ?? ''): LimitResult {
    if (this.options.onStoreFailure === 'closed') return STORE_UNAVAILABLE;
    const name = id ?? leaseName(this.options.instance, this.boot, ++this.seq);
    // An id owed for removal is live after all: it is registered (not removed) when the store is back.
    this.owed.delete(name);
    this.events.emit('failedOpen', trunk);
    return { ok: true, lease: this.adopt(name, scopes) };
  }

  private adopt(id: string, scopes: readonly LeaseScope[]): CallLease {
    const lease = new StoreLease(this, id, scopes);
    this.live.set(id, lease);
    return this.options.tracker.adopt(scopes, lease);
  }

  /** @internal A call ended: its lease leaves the store (now, or once the store is back). */
  released(lease: StoreLease): void {
    this.live.delete(lease.id);
    if (!this.options.backend.ready) {
      this.owed.set(lease.id, lease.scopes);
      return;
    }
    const started = performance.now();
    this.inFlight++;
    this.options.backend.release(lease.id, lease.scopes).then(
      () => {
        this.inFlight--;
        this.done('release', started, undefined);
      },
      (err: unknown) => {
        this.inFlight--;
        this.done('release', started, err);
        this.owed.set(lease.id, lease.scopes);
        this.retrySoon();
      },
    );
  }

  /** Settle what is owed shortly, rather than at the next heartbeat, if the store still looks up. */
  private retrySoon(): void {
    if (this.retry !== undefined || this.timer === undefined) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.options.backend.ready) this.settleOwed().catch(() => undefined);
    }, 200);
    this.retry.unref();
  }

  snapshot(req: LimitSnapshotRequest): Promise<LimitSnapshot> | LimitSnapshot {
    const local = (): LimitSnapshot => ({ shared: false, available: req.cps.map(() => null), active: req.leases.map((s) => s.active) });
    if (!this.options.backend.ready) return local();
    const limiters = req.cps.map(({ scope, settings }) => ({ scope, resolved: scope.resolved(settings) }));
    const started = performance.now();
    return this.options.backend.peek(limiters, req.leases).then(
      (r) => {
        this.done('snapshot', started, undefined);
        return { shared: true, ...r };
      },
      (err: unknown) => {
        this.done('snapshot', started, err);
        return local();
      },
    );
  }

  /** Every leaseTtlMs/3: heartbeat the live leases, settle what is owed, sweep expired leases. */
  async tick(): Promise<void> {
    const backend = this.options.backend;
    if (!backend.ready) return;
    await this.settleOwed();
    if (this.live.size > 0) await this.timed('heartbeat', () => backend.heartbeat([...this.live.values()], this.options.leaseTtlMs, false));
    const expired = await this.timed('sweep', () => backend.sweep([...this.options.sweepScopes()]));
    if (expired !== undefined && expired.length > 0) this.events.emit('leasesExpired', expired);
  }

  /** The store is (back) up: settle the releases owed, register the live leases again. */
  private async recover(): Promise<void> {
    const backend = this.options.backend;
    await this.settleOwed();
    const live = [...this.live.values()];
    if (live.length > 0) await this.timed('register', () => backend.heartbeat(live, this.options.leaseTtlMs, true));
    if (backend.ready) this.setStatus('ready');
  }

  private async settleOwed(): Promise<void> {
    for (const [id, scopes] of [...this.owed]) {
      if (!this.options.backend.ready) return;
      const r = await this.timed('release', () => this.options.backend.release(id, scopes));
      if (r !== undefined && this.owed.get(id) === scopes) this.owed.delete(id);
    }
  }

  /** One round trip, timed and reported; undefined when it failed. */
  private async timed<T>(operation: StoreOperation, run: () => Promise<T>): Promise<T | undefined> {
    const started = performance.now();
    this.inFlight++;
    try {
      const r = await run();
      this.done(operation, started, undefined);
      return r;
    } catch (err) {
      this.done(operation, started, err);
      return undefined;
    } finally {
      this.inFlight--;
    }
  }

  private done(operation: StoreOperation, started: number, err: unknown): void {
    this.events.emit('operation', operation, (performance.now() - started) / 1000, err === undefined ? undefined : err instanceof Error ? err : new Error('store operation failed'));
  }

  private setStatus(status: StoreStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.events.emit('status', status);
  }
}
