/**
 * The inbound side (SPEC §11): trunkgate places calls towards the PBX as the
 * provider delivers incoming calls — one call (`place`), or a load run at a
 * set rate (`startRun`, `POST /v1/origination`). Each call to a trunk's
 * number takes a lease in the trunk's and the account's concurrency caps
 * (the same ones termination calls take, through the limit store: shared
 * across instances with Redis), with no CPS limit; at the cap it is not
 * delivered (alert 10004). The call itself is inbound-call.ts.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import type { TransferOutcome } from '../b2bua/transfer.js';
import type { TransferLegs } from '../b2bua/transfer-legs.js';
import { type Result, errorOf } from '../errors.js';
import type { LimitResult, LimitStore } from '../limits/limit-store.js';
import type { MediaEndpoint, PstnEmulator } from '../pstn/emulator.js';
import type { UserAgentCore } from '../sip/dialog/index.js';
import { randomToken } from '../sip/message/index.js';
import { type AttemptResult, InboundCall, type InboundCallHooks, type InboundOutcome, type InboundParts } from './inbound-call.js';
import { OriginationRun, type RunReport, type RunStarter } from './origination-run.js';
import type { InboundRoute, OriginationPlan } from './plan.js';

/** The caller of inbound calls when a run names none. */
export const DEFAULT_CALLER = '+14155550000';
/** Runs kept for `GET /v1/origination` once finished (the oldest are forgotten first). */
export const MAX_FINISHED_RUNS = 100;
/** Runs under way at once. */
export const MAX_ACTIVE_RUNS = 10;

export interface OriginationEventMap {
  /** An inbound call ended. */
  call: [trunk: string, outcome: InboundOutcome];
  /** One attempt at an origination URI ended. */
  attempt: [trunk: string, result: AttemptResult];
  /** A REFER from the PBX on an inbound call was refused, or its transfer completed or failed. */
  transfer: [trunk: string, outcome: TransferOutcome];
}

export interface OriginationOptions {
  core: UserAgentCore;
  alerts: AlertLog;
  media: MediaEndpoint;
  emulator: PstnEmulator;
  voice: InboundParts['voice'];
  transferLegs: TransferLegs;
  limits: LimitStore;
  logger: Logger;
}

export interface RunRequest {
  trunk: string;
  rate: number;
  calls: number;
  holdMs?: number | undefined;
  from?: string | readonly string[] | undefined;
  to?: string | readonly string[] | undefined;
}

