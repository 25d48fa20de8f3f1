/**
 * Client transactions (RFC 3261 §17.1, RFC 6026 §7.2, §8).
 */
import { SipHeaders, SipRequest, type SipResponse } from '../message/index.js';
import { type Destination, type SipTransport, isReliable } from '../transport/sip-transport.js';
import type { TerminationReason } from './server-transactions.js';
import { type TimerConfig, type TransactionTimers, timersFor } from './timers.js';

export interface ClientTransactionHandlers {
  /** Every response passed up: provisionals, the final, and (INVITE, Accepted state) 2xx retransmissions. */
  onResponse(res: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired with no final response. */
  onTimeout?(tx: ClientTransaction): void;
  /** The transport could not deliver the request (RFC 3261 §17.1.4). */
  onTransportError?(err: Error, tx: ClientTransaction): void;
  /** The transaction ended, however it ended. */
  onTerminated?(reason: TerminationReason, tx: ClientTransaction): void;
}

export interface ClientTransactionHost {
  readonly transport: SipTransport;
  readonly timerConfig: TimerConfig;
  removeClient(tx: ClientTransaction): void;
  /** Send a CANCEL for an INVITE client transaction (§9.1). */
  sendCancel(tx: InviteClientTransaction): void;
}

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export abstract class ClientTransaction {
  abstract readonly kind: 'ict' | 'nict';
  abstract get state(): InviteClientState | NonInviteClientState;
  readonly timers: TransactionTimers;
  protected wire: Buffer | undefined;
  protected terminated = false;

  constructor(
    protected readonly host: ClientTransactionHost,
    readonly key: string,
    readonly request: SipRequest,
    readonly destination: Destination,
    protected readonly handlers: ClientTransactionHandlers,
  ) {
    this.timers = timersFor(host.timerConfig, isReliable(destination.transport));
  }

  abstract start(): void;
  abstract receiveResponse(res: SipResponse): void;
  abstract terminate(reason: TerminationReason): void;

  protected transmit(): void {
    if (this.wire === undefined) {
      this.wire = this.host.transport.send(this.request, this.destination, (err) => this.transportError(err));
    } else {
      this.host.transport.resend(this.wire, this.destination, (err) => this.transportError(err));
    }
  }

  protected transportError(err: Error): void {
    if (this.terminated) return;
    this.handlers.onTransportError?.(err, this);
    this.terminate('transport-error');
  }

  protected finish(reason: TerminationReason): void {
    this.host.removeClient(this);
    this.handlers.onTerminated?.(reason, this);
  }
}

/** INVITE client transaction (§17.1.1, Figure 5 as amended by RFC 6026 Figure 3). */
export class InviteClientTransaction extends ClientTransaction {
  readonly kind = 'ict' as const;
  private _state: InviteClientState = 'calling';
  private timerA: NodeJS.Timeout | undefined;
  private timerAInterval = 0;
  private timerBDM: NodeJS.Timeout | undefined;
  private ackWire: Buffer | undefined;
  private cancelWanted = false;
  private cancelSent = false;

  get state(): InviteClientState {
    return this._state;
  }

  start(): void {
    this.transmit();
    if (!this.timers.reliable) {
      this.timerAInterval = this.timers.A;
      this.scheduleA();
    }
    this.timerBDM = setTimeout(() => {
      if (this._state !== 'calling') return;
      this.handlers.onTimeout?.(this);
      this.terminate('timeout');
    }, this.timers.B);
    this.timerBDM.unref();
  }

  private scheduleA(): void {
    this.timerA = setTimeout(() => {
      if (this._state !== 'calling') return;
      this.transmit();
      this.timerAInterval *= 2;
      this.scheduleA();
    }, this.timerAInterval);
    this.timerA.unref();
  }

  /**
   * Ask for the INVITE to be cancelled (§9.1): the CANCEL goes out now if a
   * provisional response has arrived, or as soon as one does.
   */
  cancel(): void {
    if (this._state === 'proceeding') this.doCancel();
    else if (this._state === 'calling') this.cancelWanted = true;
  }

  get cancelRequested(): boolean {
    return this.cancelWanted || this.cancelSent;
  }

  private doCancel(): void {
    if (this.cancelSent) return;
    this.cancelSent = true;
    this.host.sendCancel(this);
    // §9.1: no final response 64·T1 after the CANCEL: the INVITE transaction is over
    // (a far end that rings forever and ignores the CANCEL must not keep it alive).
    clearTimeout(this.timerBDM);
    this.timerBDM = setTimeout(() => {
      if (this._state !== 'proceeding') return;
      this.handlers.onTimeout?.(this);
      this.terminate('timeout');
    }, this.timers.B);
    this.timerBDM.unref();
  }

