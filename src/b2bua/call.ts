/**
 * One call through the B2BUA (SPEC §5): the A-leg is a UAS dialog with the
 * PBX, the B-leg is the PSTN emulator or a carrier. The call holds a lease
 * and releases it exactly once, on whichever path it ends by (SPEC §4.4).
 */
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import type { Route } from '../config/route.js';
import type { Clock } from '../limits/clock.js';
import type { CallLease, ReleaseReason } from '../limits/concurrency.js';
import { SDP_CONTENT_TYPE } from '../media/sdp.js';
import { AnswerRetransmitter, type DialogUsage, IncomingInvite, type UserAgentCore, sendInDialog } from '../sip/dialog/index.js';
import { type SipRequest, detach, randomToken } from '../sip/message/index.js';
import type { InviteServerTransaction, ReplyOptions, ServerTransaction } from '../sip/transaction/index.js';
import { ALLOW } from '../termination/extensions.js';
import type { TransferPolicy } from '../termination/transfer-policy.js';
import type { BLeg, BLegEvents, BLegFailureCause, RelayedBody, RelayedHeaders, RelayResult } from './b-leg.js';
import { Transfer, type TransferLegFactory, type TransferOutcome, type TransferOwner } from './transfer.js';

/** How a call ended, for `trunkgate_calls_ended_total{disposition}`. */
export type Disposition = 'answered' | 'busy' | 'no_answer' | 'canceled' | 'failed' | 'timeout' | 'max_duration' | 'admin' | 'shutdown';

export const DISPOSITIONS: readonly Disposition[] = ['answered', 'busy', 'no_answer', 'canceled', 'failed', 'timeout', 'max_duration', 'admin', 'shutdown'];

export type CallState = 'setup' | 'early' | 'answered' | 'ending' | 'ended';

export interface CallInfo {
  trunk: string;
  account: string;
  region: string;
  edge: string | undefined;
  /** The trunk's route, compiled: the emulator or a carrier. */
  route: Route;
  /** How long a carrier may ring before it is cancelled and the caller gets 408 (Timer C). */
  ringTimeoutMs: number;
  /** A secure trunk's call (TLS and SRTP). */
  secure: boolean;
  lease: CallLease;
  /** Hang up (BYE both legs, alert 32015) after this long answered. */
  maxDurationMs: number;
  /** The trunk's transfer rules (REFER, SPEC §9). */
  transfer: TransferPolicy;
}

export interface CallHooks {
  /** The INVITE got its final response (after `setupSeconds`): the call no longer needs its transaction. */
  settled(call: Call, tx: InviteServerTransaction, setupSeconds: number): void;
  ended(call: Call, disposition: Disposition): void;
  /** Where a transfer's new call goes (the emulator, a SIP destination). */
  transferLegs(call: Call): TransferLegFactory;
  /** A REFER was refused, or its transfer completed or failed. */
  transferred(call: Call, outcome: TransferOutcome): void;
}


/**
 * The call is its own B-leg event sink and A-leg dialog usage: no closures
 * per call (they add up at 10,000 calls).
 */
export class Call implements BLegEvents, DialogUsage, TransferOwner {
  /** Our id for the call (the provider's style: CA + 32 hex digits). */
  readonly id = 'CA' + randomToken(16);
  /** When the call was admitted, and answered (ms, the gateway's clock). */
  readonly createdAt: number;
  answeredAt: number | undefined;
  state: CallState = 'setup';
  disposition: Disposition | undefined;
  readonly a: IncomingInvite;
  readonly called: string;
  readonly caller: string;
  readonly callerDisplayName: string | undefined;
  /** The caller's SDP offer, until the far leg has taken it. */
  offer: RelayedBody | undefined;
  b!: BLeg;
  /** The INVITE server transaction, until the INVITE has its final response. */
  private inviteTx: InviteServerTransaction | undefined;
  private readonly inviteSeq: number;
  /** When the INVITE arrived (performance.now()), for the setup-time histogram. */
  private readonly receivedAt: number | undefined;
  /** The A-leg's SIP Call-ID (the PBX's). */
  readonly sipCallId: string;
  private maxDurationTimer: NodeJS.Timeout | undefined;
  private reinvite: AnswerRetransmitter | undefined;
  private relayBusy = false;
  private logger: Logger | undefined;
  /** A transfer the PBX asked for (REFER), while its new call rings or once bridged to the far end. */
  private transfer: Transfer | undefined;
  /** The A dialog is up: false once the transferor left it (its BYE, or ours after a transfer). */
  private aUp = true;
  /** After a transfer: BYE the transferor if it has not left within 64×T1 (the provider's 32 s). */
  private transferorTimer: NodeJS.Timeout | undefined;
  private refers = 0;

