/**
 * A blind transfer in progress (SPEC §9; RFC 3515, RFC 5589 §6.1): the
 * transferor (the PBX) sent REFER on its call with trunkgate and got
 * `202 Accepted`; trunkgate, as the provider does, places the new call to
 * the transfer target itself (the PSTN emulator, or a SIP destination) and
 * reports its progress to the transferor in NOTIFYs of the implicit `refer`
 * subscription: `SIP/2.0 100 Trying` at once, then the target's final
 * answer (`SIP/2.0 200 OK`, or the failure) with
 * `Subscription-State: terminated`. Once the target answers, the transferee
 * (the other party of the call) is bridged to it: the call goes on without
 * the transferor, whose leg the transferor ends with a BYE (or trunkgate
 * does, 64×T1 later: the provider's 32 s). A failed transfer leaves the call
 * as it was.
 *
 * The transfer is the target leg's event sink; what the call does with the
 * outcome is its owner's business (a termination call, an inbound call).
 * The transfer takes no lease of its own: the call keeps its one lease.
 */
import { type Dialog, type UserAgentCore, sendInDialog } from '../sip/dialog/index.js';
import type { ReferDecision, TransferTarget } from '../termination/transfer-policy.js';
import type { BLeg, BLegEvents, BLegFailureCause, RelayResult, RelayedBody } from './b-leg.js';

export type TransferState = 'calling' | 'bridged' | 'failed' | 'ended';

/** How a REFER ended, for metrics: refused (403/400), the target answered, or it did not. */
export type TransferOutcome = 'refused' | 'invalid' | 'completed' | 'failed';
export const TRANSFER_OUTCOMES: readonly TransferOutcome[] = ['refused', 'invalid', 'completed', 'failed'];

export interface TransferOwner {
  /** The target answered: the transferee is bridged to it now. */
  transferBridged(t: Transfer): void;
  /** The target did not answer (a final failure, no response, its transport): the call is as before. */
  transferFailed(t: Transfer, status: number): void;
  /** The bridged target hung up (BYE, or its connection closed). */
  targetHungUp(t: Transfer): void;
  /** The bridged target sent a re-INVITE, UPDATE or INFO: relay it to the transferee. */
  targetRequest(t: Transfer, method: string, body: RelayedBody | undefined): Promise<RelayResult>;
}

/** Makes the target's leg (the emulator, or a SIP INVITE): b2bua/transfer-legs.ts. */
export interface TransferLegFactory {
  place(target: TransferTarget, callerId: string, referredBy: string | undefined, events: BLegEvents): BLeg;
}

/** `message/sipfrag` (RFC 3420) with the version RFC 3515 §2.4.5 names. */
export const SIPFRAG_CONTENT_TYPE = 'message/sipfrag;version=2.0';

/**
 * The implicit subscription's NOTIFYs (RFC 3515 §2.4.4-§2.4.7), one at a
 * time and in order (each waits for the previous one's response); none after
 * the transferor has gone or refused one (481, a timeout).
 */
class ReferNotifier {
  private chain: Promise<void> = Promise.resolve();
  private gone = false;

  constructor(
    private readonly core: UserAgentCore,
    private readonly dialog: Dialog,
    /** `refer`, or `refer;id=<CSeq>` for the second and later REFERs of a dialog (RFC 3515 §2.4.6). */
    private readonly event: string,
  ) {}

  notify(status: number, reason: string, final: boolean): void {
    const body = Buffer.from(`SIP/2.0 ${status} ${reason}\r\n`);
    const state = final ? 'terminated;reason=noresource' : 'active;expires=60';
    this.chain = this.chain.then(async () => {
      if (this.gone) return;
      const r = await sendInDialog(this.core, this.dialog, 'NOTIFY', {
        headers: [
          ['Event', this.event],
          ['Subscription-State', state],
          ['Contact', this.dialog.localContact],
        ],
        body,
        contentType: SIPFRAG_CONTENT_TYPE,
      });
      if (r.status === 481 || r.status === 408 || r.status >= 500) this.gone = true;
    });
  }

  stop(): void {
    this.gone = true;
  }
}

export class Transfer implements BLegEvents {
  state: TransferState = 'calling';
  readonly leg: BLeg;
  private readonly notifier: ReferNotifier | undefined;

  constructor(
    core: UserAgentCore,
    /** The transferor's dialog: where the NOTIFYs go. */
    transferorDialog: Dialog,
    decision: Extract<ReferDecision, { ok: true }>,
    /** The new call's caller ID (the trunk's transferCallerId). */
    readonly callerId: string,
    legs: TransferLegFactory,
    private readonly owner: TransferOwner,
    /** How many REFERs this dialog had before this one (the NOTIFYs' Event id from the second on). */
    earlierRefers: number,
    referSeq: number,
  ) {
    this.target = decision.target;
    this.notifier = decision.noSubscription ? undefined : new ReferNotifier(core, transferorDialog, earlierRefers === 0 ? 'refer' : `refer;id=${referSeq}`);
    this.leg = legs.place(decision.target, callerId, decision.referredBy, this);
  }

  readonly target: TransferTarget;

  /** Tell the transferor the transfer is under way (NOTIFY 100 Trying) and place the new call. */
  start(): void {
    this.notifier?.notify(100, 'Trying', false);
    this.leg.start();
  }

  /** The transferor's dialog ended (its BYE): no more NOTIFYs. */
  transferorGone(): void {
    this.notifier?.stop();
  }

  /** End the target leg from our side, whatever its state (the call ends); the transferor hears 487 if it still listens. */
  end(): void {
    if (this.state === 'calling') {
      this.state = 'ended';
      this.leg.cancel();
      this.notifier?.notify(487, 'Request Terminated', true);
    } else if (this.state === 'bridged') {
      this.state = 'ended';
      this.leg.hangup();
    }
    this.notifier?.stop();
  }

  // ------------------------------------------------------------ the target leg's events

  /** No early media with transfers (the provider's docs): progress is not reported. */
  progress(): void {}

  answer(): void {
    if (this.state !== 'calling') {
      this.leg.hangup();
      return;
    }
    this.state = 'bridged';
    this.notifier?.notify(200, 'OK', true);
    this.owner.transferBridged(this);
  }

  fail(status: number, reason: string, cause: BLegFailureCause): void {
    if (this.state !== 'calling') return;
    this.state = 'failed';
    const code = cause === 'timeout' ? 408 : status;
    this.notifier?.notify(code, cause === 'timeout' ? 'Request Timeout' : reason || 'Failed', true);
    this.owner.transferFailed(this, code);
  }

  bye(): void {
    if (this.state !== 'bridged') return;
    this.state = 'ended';
    this.owner.targetHungUp(this);
  }

  lost(): void {
    this.bye();
  }

  request(method: string, body: RelayedBody | undefined): Promise<RelayResult> {
    if (this.state !== 'bridged') return Promise.resolve({ status: 481, reason: 'Call/Transaction Does Not Exist' });
    return this.owner.targetRequest(this, method, body);
  }
}
