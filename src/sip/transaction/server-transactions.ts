/**
 * Server transactions (RFC 3261 §17.2, RFC 6026 §7.1, §8).
 */
import { type SipRequest, type SipResponse, createResponse, newTag } from '../message/index.js';
import { type Destination, type SipTransport, isReliable } from '../transport/sip-transport.js';
import { type TimerConfig, type TransactionTimers, timersFor } from './timers.js';

/** Why a transaction ended, as seen by the TU. */
export type TerminationReason = 'normal' | 'timeout' | 'transport-error' | 'dropped' | 'shutdown';

/** What a server transaction needs from the layer that owns it. */
export interface ServerTransactionHost {
  readonly transport: SipTransport;
  readonly timerConfig: TimerConfig;
  removeServer(tx: ServerTransaction): void;
  /** An INVITE was answered once (`replyOnce`): remember its bytes, to answer its retransmissions again one for one. */
  answeredOnce(tx: ServerTransaction, wire: Buffer): void;
}

export interface ReplyOptions {
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export abstract class ServerTransaction {
  abstract readonly kind: 'ist' | 'nist';
  abstract get state(): InviteServerState | NonInviteServerState;
  readonly destination: Destination;
  readonly timers: TransactionTimers;
  /** Called once when the transaction ends. */
  onTerminated: ((reason: TerminationReason) => void) | undefined = undefined;

  protected lastResponse: Buffer | undefined;
  private tag: string | undefined;
  /** The request, until the transaction has its final response (then only the retransmission state is kept). */
  private req: SipRequest | undefined;

  constructor(
    protected readonly host: ServerTransactionHost,
    readonly key: string,
    request: SipRequest,
  ) {
    this.req = request;
    this.destination = host.transport.responseDestination(request);
    this.timers = timersFor(host.timerConfig, isReliable(this.destination.transport));
  }

  /**
   * The request this transaction answers. Kept until the final response is
   * sent: a transaction waiting out its timers (up to 64·T1) keeps only what
   * a retransmission needs, so thousands of them cost little memory.
   */
  get request(): SipRequest {
    if (this.req === undefined) throw new Error(`transaction ${this.state}: its request is no longer kept`);
    return this.req;
  }

  /** Whether the transaction still takes a response from the TU (and still has its request). */
  get open(): boolean {
    return this.req !== undefined;
  }

  /** Called by the state machine once no new response can be built. */
  protected releaseRequest(): void {
    this.tag ??= this.req?.toTag ?? newTag(); // fix the To tag while the request is at hand
    this.req = undefined;
  }

  /** The To tag this transaction's responses carry (made once, on first use). */
  get localTag(): string {
    this.tag ??= this.request.toTag ?? newTag();
    return this.tag;
  }

  /** Build a response to the request with this transaction's To tag (none on 100). */
  createResponse(status: number, reason?: string, options?: ReplyOptions): SipResponse {
    const res = createResponse(this.request, status, reason, status === 100 ? undefined : this.localTag);
    if (options?.headers !== undefined) for (const [n, v] of options.headers) res.headers.append(n, v);
    if (options?.body !== undefined) {
      res.body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
      if (options.contentType !== undefined) res.headers.set('Content-Type', options.contentType);
    }
    return res;
  }

  /**
   * Build and send a response. Undefined when the transaction no longer takes
   * one (it has its final response, or it ended): a late answer from the TU
   * (an async relay that lost a race) is dropped, not an error.
   */
  reply(status: number, reason?: string, options?: ReplyOptions): SipResponse | undefined {
    if (!this.open) return undefined;
    const res = this.createResponse(status, reason, options);
    this.respond(res);
    return res;
  }

  /** Pass a response from the TU down to the transport (§17.2.1, §17.2.2). */
  abstract respond(res: SipResponse): void;

  /** A retransmission of the request arrived (matched this transaction). */
  abstract receiveRequest(req: SipRequest): void;

  private sent = false;

  /** Whether any response has been sent. */
  get responded(): boolean {
    return this.sent;
  }

  protected transmit(res: SipResponse): void {
    this.sent = true;
    this.lastResponse = this.host.transport.send(res, this.destination, (err) => this.transportError(err));
  }

  protected retransmit(): void {
    if (this.lastResponse !== undefined) {
      this.host.transport.resend(this.lastResponse, this.destination, (err) => this.transportError(err));
    }
  }

  protected transportError(_err: Error): void {
    this.terminate('transport-error');
  }

  /** End the transaction (idempotent). */
  abstract terminate(reason: TerminationReason): void;

  protected finish(reason: TerminationReason): void {
    this.req = undefined;
    this.host.removeServer(this);
    const cb = this.onTerminated;
    this.onTerminated = undefined;
    cb?.(reason);
  }
}

/**
 * INVITE server transaction (§17.2.1, Figure 7 as amended by RFC 6026 Figure 5).
 */
export class InviteServerTransaction extends ServerTransaction {
  readonly kind = 'ist' as const;
  private _state: InviteServerState = 'proceeding';
  private timerG: NodeJS.Timeout | undefined;
  private timerGInterval = 0;
  private timerHIL: NodeJS.Timeout | undefined;
  /** Set by `drop()` while the TU looks at a new INVITE: no response at all goes out. */
  dropped = false;
  /** Set when a CANCEL for this INVITE was received. */
  cancelled = false;
  /** The 2xx as sent, until the TU takes it to retransmit (`takeAnswerWire`). */
  private answerWire: Buffer | undefined;

