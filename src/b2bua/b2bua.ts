/**
 * The B2BUA: starts a call for every admitted INVITE, routes CANCELs to it,
 * hangs calls up on request, and keeps the books on how calls end.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import type { Clock } from '../limits/clock.js';
import type { CallLease } from '../limits/concurrency.js';
import type { MediaEndpoint, PstnEmulator } from '../pstn/emulator.js';
import type { UserAgentCore } from '../sip/dialog/index.js';
import type { InviteServerTransaction } from '../sip/transaction/index.js';
import type { TrunkMatch } from '../termination/directory.js';
import type { CallStarter } from '../termination/front-door.js';
import type { BLeg } from './b-leg.js';
import { BuiltinLeg } from './builtin-leg.js';
import { Call, type CallInfo, DISPOSITIONS, type Disposition } from './call.js';
import { CarrierLeg } from './carrier-leg.js';
import type { TransferOutcome } from './transfer.js';
import { TransferLegs } from './transfer-legs.js';

export interface B2buaOptions {
  core: UserAgentCore;
  emulator: PstnEmulator;
  /** Where the SDP offers of the calls trunkgate places itself point (a transfer's new call). */
  media: MediaEndpoint;
  alerts: AlertLog;
  clock: Clock;
  logger: Logger;
}

export interface B2buaEventMap {
  /**
   * A call was admitted and is about to start its far leg: its A-leg Call-ID
   * is `call.sipCallId`, the far leg's `carrierCallId` (none for the emulator).
   */
  callStarted: [call: Call, carrierCallId: string | undefined];
  /** A call's INVITE got its final response, `setupSeconds` after it arrived. */
  callSetUp: [call: Call, setupSeconds: number];
  /** A call ended (once per call). */
  callEnded: [call: Call, disposition: Disposition];
  /** A REFER was refused, or its transfer completed or failed (SPEC §9). */
  transfer: [trunk: string, outcome: TransferOutcome];
}

export class B2bua implements CallStarter {
  readonly calls = new Map<string, Call>();
  readonly events = new EventEmitter<B2buaEventMap>();
  private readonly byTransaction = new Map<InviteServerTransaction, Call>();
  readonly stats = {
    started: 0,
    ended: Object.fromEntries(DISPOSITIONS.map((d) => [d, 0])) as Record<Disposition, number>,
  };

  private readonly hooks = {
    settled: (call: Call, tx: InviteServerTransaction, setupSeconds: number) => {
      this.byTransaction.delete(tx);
      this.events.emit('callSetUp', call, setupSeconds);
    },
    ended: (call: Call, disposition: Disposition) => this.ended(call, disposition),
    transferLegs: (call: Call) => this.transferLegs.withRingTimeout(call.info.ringTimeoutMs),
    transferred: (call: Call, outcome: TransferOutcome) => this.events.emit('transfer', call.info.trunk, outcome),
  };

  private readonly transferLegs: TransferLegs;

  constructor(private readonly options: B2buaOptions) {
    this.transferLegs = new TransferLegs(options.core, options.emulator, options.media, 180_000);
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Start the call for an admitted INVITE. */
  start(tx: InviteServerTransaction, admitted: { match: TrunkMatch; lease: CallLease }): Call {
    const { core, alerts, logger, clock } = this.options;
    const { trunk, region, edge } = admitted.match;
    const info: CallInfo = {
      trunk: trunk.name,
      account: trunk.account.name,
      region,
      edge,
      route: trunk.route,
      ringTimeoutMs: trunk.config.ringTimeoutMs,
      secure: trunk.config.secure,
      lease: admitted.lease,
      maxDurationMs: trunk.maxDurationMs,
      transfer: trunk.transfer,
    };
    const call = new Call(core, tx, info, this.hooks, alerts, logger, clock);
    this.calls.set(call.id, call);
    this.byTransaction.set(tx, call);
    this.stats.started++;
    const far = this.farLeg(call);
    this.events.emit('callStarted', call, far.callId);
    call.start(far);
    return call;
  }

  private farLeg(call: Call): BLeg {
    const route = call.info.route;
    if (route.kind === 'builtin') return new BuiltinLeg(this.options.emulator, call.called, call.offer, call, call.info.secure);
    return new CarrierLeg(
      this.options.core,
      {
        destination: { transport: route.transport, address: route.address, port: route.port },
        called: call.called,
        caller: call.caller,
        callerDisplayName: call.callerDisplayName,
        offer: call.offer,
        ringTimeoutMs: call.info.ringTimeoutMs,
      },
      call,
    );
  }

  /** A CANCEL for an INVITE not yet answered. Returns false when no call matches. */
  cancel(tx: InviteServerTransaction): boolean {
    const call = this.byTransaction.get(tx);
    if (call === undefined) return false;
    call.cancelFromA();
    return true;
  }

  /** Admin hang-up (BYE both legs). Returns false when there is no such call. */
  hangup(id: string): boolean {
    const call = this.calls.get(id);
    if (call === undefined) return false;
    call.hangup('admin');
    return true;
  }

  /** End every call now (shutdown): BYE both legs, or refuse those not answered. */
  endAll(): void {
    for (const call of [...this.calls.values()]) call.hangup('shutdown');
  }

  private ended(call: Call, disposition: Disposition): void {
    this.calls.delete(call.id);
    const tx = call.tx;
    if (tx !== undefined) this.byTransaction.delete(tx);
    this.stats.ended[disposition]++;
    this.events.emit('callEnded', call, disposition);
  }
}