  constructor(
    private readonly core: UserAgentCore,
    tx: InviteServerTransaction,
    readonly info: CallInfo,
    private readonly hooks: CallHooks,
    private readonly alerts: AlertLog,
    private readonly baseLogger: Logger,
    private readonly clock: Clock,
  ) {
    const req = tx.request;
    this.createdAt = clock.now();
    this.inviteTx = tx;
    this.inviteSeq = req.cseq?.seq ?? 0;
    this.receivedAt = req.source?.receivedAt;
    this.sipCallId = detach(req.callId);
    this.a = new IncomingInvite(core, tx, core.contactForRequest(req));
    this.called = detach(req.requestUri?.user ?? '');
    const from = req.from;
    this.caller = from === undefined ? '' : detach(parseUser(from.uri) ?? '');
    this.callerDisplayName = from?.displayName === undefined ? undefined : detach(from.displayName);
    this.offer = req.body.length > 0 ? { body: req.body, contentType: req.headers.get('content-type') } : undefined;
    core.register(this.a.dialog.key, this);
  }

  /** The INVITE transaction while the call is being set up; undefined once it has a final response. */
  get tx(): InviteServerTransaction | undefined {
    return this.inviteTx;
  }

  /** One child logger per call, made on first use (most calls never log). */
  private get log(): Logger {
    this.logger ??= this.baseLogger.child({ call: this.id, callId: this.sipCallId, trunk: this.info.trunk, region: this.info.region });
    return this.logger;
  }

  start(b: BLeg): void {
    this.b = b;
    b.start();
    this.offer = undefined;
  }

  /** Send a response to the INVITE while it is still open (a final one settles it). */
  private replyInvite(status: number, reason: string | undefined, options?: ReplyOptions): void {
    const tx = this.inviteTx;
    if (tx === undefined || tx.state !== 'proceeding') return;
    tx.reply(status, reason, options);
    if (status >= 200) this.settle();
  }

  private settle(): void {
    const tx = this.inviteTx;
    if (tx === undefined) return;
    this.inviteTx = undefined;
    this.hooks.settled(this, tx, this.receivedAt === undefined ? 0 : (performance.now() - this.receivedAt) / 1000);
  }

  // ------------------------------------------------------------ B-leg events

  progress(status: number, reason: string, sdp: RelayedBody | undefined, headers: RelayedHeaders = []): void {
    if (this.state !== 'setup' && this.state !== 'early') return;
    this.state = 'early';
    this.a.provisional(status, reason, this.replyOptions(sdp, headers));
  }

  answer(sdp: RelayedBody | undefined, headers: RelayedHeaders = []): void {
    if (this.state !== 'setup' && this.state !== 'early') {
      this.b.hangup();
      return;
    }
    this.state = 'answered';
    this.answeredAt = this.clock.now();
    this.a.answer(200, this.replyOptions(sdp, headers), () => this.onNoAck());
    this.settle();
    this.maxDurationTimer = setTimeout(() => this.onMaxDuration(), this.info.maxDurationMs);
    this.maxDurationTimer.unref();
    if (this.baseLogger.isLevelEnabled('debug')) this.log.debug('answered');
  }

  fail(status: number, reason: string, cause: BLegFailureCause, headers: RelayedHeaders = []): void {
    if (this.state !== 'setup' && this.state !== 'early') return;
    this.replyInvite(status, reason || undefined, { headers: [...headers] });
    this.finish(failureDisposition(status, cause), FAILURE_RELEASE[cause]);
  }

  bye(): void {
    if (this.state !== 'answered') return;
    this.transfer?.end();
    this.byeA();
    this.finish('answered', 'bye-callee');
  }