  receiveResponse(res: SipResponse): void {
    const status = res.status;
    switch (this._state) {
      case 'calling':
      case 'proceeding':
        clearTimeout(this.timerA);
        if (status < 200) {
          this._state = 'proceeding';
          this.handlers.onResponse(res, this);
          if (this.cancelWanted) this.doCancel();
          return;
        }
        clearTimeout(this.timerBDM);
        if (status < 300) {
          this._state = 'accepted';
          this.timerBDM = setTimeout(() => this.terminate('normal'), this.timers.M);
          this.timerBDM.unref();
          this.handlers.onResponse(res, this);
          return;
        }
        this._state = 'completed';
        this.sendAck(res);
        this.handlers.onResponse(res, this);
        if (this.terminated) return;
        if (this.timers.D === 0) this.terminate('normal');
        else {
          this.timerBDM = setTimeout(() => this.terminate('normal'), this.timers.D);
          this.timerBDM.unref();
        }
        return;
      case 'completed':
        if (status >= 300) this.sendAck(res);
        return;
      case 'accepted':
        if (status >= 200 && status < 300) this.handlers.onResponse(res, this);
        return;
      default:
        return;
    }
  }

  /** ACK for a non-2xx final response (§17.1.1.3). */
  private sendAck(res: SipResponse): void {
    if (this.ackWire === undefined) {
      const ack = createNon2xxAck(this.request, res);
      this.ackWire = this.host.transport.send(ack, this.destination);
    } else {
      this.host.transport.resend(this.ackWire, this.destination);
    }
  }

  terminate(reason: TerminationReason): void {
    if (this.terminated) return;
    this.terminated = true;
    this._state = 'terminated';
    clearTimeout(this.timerA);
    clearTimeout(this.timerBDM);
    this.finish(reason);
  }
}

/** Non-INVITE client transaction (§17.1.2, Figure 6). */
export class NonInviteClientTransaction extends ClientTransaction {
  readonly kind = 'nict' as const;
  private _state: NonInviteClientState = 'trying';
  private timerE: NodeJS.Timeout | undefined;
  private timerEInterval = 0;
  private timerFK: NodeJS.Timeout | undefined;

  get state(): NonInviteClientState {
    return this._state;
  }

  start(): void {
    this.transmit();
    if (!this.timers.reliable) {
      this.timerEInterval = this.timers.E;
      this.scheduleE();
    }
    this.timerFK = setTimeout(() => {
      if (this._state !== 'trying' && this._state !== 'proceeding') return;
      this.handlers.onTimeout?.(this);
      this.terminate('timeout');
    }, this.timers.F);
    this.timerFK.unref();
  }

  private scheduleE(): void {
    this.timerE = setTimeout(() => {
      if (this._state !== 'trying' && this._state !== 'proceeding') return;
      this.transmit();
      this.timerEInterval = this._state === 'proceeding' ? this.timers.T2 : Math.min(2 * this.timerEInterval, this.timers.T2);
      this.scheduleE();
    }, this.timerEInterval);
    this.timerE.unref();
  }

  receiveResponse(res: SipResponse): void {
    if (this._state !== 'trying' && this._state !== 'proceeding') return;
    if (res.status < 200) {
      this._state = 'proceeding';
      this.handlers.onResponse(res, this);
      return;
    }
    this._state = 'completed';
    clearTimeout(this.timerE);
    clearTimeout(this.timerFK);
    this.handlers.onResponse(res, this);
    if (this.terminated) return;
    if (this.timers.K === 0) this.terminate('normal');
    else {
      this.timerFK = setTimeout(() => this.terminate('normal'), this.timers.K);
      this.timerFK.unref();
    }
  }

  terminate(reason: TerminationReason): void {
    if (this.terminated) return;
    this.terminated = true;
    this._state = 'terminated';
    clearTimeout(this.timerE);
    clearTimeout(this.timerFK);
    this.finish(reason);
  }
}

/**
 * The ACK for a non-2xx final response (§17.1.1.3): Request-URI, Call-ID,
 * From, CSeq number and the single top Via of the INVITE; To from the
 * response; the INVITE's Route headers.
 */
export function createNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const h = new SipHeaders();
  const via = invite.topViaRaw;
  if (via !== undefined) h.append('Via', via);
  for (const route of invite.headers.getAll('route')) h.append('Route', route);
  h.append('Max-Forwards', '70');
  h.append('From', invite.headers.get('from') ?? '');
  h.append('To', res.headers.get('to') ?? invite.headers.get('to') ?? '');
  h.append('Call-ID', invite.callId);
  h.append('CSeq', `${invite.cseq?.seq ?? 1} ACK`);
  return new SipRequest('ACK', invite.uri, h);
}
