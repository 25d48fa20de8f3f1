/**
 * The INVITE handshake on each side of a dialog (RFC 3261 §13):
 *
 * - `IncomingInvite` (UAS): answers, retransmits the 2xx over unreliable
 *   transports until the ACK arrives (§13.3.1.4), and reports a missing ACK
 *   after 64*T1.
 * - `OutgoingInvite` (UAC): sends the INVITE, builds the dialog from the
 *   first 2xx, sends the ACK and repeats it for retransmitted 2xx
 *   (§13.2.2.4), cancels (§9.1).
 */
import { type SipRequest, type SipResponse, serializeMessage } from '../message/index.js';
import type { ClientTransaction } from '../transaction/client-transactions.js';
import { InviteClientTransaction } from '../transaction/client-transactions.js';
import type { InviteServerTransaction, ReplyOptions, TerminationReason } from '../transaction/server-transactions.js';
import type { Destination } from '../transport/sip-transport.js';
import { Dialog } from './dialog.js';
import type { DialogUsage, UserAgentCore } from './user-agent-core.js';

/**
 * The UAS core's answer to an INVITE (§13.3.1.4): the 2xx is retransmitted
 * over unreliable transports at T1, 2·T1, … capped at T2 until `ack()`;
 * after 64·T1 without an ACK, `onAckTimeout` is called.
 */
export class AnswerRetransmitter {
  private retransmitTimer: NodeJS.Timeout | undefined;
  private giveUpTimer: NodeJS.Timeout | undefined;
  private acked = false;
  /** What a retransmission needs; dropped once done, so an answered call keeps none of it. */
  private pending: { core: UserAgentCore; wire: Buffer; destination: Destination; intervalMs: number; t2Ms: number } | undefined;

  constructor(core: UserAgentCore, tx: InviteServerTransaction, res: SipResponse, onAckTimeout: () => void) {
    const t = tx.timers;
    if (!t.reliable) {
      this.pending = { core, wire: tx.takeAnswerWire() ?? serializeMessage(res), destination: tx.destination, intervalMs: t.G, t2Ms: t.T2 };
      this.schedule();
    }
    this.giveUpTimer = setTimeout(() => {
      this.giveUpTimer = undefined;
      if (this.acked) return;
      this.stop();
      onAckTimeout();
    }, t.H);
    this.giveUpTimer.unref();
  }

  private schedule(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.retransmitTimer = setTimeout(() => {
      const q = this.pending;
      if (q === undefined) return;
      q.core.resend(q.wire, q.destination);
      q.intervalMs = Math.min(2 * q.intervalMs, q.t2Ms);
      this.schedule();
    }, p.intervalMs);
    this.retransmitTimer.unref();
  }

  get isAcked(): boolean {
    return this.acked;
  }

  /** The ACK arrived. Returns false when it was a repeat. */
  ack(): boolean {
    if (this.acked) return false;
    this.acked = true;
    this.stop();
    return true;
  }

  stop(): void {
    clearTimeout(this.retransmitTimer);
    clearTimeout(this.giveUpTimer);
    this.retransmitTimer = undefined;
    this.giveUpTimer = undefined;
    this.pending = undefined;
  }
}

/** Server side of an initial INVITE: the dialog, and the 2xx/ACK handshake. */
export class IncomingInvite {
  readonly dialog: Dialog;
  private reliable: AnswerRetransmitter | undefined;
  /** The INVITE transaction, until the answer is sent. */
  private tx: InviteServerTransaction | undefined;

  constructor(
    private readonly core: UserAgentCore,
    tx: InviteServerTransaction,
    localContact: string,
  ) {
    this.tx = tx;
    this.dialog = Dialog.asUas(tx.request, tx.localTag, localContact);
  }

  /**
   * The headers of a response that creates or confirms the dialog (RFC 3261
   * §12.1.1): the request's Record-Route, in order (so a record-routing SBC
   * stays in the path of the ACK and of every later request), and our Contact.
   */
  private dialogHeaders(extra: ReadonlyArray<readonly [string, string]> | undefined): Array<readonly [string, string]> {
    const headers: Array<readonly [string, string]> = [];
    for (const route of this.dialog.routeSet) headers.push(['Record-Route', route]);
    headers.push(['Contact', this.dialog.localContact]);
    if (extra !== undefined) for (const h of extra) if (h[0].toLowerCase() !== 'contact') headers.push(h);
    return headers;
  }

  /** A provisional response with a To tag (an early dialog): 180, 183. */
  provisional(status: number, reason: string | undefined, options: ReplyOptions): SipResponse | undefined {
    const tx = this.tx;
    if (tx === undefined || tx.state !== 'proceeding') return undefined;
    return tx.reply(status, reason, { ...options, headers: this.dialogHeaders(options.headers) });
  }

  /**
   * Send a 2xx and keep it going until `ack()` (unreliable transports), or
   * call `onAckTimeout` after 64*T1 without an ACK.
   */
  answer(status: number, options: ReplyOptions, onAckTimeout: () => void): SipResponse {
    const tx = this.tx;
    if (tx === undefined) throw new Error('the INVITE has already been answered');
    const res = tx.reply(status, undefined, { ...options, headers: this.dialogHeaders(options.headers) });
    if (res === undefined) throw new Error('the INVITE transaction no longer takes a response');
    this.dialog.state = 'confirmed';
    this.reliable = new AnswerRetransmitter(this.core, tx, res, onAckTimeout);
    this.tx = undefined;
    return res;
  }

  get isAcked(): boolean {
    return this.reliable?.isAcked ?? false;
  }