  /** The carrier went away mid-call: BYE the caller, release as a transport failure. */
  lost(): void {
    if (this.state !== 'answered') return;
    this.log.info('carrier connection lost: ending the call');
    this.transfer?.end();
    this.byeA();
    this.finish('failed', 'transport-error');
  }

  async request(method: string, body: RelayedBody | undefined): Promise<RelayResult> {
    if (this.state !== 'answered') return { status: 481, reason: 'Call/Transaction Does Not Exist' };
    // bridged by a transfer: the far end talks to the transfer target now
    if (this.transfer?.state === 'bridged') return this.transfer.leg.request(method, body);
    if (!this.aUp) return { status: 491, reason: 'Request Pending' };
    const r = await sendInDialog(this.core, this.a.dialog, method, { body: body?.body, contentType: body?.contentType });
    const res = r.response;
    return { status: r.status, reason: r.reason, ...(res !== undefined && res.body.length > 0 ? { body: res.body, contentType: res.headers.get('content-type') } : {}) };
  }

  // ------------------------------------------------------------ A-leg

  /** The caller sent CANCEL before the answer (the transaction layer sends the 487). */
  cancelFromA(): void {
    if (this.state !== 'setup' && this.state !== 'early') return;
    this.b.cancel();
    this.finish('canceled', 'canceled');
    this.settle();
  }

