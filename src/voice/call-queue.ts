/**
 * The per-account queue of API-created calls (SPEC §10): calls beyond the
 * account's CPS wait here, first in first out, and are placed at the CPS
 * rate by the same limiter code as the trunks (src/limits/). Pure: time comes
 * from the caller (`now`), so tests drive it with a ManualClock.
 *
 * - `offer()` refuses a call that would make the queue hold more than
 *   `queueMaxWaitSeconds` of calls (22005): at 1 CPS and 86 400 s, the
 *   86 401st queued call is refused, as the provider documents.
 * - `pump()` first cancels calls queued longer than the bound (oldest
 *   first), then places calls while the account has room (`canPlace`: the
 *   voice concurrency cap; the head waits there while the account is full)
 *   and the limiter admits, and says when to pump next.
 * - `estimateWaitMs(position)` is the `queue_time` the API reports for a call
 *   still queued: how long until the limiter admits that many calls.
 */
import type { Clock } from '../limits/clock.js';
import { type CpsSettings, CpsScope } from '../limits/cps-scope.js';
import type { RateLimiter } from '../limits/rate-limiters.js';

export interface Queued {
  readonly sid: string;
  /** When the call joined the queue (ms, the gateway's clock). */
  readonly queuedAt: number;
}

export interface QueueSettings extends CpsSettings {
  /** The 22005 bound and the cancel age (ms). */
  maxWaitMs: number;
}

export interface PumpHandlers<T> {
  /** Whether the account may start another call now (its voice concurrency). */
  canPlace(): boolean;
  place(item: T): void;
  /** A call queued longer than the bound: cancelled. */
  expire(item: T): void;
}

export class CallQueue<T extends Queued> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private count = 0;
  private readonly scope: CpsScope;
  /** Placed since start; cancelled for age; refused (22005). */
  readonly stats = { placed: 0, expired: 0, refused: 0, removed: 0 };
  /** True while the head waits for the account's concurrency to fall. */
  blockedByConcurrency = false;

  constructor(
    readonly account: string,
    public settings: QueueSettings,
  ) {
    this.scope = new CpsScope('account', account, 'voice');
  }

  get depth(): number {
    return this.count;
  }

  private get limiter(): RateLimiter {
    return this.scope.limiter(this.settings);
  }

  /** The most calls the queue holds: `queueMaxWaitSeconds` of calls at the CPS. */
  get capacity(): number {
    return Math.floor((this.settings.maxWaitMs / 1000) * this.settings.cps);
  }

  /** Queue a call, or refuse it (22005) when the queue already holds the bound's worth of calls. */
  offer(item: T): boolean {
    if (this.count >= this.capacity) {
      this.stats.refused++;
      return false;
    }
    this.items.push(item);
    this.count++;
    return true;
  }

  /** Take a call out (cancelled through the API). Returns false when it is not queued. */
  remove(item: T): boolean {
    const i = this.items.indexOf(item, this.head);
    if (i === -1) return false;
    this.items[i] = undefined;
    this.count--;
    this.stats.removed++;
    this.skipHoles();
    return true;
  }

  /** 0 for the call at the head; -1 when it is not queued. */
  position(item: T): number {
    let p = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const x = this.items[i];
      if (x === item) return p;
      if (x !== undefined) p++;
    }
    return -1;
  }

  /** The queued calls in order. */
  *queued(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) {
      const x = this.items[i];
      if (x !== undefined) yield x;
    }
  }

  /** The call that would be placed next. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /**
   * Milliseconds until the call at `position` (0 = the head) is placed, if
   * the account's concurrency allows: the limiter's admissions available now
   * cover the first ones, then one per 1/CPS s.
   */
  estimateWaitMs(position: number, now: number): number {
    const cps = this.settings.cps;
    if (cps <= 0) return Number.POSITIVE_INFINITY;
    const available = this.limiter.available(now);
    const short = position + 1 - available;
    return short <= 0 ? 0 : Math.ceil((short / cps) * 1000);
  }

  /**
   * Cancel what is too old, place what may be placed; returns when to pump
   * again (ms on the same clock), or undefined when only a released lease
   * or a new call can change anything.
   */
  pump(now: number, handlers: PumpHandlers<T>): number | undefined {
    const maxWaitMs = this.settings.maxWaitMs;
    for (let item = this.peek(); item !== undefined && now - item.queuedAt >= maxWaitMs; item = this.peek()) {
      this.shift();
      this.stats.expired++;
      handlers.expire(item);
    }
    this.blockedByConcurrency = false;
    const limiter = this.limiter;
    while (this.count > 0) {
      if (!handlers.canPlace()) {
        this.blockedByConcurrency = true;
        break;
      }
      if (!limiter.tryTake(now)) break;
      const item = this.shift() as T;
      this.stats.placed++;
      handlers.place(item);
    }
    const head = this.peek();
    if (head === undefined) return undefined;
    const expiresAt = head.queuedAt + maxWaitMs;
    if (this.blockedByConcurrency) return expiresAt;
    return Math.min(expiresAt, now + this.nextAdmissionInMs(limiter, now));
  }

  /** How long until the limiter admits one more (each algorithm knows exactly). */
  private nextAdmissionInMs(limiter: RateLimiter, now: number): number {
    return Math.max(1, Math.ceil(limiter.nextAdmissionAt(now) - now));
  }

  private shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head] = undefined;
    this.head++;
    this.count--;
    this.skipHoles();
    return item;
  }

  private skipHoles(): void {
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Runs a queue's pump on timers: pumps now, then again when the queue says.
 * The timer reads the gateway's clock for `now`; `kick()` pumps at once
 * (a new call, a released lease, a reload).
 */
export class QueueDriver<T extends Queued> {
  private timer: NodeJS.Timeout | undefined;
  private wakeAt: number | undefined;
  private stopped = false;

  constructor(
    readonly queue: CallQueue<T>,
    private readonly clock: Clock,
    private readonly handlers: PumpHandlers<T>,
  ) {}

  kick(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock.now();
    const next = this.queue.pump(now, this.handlers);
    this.wakeAt = next;
    if (next === undefined || !Number.isFinite(next)) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, next - this.clock.now()));
  }

  /** Stop placing calls (shutdown): what is queued stays queued. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  get nextWakeAt(): number | undefined {
    return this.wakeAt;
  }
}
