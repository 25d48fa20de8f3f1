/**
 * The caller's side of an inbound call (a client's INVITE, SPEC §10): a UAS
 * dialog that trunkgate answers itself once the application's TwiML says
 * so (anything but a first `<Reject>`), with an SDP answer pointing at the
 * RTP sink (the emulator's answer rules: no media is emulated). It reports
 * the caller hanging up (BYE, or its flow closing) and answers re-INVITEs
 * and UPDATEs with the same media.
 */
import { SDP_CONTENT_TYPE, SdpOrigin } from '../media/sdp.js';
import type { PstnEmulator } from '../pstn/emulator.js';
import { AnswerRetransmitter, type DialogUsage, IncomingInvite, type UserAgentCore, sendInDialog } from '../sip/dialog/index.js';
import type { SipRequest } from '../sip/message/index.js';
import type { InviteServerTransaction, ServerTransaction } from '../sip/transaction/index.js';

/** What the inbound leg reports to its call. */
export interface InboundLegEvents {
  /** The caller hung up after the answer (BYE, its connection closed, or no ACK came). */
  hungUp(): void;
  /** The caller went away before the answer (a BYE on the early dialog, its connection closed). */
  cancelled(): void;
}

export type InboundLegState = 'offered' | 'answered' | 'ended';

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO';

export class InboundLeg implements DialogUsage {
  state: InboundLegState = 'offered';
  private readonly a: IncomingInvite;
  private readonly origin = new SdpOrigin();
  private readonly offer: string | undefined;
  private readonly inviteSeq: number;
  private reinvite: AnswerRetransmitter | undefined;
  private unwatch: (() => void) | undefined;
  private events: InboundLegEvents | undefined;

  constructor(
    private readonly core: UserAgentCore,
    private readonly emulator: PstnEmulator,
    readonly tx: InviteServerTransaction,
  ) {
    const req = tx.request;
    this.a = new IncomingInvite(core, tx, core.contactForRequest(req));
    this.inviteSeq = req.cseq?.seq ?? 0;
    this.offer = req.body.length > 0 ? req.body.toString('utf8') : undefined;
    core.register(this.a.dialog.key, this);
    const dest = this.a.dialog.peer;
    // a client on a connection (its WebSocket): the call ends when the connection does
    if (dest.transport !== 'udp') this.unwatch = core.watchFlow(dest, () => this.gone());
  }

  /** Who hears of the caller hanging up (set once, by the call). */
  attach(events: InboundLegEvents): void {
    if (this.events !== undefined) throw new Error('the inbound leg already has its call');
    this.events = events;
  }

  /** 180 Ringing while the application is asked. */
  ringing(): void {
    if (this.state === 'offered') this.a.provisional(180, undefined, {});
  }

  /** Answer with our media. False (and the INVITE refused 488) when the offer has nothing we take. */
  answer(): boolean {
    if (this.state !== 'offered' || !this.tx.open) return false;
    const r = this.emulator.answerFor(this.offer, this.origin, false);
    if (!r.ok) {
      this.reject(r.status);
      return false;
    }
    this.state = 'answered';
    this.a.answer(200, { body: r.sdp, contentType: SDP_CONTENT_TYPE, headers: [['Allow', ALLOW]] }, () => this.noAck());
    return true;
  }

  /** Refuse the INVITE before the answer (`<Reject>`, an application error, cancelled by us). */
  reject(status: number, reason?: string): void {
    if (this.state !== 'offered') return;
    this.finish();
    if (this.tx.open) this.tx.reply(status, reason);
  }

  /** The caller cancelled before the answer: the transaction answers 487. */
  cancelled(): void {
    if (this.state === 'offered') this.finish();
  }

  /** End the call from our side: BYE once answered, else refuse with 487. Nothing is reported back. */
  hangup(): void {
    if (this.state === 'offered') {
      this.reject(487);
      return;
    }
    if (this.state !== 'answered') return;
    this.finish();
    sendInDialog(this.core, this.a.dialog, 'BYE').then(
      () => undefined,
      () => undefined,
    );
  }

  /** Same as hangup: a run's leg is cancelled or hung up alike. */
  cancel(): void {
    this.hangup();
  }

  /** No ACK for our 200 within 64·T1: end the call (BYE) as if the caller had hung up. */
  private noAck(): void {
    if (this.state !== 'answered') return;
    this.hangup();
    this.events?.hungUp();
  }

  private gone(): void {
    if (this.state === 'offered') {
      this.finish();
      this.events?.cancelled();
      return;
    }
    if (this.state !== 'answered') return;
    this.finish();
    this.events?.hungUp();
  }

  private finish(): void {
    this.state = 'ended';
    this.a.stop();
    this.reinvite?.stop();
    this.unwatch?.();
    this.unwatch = undefined;
    this.core.unregister(this.a.dialog.key, this);
  }

  onRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (tx === undefined) {
      if (req.method !== 'ACK') return;
      if (req.cseq?.seq === this.inviteSeq) this.a.ack();
      else this.reinvite?.ack();
      return;
    }
    if (!this.a.dialog.acceptRemoteSeq(req)) {
      tx.reply(500, 'CSeq Out of Order');
      return;
    }
    switch (req.method) {
      case 'BYE':
        tx.reply(200);
        if (this.state === 'answered') {
          this.finish();
          this.events?.hungUp();
        } else if (this.state === 'offered') {
          // BYE on an early dialog (RFC 3261 §15): like a CANCEL
          this.reject(487);
          this.events?.cancelled();
        }
        return;
      case 'INVITE':
      case 'UPDATE': {
        if (this.state !== 'answered') {
          tx.reply(req.method === 'INVITE' ? 491 : 481);
          return;
        }
        const offer = req.body.length > 0 ? req.body.toString('utf8') : undefined;
        const r = this.emulator.answerFor(offer, this.origin, false);
        if (!r.ok) {
          tx.reply(r.status);
          return;
        }
        this.a.dialog.refreshTarget(req);
        const res = tx.reply(200, undefined, { body: r.sdp, contentType: SDP_CONTENT_TYPE, headers: [['Contact', this.a.dialog.localContact]] });
        if (req.method === 'INVITE' && res !== undefined && tx.kind === 'ist') {
          this.reinvite?.stop();
          this.reinvite = new AnswerRetransmitter(this.core, tx as InviteServerTransaction, res, () => undefined);
        }
        return;
      }
      case 'INFO':
      case 'OPTIONS':
        tx.reply(200, undefined, { headers: [['Allow', ALLOW]] });
        return;
      default:
        tx.reply(501, undefined, { headers: [['Allow', ALLOW]] });
    }
  }
}