  /**
   * The bytes of the 2xx this transaction sent, once (later calls: undefined):
   * what the TU retransmits until the ACK (RFC 6026 §7.1), without
   * serialising the response a second time.
   */
  takeAnswerWire(): Buffer | undefined {
    const wire = this.answerWire;
    this.answerWire = undefined;
    return wire;
  }

  get state(): InviteServerState {
    return this._state;
  }

  /**
   * Silently discard this INVITE (SPEC §4.1: an unknown trunk gets no
   * response, not even 100). Only valid before anything has been sent.
   */
  drop(): void {
    if (this.responded) throw new Error('cannot drop an INVITE that has been answered');
    this.dropped = true;
    this.terminate('dropped');
  }

  /**
   * Answer with a final response (3xx-6xx) once and end the transaction at
   * once: no Timer G retransmissions and no wait for the ACK. For refusals
   * sent before the sender is authenticated (an ACL miss, a challenge, bad
   * credentials), so that a spoofed source gets at most one datagram per
   * datagram it "sent". The transaction layer keeps the response's bytes for
   * 64·T1: a retransmitted INVITE is answered again, one for one, and the ACK
   * is absorbed. Undefined when the transaction no longer takes a response.
   */
  replyOnce(status: number, reason?: string, options?: ReplyOptions): SipResponse | undefined {
    if (status < 300 || status > 699) throw new Error(`replyOnce is for final refusals (3xx-6xx), not ${status}`);
    if (!this.open || this._state !== 'proceeding') return undefined;
    const res = this.createResponse(status, reason, options);
    this.transmit(res);
    const wire = this.lastResponse;
    if (wire !== undefined) this.host.answeredOnce(this, wire);
    this.terminate('normal');
    return res;
  }

  respond(res: SipResponse): void {
    const status = res.status;
    if (this._state === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 §7.1: the TU's 2xx retransmissions pass through in Accepted.
      this.transmit(res);
      return;
    }
    if (this._state !== 'proceeding') return;
    this.transmit(res);
    if (status < 200) return;
    if (status < 300) {
      this._state = 'accepted';
      // RFC 6026: in Accepted the transaction never resends anything (the TU
      // retransmits its 2xx); keep no copy while it waits out Timer L. The
      // bytes are handed once to the TU that retransmits them (`takeAnswerWire`),
      // over UDP only: on a reliable transport nothing retransmits a 2xx.
      if (!this.timers.reliable) this.answerWire = this.lastResponse;
      this.lastResponse = undefined;
      this.releaseRequest();
      this.timerHIL = setTimeout(() => this.terminate('normal'), this.timers.L);
      this.timerHIL.unref();
      return;
    }
    this._state = 'completed';
    this.releaseRequest();
    if (!this.timers.reliable) {
      this.timerGInterval = this.timers.G;
      this.scheduleG();
    }
    this.timerHIL = setTimeout(() => this.timerHFired(), this.timers.H);
    this.timerHIL.unref();
  }

  private scheduleG(): void {
    this.timerG = setTimeout(() => {
      if (this._state !== 'completed') return;
      this.retransmit();
      this.timerGInterval = Math.min(2 * this.timerGInterval, this.timers.T2);
      this.scheduleG();
    }, this.timerGInterval);
    this.timerG.unref();
  }

  private timerHFired(): void {
    if (this._state === 'completed') this.terminate('timeout');
  }

  receiveRequest(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this._state === 'completed') {
        this._state = 'confirmed';
        clearTimeout(this.timerG);
        clearTimeout(this.timerHIL);
        if (this.timers.I === 0) this.terminate('normal');
        else {
          this.timerHIL = setTimeout(() => this.terminate('normal'), this.timers.I);
          this.timerHIL.unref();
        }
      }
      return;
    }
    // A retransmitted INVITE: resend the last provisional (Proceeding) or the final (Completed).
    if (this._state === 'proceeding' || this._state === 'completed') this.retransmit();
  }

  terminate(reason: TerminationReason): void {
    if (this._state === 'terminated') return;
    this._state = 'terminated';
    clearTimeout(this.timerG);
    clearTimeout(this.timerHIL);
    this.finish(reason);
  }
}

/** Non-INVITE server transaction (§17.2.2, Figure 8). */
export class NonInviteServerTransaction extends ServerTransaction {
  readonly kind = 'nist' as const;
  private _state: NonInviteServerState = 'trying';
  private timerJ: NodeJS.Timeout | undefined;

  get state(): NonInviteServerState {
    return this._state;
  }

  respond(res: SipResponse): void {
    if (this._state !== 'trying' && this._state !== 'proceeding') return;
    this.transmit(res);
    if (res.status < 200) {
      this._state = 'proceeding';
      return;
    }
    this._state = 'completed';
    this.releaseRequest();
    if (this.timers.J === 0) this.terminate('normal');
    else {
      this.timerJ = setTimeout(() => this.terminate('normal'), this.timers.J);
      this.timerJ.unref();
    }
  }

  receiveRequest(_req: SipRequest): void {
    if (this._state === 'proceeding' || this._state === 'completed') this.retransmit();
  }

  terminate(reason: TerminationReason): void {
    if (this._state === 'terminated') return;
    this._state = 'terminated';
    clearTimeout(this.timerJ);
    this.finish(reason);
  }
}