  /** A request in the A-leg dialog (ACK: `tx` undefined). */
  onRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (tx === undefined) {
      if (req.method !== 'ACK') return;
      if (req.cseq?.seq === this.inviteSeq) {
        if (this.a.ack() && this.state === 'answered') this.b.acknowledged(req.body.length > 0 ? { body: req.body, contentType: req.headers.get('content-type') } : undefined);
      } else this.reinvite?.ack();
      return;
    }
    if (!this.a.dialog.acceptRemoteSeq(req)) {
      tx.reply(500, 'CSeq Out of Order');
      return;
    }
    switch (req.method) {
      case 'BYE':
        tx.reply(200);
        if (this.state === 'answered' && this.transfer !== undefined) {
          // the transferor leaves (RFC 5589 §6.1): the far end stays, for the transfer target
          this.transferorLeft();
        } else if (this.state === 'answered') {
          this.b.hangup();
          this.finish('answered', 'bye-caller');
        } else if (this.state === 'setup' || this.state === 'early') {
          // BYE on an early dialog (RFC 3261 §15): ends the call like a CANCEL would
          this.b.cancel();
          this.replyInvite(487, undefined);
          this.finish('canceled', 'canceled');
        }
        return;
      case 'INVITE':
      case 'UPDATE':
      case 'INFO':
        if (this.transfer?.state === 'bridged') {
          // the transferor's leg is on its way out: it no longer changes the far end's media
          tx.reply(req.method === 'INFO' ? 200 : 491);
          return;
        }
        this.relayToB(req, tx);
        return;
      case 'REFER':
        this.onRefer(req, tx);
        return;
      case 'OPTIONS':
        tx.reply(200, undefined, { headers: [['Allow', ALLOW]] });
        return;
      default:
        tx.reply(501, undefined, { headers: [['Allow', ALLOW]] });
    }
  }

  private relayToB(req: SipRequest, tx: ServerTransaction): void {
    if (this.state !== 'answered') {
      tx.reply(req.method === 'INVITE' && (this.state === 'setup' || this.state === 'early') ? 491 : 481);
      return;
    }
    if (this.relayBusy && req.method !== 'INFO') {
      tx.reply(491);
      return;
    }
    const isReinvite = req.method === 'INVITE';
    if (isReinvite || req.method === 'UPDATE') {
      this.relayBusy = true;
      this.a.dialog.refreshTarget(req);
    }
    const body = req.body.length > 0 ? { body: req.body, contentType: req.headers.get('content-type') } : undefined;
    this.b.request(req.method, body).then((r) => {
      if (isReinvite || req.method === 'UPDATE') this.relayBusy = false;
      const options: ReplyOptions = {
        headers: req.method === 'INFO' ? [] : [['Contact', this.a.dialog.localContact]],
        ...(r.body !== undefined ? { body: r.body, contentType: r.contentType ?? SDP_CONTENT_TYPE } : {}),
      };
      const res = tx.reply(r.status, r.reason, options);
      if (res !== undefined && isReinvite && r.status >= 200 && r.status < 300 && this.state === 'answered') {
        this.reinvite?.stop();
        this.reinvite = new AnswerRetransmitter(this.core, tx as InviteServerTransaction, res, () => this.onNoAck());
      }
    }, (err: unknown) => {
      if (isReinvite || req.method === 'UPDATE') this.relayBusy = false;
      this.log.error({ err }, 'relaying an in-dialog request failed');
      tx.reply(500);
    });
  }

  // ------------------------------------------------------------ transfer (REFER, SPEC §9)

  /**
   * REFER from the PBX (RFC 3515): refused by the trunk's transferMode
   * (403, alert 32218) or malformed (400); else 202 Accepted, and the
   * transfer places the new call. One transfer at a time (491 meanwhile).
   */
  private onRefer(req: SipRequest, tx: ServerTransaction): void {
    if (this.state !== 'answered' || !this.aUp || this.transfer !== undefined) {
      tx.reply(491, 'Request Pending');
      return;
    }
    const decision = this.info.transfer.decide(req);
    if (!decision.ok) {
      if (decision.alert !== undefined) this.alerts.raise(decision.alert, { trunk: this.info.trunk, callId: this.id, detail: decision.detail });
      this.log.info({ status: decision.status, detail: decision.detail }, 'REFER refused');
      tx.reply(decision.status, decision.reason);
      this.hooks.transferred(this, decision.alert === undefined ? 'invalid' : 'refused');
      return;
    }
    const headers: Array<readonly [string, string]> = [['Contact', this.a.dialog.localContact]];
    if (decision.noSubscription) headers.push(['Refer-Sub', 'false']);
    tx.reply(202, 'Accepted', { headers });
    // the transferee is the far end (the number the PBX called); from-transferor: the PBX's caller ID
    const callerId = this.info.transfer.callerId === 'from-transferor' ? this.caller : this.called;
    const t = new Transfer(this.core, this.a.dialog, decision, callerId, this.hooks.transferLegs(this), this, this.refers++, req.cseq?.seq ?? 0);
    this.transfer = t;
    this.log.info({ target: t.target.uri, callerId }, 'REFER accepted: placing the transfer');
    t.start();
  }

  transferBridged(t: Transfer): void {
    if (t !== this.transfer) return;
    this.hooks.transferred(this, 'completed');
    if (!this.aUp) return;
    // The transferor ends its leg on the final NOTIFY (RFC 5589 §6.1); if not, the provider does after 32 s.
    const waitMs = 64 * this.core.timerConfig.t1Ms;
    this.transferorTimer = setTimeout(() => {
      if (!this.aUp || this.state !== 'answered') return;
      this.log.info('the transferor did not leave after the transfer: BYE');
      this.dropA();
    }, waitMs);
    this.transferorTimer.unref();
  }

  transferFailed(t: Transfer, status: number): void {
    if (t !== this.transfer) return;
    this.transfer = undefined;
    this.hooks.transferred(this, 'failed');
    this.log.info({ status }, 'transfer failed');
    if (this.aUp || this.state !== 'answered') return;
    // The transferor left while the target rang, and the target did not answer: nobody is left for the far end.
    this.b.hangup();
    this.finish('answered', 'bye-caller');
  }

  targetHungUp(t: Transfer): void {
    if (t !== this.transfer || this.state !== 'answered') return;
    this.b.hangup();
    this.byeA();
    this.finish('answered', 'bye-callee');
  }

  targetRequest(_t: Transfer, method: string, body: RelayedBody | undefined): Promise<RelayResult> {
    if (this.state !== 'answered') return Promise.resolve({ status: 481, reason: 'Call/Transaction Does Not Exist' });
    return this.b.request(method, body);
  }

  /** The transferor sent BYE during or after a transfer: its leg is gone; the far end stays. */
  private transferorLeft(): void {
    this.aUp = false;
    clearTimeout(this.transferorTimer);
    this.a.stop();
    this.reinvite?.stop();
    this.transfer?.transferorGone();
    this.core.unregister(this.a.dialog.key);
  }

  /** BYE the transferor's leg alone (after a transfer), keeping the call. */
  private dropA(): void {
    this.aUp = false;
    this.a.stop();
    this.reinvite?.stop();
    this.transfer?.transferorGone();
    const key = this.a.dialog.key;
    const forget = (): void => this.core.unregister(key, this);
    sendInDialog(this.core, this.a.dialog, 'BYE').then(forget, forget);
  }

  // ------------------------------------------------------------ endings

  private onNoAck(): void {
    if (this.state !== 'answered') return;
    this.alerts.raise(32022, { trunk: this.info.trunk, callId: this.id });
    this.log.info('no ACK for the 200 OK: ending the call');
    this.byeBoth();
    this.finish('timeout', 'no-ack');
  }

  private onMaxDuration(): void {
    if (this.state !== 'answered') return;
    this.alerts.raise(32015, { trunk: this.info.trunk, callId: this.id, detail: `${Math.round(this.info.maxDurationMs / 1000)} s` });
    this.log.info('maximum call duration reached: ending the call');
    this.byeBoth();
    this.finish('max_duration', 'max-duration');
  }

  /**
   * End the call from our side (admin hang-up, shutdown): BYE both legs when
   * answered; before the answer, cancel the far leg and refuse the INVITE.
   */
  hangup(disposition: 'admin' | 'shutdown'): void {
    const reason: ReleaseReason = disposition;
    if (this.state === 'answered') {
      this.byeBoth();
      this.finish(disposition, reason);
    } else if (this.state === 'setup' || this.state === 'early') {
      this.b.cancel();
      this.replyInvite(disposition === 'shutdown' ? 503 : 487, undefined);
      this.finish(disposition, reason);
    }
  }

  private byeBoth(): void {
    this.transfer?.end();
    this.b.hangup();
    this.byeA();
  }

  private byeA(): void {
    this.state = 'ending';
    if (!this.aUp) return;
    this.aUp = false;
    this.a.stop();
    const key = this.a.dialog.key;
    const forget = (): void => this.core.unregister(key);
    sendInDialog(this.core, this.a.dialog, 'BYE').then(forget, forget);
  }

  /** The one place a call ends: the lease is released here, once. */
  private finish(disposition: Disposition, leaseReason: ReleaseReason): void {
    if (this.disposition !== undefined) return;
    const wasEnding = this.state === 'ending';
    this.state = 'ended';
    this.disposition = disposition;
    clearTimeout(this.maxDurationTimer);
    clearTimeout(this.transferorTimer);
    this.transfer?.end();
    this.a.stop();
    this.reinvite?.stop();
    this.info.lease.release(leaseReason);
    // Keep the A dialog while our BYE is out (so a crossing BYE still gets 200); otherwise forget it now.
    if (!wasEnding) this.core.unregister(this.a.dialog.key);
    if (this.baseLogger.isLevelEnabled('debug')) this.log.debug({ disposition, leaseReason }, 'call ended');
    this.hooks.ended(this, disposition);
  }

  /** Options of a 18x or 2xx to the INVITE (the A-leg adds Record-Route and Contact). */
  private replyOptions(sdp: RelayedBody | undefined, headers: RelayedHeaders): ReplyOptions {
    const all: Array<readonly [string, string]> = [['Allow', ALLOW], ...headers];
    return sdp === undefined ? { headers: all } : { headers: all, body: sdp.body, contentType: sdp.contentType ?? SDP_CONTENT_TYPE };
  }
}

/** How a far leg's failure before answer ends the call, for the metrics. */
function failureDisposition(status: number, cause: BLegFailureCause): Disposition {
  switch (cause) {
    case 'timeout':
      return 'timeout';
    case 'transport-error':
      return 'failed';
    case 'ring-timeout':
      return 'no_answer';
    case 'rejected':
      if (status === 486 || status === 600) return 'busy';
      if (status === 480 || status === 408) return 'no_answer';
      return status === 487 ? 'canceled' : 'failed';
  }
}

const FAILURE_RELEASE: Readonly<Record<BLegFailureCause, ReleaseReason>> = {
  rejected: 'rejected',
  timeout: 'invite-timeout',
  'ring-timeout': 'invite-timeout',
  'transport-error': 'transport-error',
};

function parseUser(uri: string): string | undefined {
  const m = /^(?:sips?|tel):([^@;?]+)/i.exec(uri);
  return m?.[1];
}
