/**
 * An inbound load run (SPEC §11: "an admin call and a CLI command place
 * inbound calls at a set rate and count"): `calls` inbound calls to the
 * trunk's numbers at `rate` calls per second — the rate the user asks for,
 * not limited by trunkgate, as the provider does not limit incoming calls —
 * each answered call held `holdMs`, and the report of what the PBX did with
 * them: where they were delivered, how often a URI failed over, how many were
 * not delivered at the account's concurrency cap, and the PBX's final
 * answers by status.
 *
 * Paced by the schedule, not by the timer: each tick starts every call due
 * by then (`floor(elapsed × rate) + 1`), so a late tick catches up and the
 * rate holds on average. Bounded in count (at most `calls`) and so in time.
 */
import type { AttemptResult, InboundOutcome } from './inbound-call.js';

export type RunState = 'running' | 'completed' | 'stopped';

export interface RunSettings {
  trunk: string;
  /** Calls per second. */
  rate: number;
  calls: number;
  holdMs: number;
  /** Called numbers, used in turn. */
  to: readonly string[];
  /** Callers, used in turn. */
  from: readonly string[];
}

/** `GET /v1/origination/{id}`. */
export interface RunReport {
  id: string;
  trunk: string;
  state: RunState;
  /** Why a run stopped before the end: `api` (DELETE), `shutdown`, `trunk-removed`. */
  stoppedBy: string | null;
  rate: number;
  calls: number;
  holdMs: number;
  /** Calls the emulated callers made so far. */
  offered: number;
  /** Calls delivered, by where: the origination URI whose final answer settled the call, or the webhook URL. */
  delivered: Record<string, number>;
  /** Attempts that failed over to the next URI. */
  failovers: number;
  /** Calls not delivered because the trunk or the account was at its concurrency cap (alert 10004). */
  refusedAtCap: number;
  /** The final answer of every attempt at a URI, by status; `no-response` for an attempt that drew none. */
  answers: Record<string, number>;
  /** Calls that ended, by outcome. */
  outcomes: Record<string, number>;
  /** Calls under way now. */
  active: number;
  startedAt: string;
  endedAt: string | null;
  /** Seconds from the first call to the last one offered (the rate achieved is offered / this). */
  offerSeconds: number;
}

export interface RunStarter {
  /** Start one call of the run (asynchronous when the lease needs a shared store). */
  startCall(run: OriginationRun, to: string, from: string): void;
}

const TICK_MS = 5;

export class OriginationRun {
  state: RunState = 'running';
  stoppedBy: string | null = null;
  offered = 0;
  active = 0;
  failovers = 0;
  refusedAtCap = 0;
  readonly delivered: Record<string, number> = {};
  readonly answers: Record<string, number> = {};
  readonly outcomes: Record<string, number> = {};
  private readonly startedAt = Date.now();
  private endedAt: number | undefined;
  private startedPerf = 0;
  private lastOfferPerf = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly settings: RunSettings,
    private readonly starter: RunStarter,
    private readonly onDone: (run: OriginationRun) => void,
  ) {}

  start(): void {
    this.startedPerf = performance.now();
    this.tick();
    if (this.offered < this.settings.calls) this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    if (this.state !== 'running') return;
    const s = this.settings;
    const elapsed = (performance.now() - this.startedPerf) / 1000;
    const due = Math.min(s.calls, Math.floor(elapsed * s.rate) + 1);
    while (this.offered < due && this.state === 'running') {
      const i = this.offered++;
      this.active++;
      this.lastOfferPerf = performance.now();
      this.starter.startCall(this, s.to[i % s.to.length] as string, s.from[i % s.from.length] as string);
    }
    if (this.offered >= s.calls) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.maybeDone();
    }
  }

  // ------------------------------------------------------------ what the calls report

  attempted(result: AttemptResult, status: number | undefined): void {
    if (result.startsWith('failover_')) this.failovers++;
    const key = status === undefined ? (result === 'ring_timeout' ? 'ring-timeout' : 'no-response') : String(status);
    this.answers[key] = (this.answers[key] ?? 0) + 1;
  }

  deliveredTo(where: string): void {
    this.delivered[where] = (this.delivered[where] ?? 0) + 1;
  }

  ended(outcome: InboundOutcome): void {
    this.active--;
    if (outcome === 'concurrency_limited') this.refusedAtCap++;
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    this.maybeDone();
  }

  /** Stop placing calls (DELETE, shutdown): the run is cut short; calls under way end as the caller of `stop` says. */
  stop(by: string): void {
    if (this.state !== 'running') return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.state = 'stopped';
    this.stoppedBy = by;
    if (this.active === 0) this.finish();
  }

  private maybeDone(): void {
    if (this.active > 0) return;
    if (this.state === 'running' && this.offered >= this.settings.calls) {
      this.state = 'completed';
      this.finish();
    } else if (this.state === 'stopped') this.finish();
  }

  private finish(): void {
    if (this.endedAt !== undefined) return;
    this.endedAt = Date.now();
    this.onDone(this);
  }

  get finished(): boolean {
    return this.endedAt !== undefined;
  }

  report(): RunReport {
    const s = this.settings;
    return {
      id: this.id,
      trunk: s.trunk,
      state: this.state,
      stoppedBy: this.stoppedBy,
      rate: s.rate,
      calls: s.calls,
      holdMs: s.holdMs,
      offered: this.offered,
      delivered: { ...this.delivered },
      failovers: this.failovers,
      refusedAtCap: this.refusedAtCap,
      answers: { ...this.answers },
      outcomes: { ...this.outcomes },
      active: this.active,
      startedAt: new Date(this.startedAt).toISOString(),
      endedAt: this.endedAt === undefined ? null : new Date(this.endedAt).toISOString(),
      offerSeconds: this.offered <= 1 ? 0 : Math.round(this.lastOfferPerf - this.startedPerf) / 1000,
    };
  }
}
