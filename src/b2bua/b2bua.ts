/**
 * The B2BUA: starts a call for every admitted INVITE, routes CANCELs to it,
 * hangs calls up on request, and keeps the books on how calls end.
 */
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import type { PstnEmulator } from '../pstn/emulator.js';
import { type UserAgentCore, uriDestination } from '../sip/dialog/index.js';
import type { InviteServerTransaction } from '../sip/transaction/index.js';
import { formatHostPort } from '../sip/transport/index.js';
import type { BLeg } from './b-leg.js';
import { BuiltinLeg } from './builtin-leg.js';
import { Call, type CallInfo, DISPOSITIONS, type Disposition } from './call.js';
import { CarrierLeg } from './carrier-leg.js';

export interface B2buaOptions {
  core: UserAgentCore;
  emulator: PstnEmulator;
  alerts: AlertLog;
  logger: Logger;
}

export class B2bua {
  readonly calls = new Map<string, Call>();
  private readonly byTransaction = new Map<InviteServerTransaction, Call>();
  readonly stats = {
    started: 0,
    ended: Object.fromEntries(DISPOSITIONS.map((d) => [d, 0])) as Record<Disposition, number>,
  };
  /** Called once per call when it ends (metrics). */
  onCallEnded: ((call: Call, disposition: Disposition) => void) | undefined;
  /** Called once per call when its INVITE got a final response (metrics). */
  onCallSetUp: ((call: Call, setupSeconds: number) => void) | undefined;

  private readonly hooks = {
    settled: (call: Call, tx: InviteServerTransaction, setupSeconds: number) => {
      this.byTransaction.delete(tx);
      this.onCallSetUp?.(call, setupSeconds);
    },
    ended: (call: Call, disposition: Disposition) => this.ended(call, disposition),
  };

  constructor(private readonly options: B2buaOptions) {}

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Start the call for an admitted INVITE. */
  start(tx: InviteServerTransaction, info: CallInfo): Call {
    const { core, alerts, logger } = this.options;
    const call = new Call(core, tx, info, this.hooks, alerts, logger, localContact(tx, core.layer.transport.advertise.bind(core.layer.transport)));
    this.calls.set(call.id, call);
    this.byTransaction.set(tx, call);
    this.stats.started++;
    call.start(this.farLeg(call));
    return call;
  }

  private farLeg(call: Call): BLeg {
    const events = call;
    const route = call.info.route;
    if (route === 'builtin') return new BuiltinLeg(this.options.emulator, call.called, call.offer, events);
    const destination = uriDestination(route);
    if (destination === undefined) throw new Error(`route ${route} is not a sip:IP:PORT URI`);
    return new CarrierLeg(
      this.options.core,
      { destination, called: call.called, caller: call.caller, callerDisplayName: call.callerDisplayName, offer: call.offer },
      events,
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
    this.onCallEnded?.(call, disposition);
  }
}

/** Our Contact on the A-leg: the address and transport the INVITE came in on. */
export function localContact(tx: InviteServerTransaction, advertise: (address: string) => string = (a) => a): string {
  const s = tx.request.source;
  if (s === undefined) return '<sip:trunkgate@127.0.0.1>';
  const transport = s.transport === 'tcp' ? ';transport=tcp' : '';
  return `<sip:trunkgate@${formatHostPort(advertise(s.localAddress), s.localPort)}${transport}>`;
}