  /** The ACK for our 2xx arrived. Returns false when it was a repeat (or nothing was answered). */
  ack(): boolean {
    return this.reliable?.ack() ?? false;
  }

  /** Stop retransmitting and waiting (call teardown). */
  stop(): void {
    this.reliable?.stop();
  }
}

export interface OutgoingInviteHandlers {
  /** 1xx (other than 100 with no body, which is hop-by-hop). */
  onProgress?(res: SipResponse): void;
  /**
   * The first 2xx; the dialog is registered with the core. The ACK has been
   * sent, unless the 2xx carries the offer of a late-offer INVITE: then the
   * ACK waits for `ack(answer)`.
   */
  onAnswer(res: SipResponse, dialog: Dialog): void;
  /** The INVITE failed: a non-2xx final, Timer B, or a transport error (status 408 or 503 then). */
  onFailure(status: number, res: SipResponse | undefined, cause: 'rejected' | 'timeout' | 'transport-error'): void;
}

/** Client side of an INVITE. */
/** An SDP (or other) body for an ACK. */
export interface AckBody {
  body: Buffer;
  contentType: string | undefined;
}

export class OutgoingInvite {
  readonly tx: ClientTransaction;
  dialog: Dialog | undefined;
  private ackWire: Buffer | undefined;
  /** A late offer's 2xx arrived with the offer; the ACK (with the answer) waits for `ack()`. */
  private ackPending = false;
  private done = false;

  constructor(
    private readonly core: UserAgentCore,
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly localContact: string,
    private readonly usage: DialogUsage,
    private readonly handlers: OutgoingInviteHandlers,
  ) {
    this.tx = core.sendRequest(request, destination, {
      onResponse: (res) => this.onResponse(res),
      onTimeout: () => this.fail(408, undefined, 'timeout'),
      onTransportError: () => this.fail(503, undefined, 'transport-error'),
      onTerminated: (reason: TerminationReason) => {
        if (reason === 'shutdown') this.fail(503, undefined, 'transport-error');
      },
    });
  }

  /** Cancel (§9.1); the final response (487) still arrives through onFailure. */
  cancel(): void {
    if (this.tx instanceof InviteClientTransaction) this.tx.cancel();
  }

  /** Give up on the INVITE without waiting for anything (its flow is gone): no handler is called again. */
  abandon(): void {
    this.done = true;
    this.tx.terminate('transport-error');
  }

  private onResponse(res: SipResponse): void {
    const status = res.status;
    if (status < 200) {
      if (!this.done) this.handlers.onProgress?.(res);
      return;
    }
    if (status < 300) {
      if (this.dialog === undefined) {
        const dialog = Dialog.asUac(this.request, res, this.localContact, this.destination);
        dialog.state = 'confirmed';
        this.dialog = dialog;
        this.core.register(dialog.key, this.usageWithRetransmit());
        // RFC 3261 §13.2.1: an INVITE without an offer gets it in the 2xx, and the ACK carries the answer.
        if (this.request.body.length === 0 && res.body.length > 0) this.ackPending = true;
        else this.sendAck(res);
        this.done = true;
        this.handlers.onAnswer(res, dialog);
      } else if (res.toTag === this.dialog.remoteTag) {
        // retransmitted 2xx: ACK again, or absorb it while the answer is awaited
        if (!this.ackPending) this.sendAck(res);
      } else {
        this.refuseFork(res);
      }
      return;
    }
    this.fail(status, res, 'rejected');
  }

  private usageWithRetransmit(): DialogUsage {
    return {
      onRequest: (req, tx) => this.usage.onRequest(req, tx),
      onRetransmitted2xx: (res) => {
        if (!this.ackPending) this.sendAck(res);
      },
    };
  }

  /** Whether the ACK waits for the answer to a late offer. */
  get awaitingAnswer(): boolean {
    return this.ackPending;
  }

  /**
   * Send the ACK a late offer's 2xx is waiting for, with the answer (or, when
   * there is none — the call is being torn down — without a body). Does
   * nothing when no ACK is pending.
   */
  ack(answer: AckBody | undefined): void {
    if (!this.ackPending) return;
    this.ackPending = false;
    this.sendAck(undefined, answer);
  }

  private sendAck(res: SipResponse | undefined, answer?: AckBody): void {
    const dialog = this.dialog;
    if (dialog === undefined) return;
    if (this.ackWire !== undefined && (res === undefined || res.toTag === dialog.remoteTag)) {
      this.core.resend(this.ackWire, dialog.destination);
      return;
    }
    const seq = this.request.cseq?.seq ?? 1;
    const body = answer !== undefined && answer.body.length > 0 ? answer : undefined;
    const ack = body === undefined ? dialog.createAck(seq) : dialog.createAck(seq, body.body, body.contentType);
    this.ackWire = this.core.sendAck(ack, dialog.destination);
  }

  /**
   * A 2xx from a second fork (another To tag): it is ACKed, then ended with a
   * BYE, since we keep one dialog per call (§13.2.2.4).
   */
  private refuseFork(res: SipResponse): void {
    const fork = Dialog.asUac(this.request, res, this.localContact, this.destination);
    this.core.sendAck(fork.createAck(this.request.cseq?.seq ?? 1), fork.destination);
    this.core.sendRequest(fork.createRequest('BYE'), fork.destination, { onResponse: () => undefined });
  }

  private fail(status: number, res: SipResponse | undefined, cause: 'rejected' | 'timeout' | 'transport-error'): void {
    if (this.done) return;
    this.done = true;
    this.handlers.onFailure(status, res, cause);
  }
}