function list(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

export class Origination implements RunStarter {
  readonly events = new EventEmitter<OriginationEventMap>();
  private plan: OriginationPlan;
  private readonly parts: InboundParts;
  private readonly runs = new Map<string, OriginationRun>();
  private readonly finished: string[] = [];
  /** Calls under way, and the run each belongs to (none for a single call). */
  private readonly live = new Map<InboundCall, OriginationRun | undefined>();
  private draining = false;
  private readonly hooks: InboundCallHooks = {
    attempted: (call, _uri, result, status) => {
      this.live.get(call)?.attempted(result, status);
      this.events.emit('attempt', call.trunkName, result);
    },
    delivered: (call, where) => this.live.get(call)?.deliveredTo(where),
    ended: (call, outcome) => {
      const run = this.live.get(call);
      this.live.delete(call);
      this.events.emit('call', call.trunkName, outcome);
      run?.ended(outcome);
    },
    transferred: (call, outcome) => this.events.emit('transfer', call.trunkName, outcome),
  };

  constructor(
    private readonly options: OriginationOptions,
    plan: OriginationPlan,
  ) {
    this.plan = plan;
    this.parts = { core: options.core, alerts: options.alerts, media: options.media, emulator: options.emulator, voice: options.voice, transferLegs: options.transferLegs, log: options.logger };
  }

  /** A reload: new trunks, URIs and numbers for new calls; calls under way keep theirs. A run whose trunk is gone stops. */
  applyConfig(plan: OriginationPlan): void {
    this.plan = plan;
    for (const run of this.runs.values()) if (!plan.trunks.has(run.settings.trunk)) this.stopRun(run, 'trunk-removed', false);
  }

  /** Inbound calls under way. */
  get liveCalls(): number {
    return this.live.size;
  }

  // ------------------------------------------------------------ runs

  startRun(req: RunRequest): Result<RunReport> {
    if (this.draining) return { ok: false, error: errorOf('ORIGINATION_UNAVAILABLE') };
    const trunk = this.plan.trunks.get(req.trunk);
    if (trunk === undefined) return { ok: false, error: errorOf('TRUNK_NOT_FOUND', req.trunk) };
    let active = 0;
    for (const r of this.runs.values()) if (r.state === 'running') active++;
    if (active >= MAX_ACTIVE_RUNS) return { ok: false, error: errorOf('ORIGINATION_TOO_MANY_RUNS', MAX_ACTIVE_RUNS) };
    let to = list(req.to);
    if (to.length === 0) to = [...trunk.numbers];
    if (to.length === 0) return { ok: false, error: errorOf('ORIGINATION_NO_NUMBERS', req.trunk) };
    for (const n of to) {
      const route = this.plan.route(n);
      const ours = route !== undefined && (route.kind === 'trunk' ? route.trunk === trunk : route.account === trunk.trunk.account);
      if (!ours) return { ok: false, error: errorOf('ORIGINATION_NUMBER_ELSEWHERE', n, req.trunk) };
    }
    const from = list(req.from);
    const id = 'OR' + randomToken(16);
    const run = new OriginationRun(id, { trunk: req.trunk, rate: req.rate, calls: req.calls, holdMs: req.holdMs ?? 0, to, from: from.length > 0 ? from : [DEFAULT_CALLER] }, this, (r) => this.runDone(r));
    this.runs.set(id, run);
    this.options.logger.info({ run: id, trunk: req.trunk, rate: req.rate, calls: req.calls, holdMs: req.holdMs ?? 0 }, 'inbound load run started');
    run.start();
    return { ok: true, value: run.report() };
  }

  report(id: string): RunReport | undefined {
    return this.runs.get(id)?.report();
  }

  reports(): RunReport[] {
    return [...this.runs.values()].map((r) => r.report());
  }

  /** Stop a run (DELETE): no more calls; the ones under way end now (the callers hang up). */
  cancelRun(id: string): RunReport | undefined {
    const run = this.runs.get(id);
    if (run === undefined) return undefined;
    this.stopRun(run, 'api', true);
    return run.report();
  }

  private stopRun(run: OriginationRun, by: string, hangUp: boolean): void {
    run.stop(by);
    if (!hangUp) return;
    for (const [call, r] of [...this.live]) if (r === run) call.callerHangsUp();
  }

  private runDone(run: OriginationRun): void {
    const r = run.report();
    this.options.logger.info({ run: run.id, state: r.state, offered: r.offered, delivered: r.delivered, failovers: r.failovers, refusedAtCap: r.refusedAtCap, answers: r.answers }, 'inbound load run ended');
    this.finished.push(run.id);
    while (this.finished.length > MAX_FINISHED_RUNS) this.runs.delete(this.finished.shift() as string);
  }

  /** RunStarter: one call of a run. */
  startCall(run: OriginationRun, to: string, from: string): void {
    this.place(to, from, run.settings.holdMs, run);
  }

  // ------------------------------------------------------------ one call

  /**
   * Place one inbound call to `to` from `from`. A trunk's number takes its
   * lease first (no CPS): refused at the cap, the call is not delivered
   * (alert 10004, outcome `concurrency_limited`). A number with a voice URL
   * goes to its webhook, in the account's voice concurrency.
   */
  place(to: string, from: string, holdMs: number, run?: OriginationRun): InboundCall | undefined {
    const route = this.plan.route(to);
    if (route === undefined) {
      run?.ended('failed');
      return undefined;
    }
    if (route.kind === 'webhook') {
      const call = new InboundCall(this.parts, this.hooks, { from, to, holdMs }, undefined, undefined);
      this.live.set(call, run);
      call.startWebhook(route.account.name, route.webhook);
      return call;
    }
    const taken = this.options.limits.takeLease(route.trunk.trunk.leaseScopes);
    if (taken instanceof Promise) {
      // a shared store: the call starts once the store has answered
      taken.then(
        (r) => this.withLease(r, route, to, from, holdMs, run),
        () => this.withLease({ ok: false, refused: 'store-unavailable' }, route, to, from, holdMs, run),
      );
      return undefined;
    }
    return this.withLease(taken, route, to, from, holdMs, run);
  }

  private withLease(taken: LimitResult, route: Extract<InboundRoute, { kind: 'trunk' }>, to: string, from: string, holdMs: number, run: OriginationRun | undefined): InboundCall | undefined {
    const trunk = route.trunk;
    if (!taken.ok) {
      const atCap = taken.refused === 'concurrency';
      if (atCap) this.options.alerts.raise(10004, { trunk: trunk.trunk.name, detail: `inbound call to ${to}: not delivered` });
      const outcome: InboundOutcome = atCap ? 'concurrency_limited' : 'failed';
      this.events.emit('call', trunk.trunk.name, outcome);
      run?.ended(outcome);
      return undefined;
    }
    const call = new InboundCall(this.parts, this.hooks, { from, to, holdMs }, trunk, taken.lease);
    if (this.draining) {
      // stopped while the store answered: the lease goes straight back
      this.live.set(call, run);
      call.callerHangsUp('shutdown');
      return undefined;
    }
    this.live.set(call, run);
    call.start();
    return call;
  }

  // ------------------------------------------------------------ shutdown

  /** Draining: runs place no more calls (they are cut short); calls under way go on. */
  drain(): void {
    this.draining = true;
    for (const run of this.runs.values()) run.stop('shutdown');
  }

  /** Shutdown: runs stop and every inbound call ends now (CANCEL or BYE). */
  stop(): void {
    this.drain();
    for (const call of [...this.live.keys()]) call.callerHangsUp('shutdown');
  }
}
