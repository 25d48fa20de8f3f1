/**
 * One inbound call (SPEC §10, §11): a caller on the (emulated) PSTN dials one
 * of the account's numbers, and the provider delivers the call.
 *
 *  - A trunk's number: the call holds a lease in the trunk's and the
 *    account's concurrency caps (taken before, by the caller of `start`),
 *    and tries the trunk's origination URIs in the order of
 *    uri-selection.ts. Each attempt fails over to the next URI on the
 *    responses of failover.ts and after 4 s without any response (alert
 *    32011 each time); a response that does not fail over ends the call
 *    there. When every URI failed (or none is enabled: 32010), the trunk's
 *    disaster-recovery webhook takes the call (its TwiML run by the
 *    Programmable Voice engine), else the call is not delivered.
 *  - A number with a voice URL: the webhook takes the call, in the account's
 *    voice concurrency.
 *
 * Once answered, the caller stays `holdMs` and hangs up (BYE). The PBX may
 * hang up first, or transfer the call (REFER, as in a termination call:
 * b2bua/transfer.ts); the transferred call keeps the one lease. Every path
 * ends in `end()`, once: the lease is released there.
 */
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import type { RelayResult, RelayedBody } from '../b2bua/b-leg.js';
import { Transfer, type TransferOutcome, type TransferOwner } from '../b2bua/transfer.js';
import type { TransferLegs } from '../b2bua/transfer-legs.js';
import type { CallLease, ReleaseReason } from '../limits/concurrency.js';
import { SDP_CONTENT_TYPE, SdpOrigin, buildOffer } from '../media/sdp.js';
import type { MediaEndpoint, PstnEmulator } from '../pstn/emulator.js';
import type { UserAgentCore } from '../sip/dialog/index.js';
import { type SipRequest, randomToken, reasonPhrase } from '../sip/message/index.js';
import type { ServerTransaction } from '../sip/transaction/index.js';
import type { InboundVoiceRequest, InboundVoiceResult } from '../voice/voice-engine.js';
import { NO_RESPONSE_FAILOVER_MS, failsOver } from './failover.js';
import { type Body, PbxLeg, type PbxLegEvents } from './pbx-leg.js';
import type { CompiledOriginationUri, OriginationTrunk, Webhook } from './plan.js';
import { attemptOrder } from './uri-selection.js';

/** How an inbound call ended, for `trunkgate_origination_calls_total{outcome}`. */
export type InboundOutcome = 'answered' | 'rejected' | 'no_answer' | 'failed' | 'disaster_recovery' | 'webhook' | 'concurrency_limited' | 'canceled';
export const INBOUND_OUTCOMES: readonly InboundOutcome[] = ['answered', 'rejected', 'no_answer', 'failed', 'disaster_recovery', 'webhook', 'concurrency_limited', 'canceled'];

/** One attempt at one URI, for `trunkgate_origination_attempts_total{result}` and a run's report. */
export type AttemptResult = 'answered' | 'rejected' | 'ring_timeout' | 'failover_response' | 'failover_timeout' | 'failover_transport';
export const ATTEMPT_RESULTS: readonly AttemptResult[] = ['answered', 'rejected', 'ring_timeout', 'failover_response', 'failover_timeout', 'failover_transport'];

/** What an inbound call uses around it. */
export interface InboundParts {
  core: UserAgentCore;
  alerts: AlertLog;
  media: MediaEndpoint;
  emulator: PstnEmulator;
  /** The Programmable Voice engine: webhooks (a number's voice URL, the disaster-recovery URL). */
  voice: { inbound(r: InboundVoiceRequest): InboundVoiceResult };
  /** Where a transfer's new call goes (with the trunk's ring timeout). */
  transferLegs: TransferLegs;
  log: Logger;
}

export interface InboundCallHooks {
  /** One attempt at a URI ended (`status`: the PBX's final, if any). */
  attempted(call: InboundCall, uri: string, result: AttemptResult, status: number | undefined): void;
  /** The call was delivered: the URI whose answer settled it, or a webhook URL. */
  delivered(call: InboundCall, where: string): void;
  ended(call: InboundCall, outcome: InboundOutcome): void;
  transferred(call: InboundCall, outcome: TransferOutcome): void;
}

export interface InboundCallParams {
  /** The caller (E.164). */
  from: string;
  /** The number dialled (E.164). */
  to: string;
  /** How long the caller stays once answered (ms). */
  holdMs: number;
}

export type InboundState = 'delivering' | 'answered' | 'webhook' | 'ended';

export class InboundCall implements PbxLegEvents, TransferOwner {
  /** The provider's call SID (X-Twilio-CallSid). */
  readonly sid = 'CA' + randomToken(16);
  state: InboundState = 'delivering';
  outcome: InboundOutcome | undefined;
  /** The URI being tried, or that answered. */
  current: CompiledOriginationUri | undefined;
  private leg: PbxLeg | undefined;
  private order: CompiledOriginationUri[] = [];
  private noResponseTimer: NodeJS.Timeout | undefined;
  private ringTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private transferorTimer: NodeJS.Timeout | undefined;
  private webhook: { hangup(): void } | undefined;
  private transfer: Transfer | undefined;
  /** The PBX's leg is up (answered, no BYE yet). */
  private pbxUp = false;
  private refers = 0;
  /** Our side of the SDP (the caller's media; not emulated: an RTP sink). */
  private readonly origin = new SdpOrigin();

  constructor(
    private readonly parts: InboundParts,
    private readonly hooks: InboundCallHooks,
    readonly params: InboundCallParams,
    /** The trunk, for a trunk's number; undefined for a number with a voice URL. */
    readonly trunk: OriginationTrunk | undefined,
    /** The trunk call's lease (trunk and account scopes); a voice URL's call holds the voice engine's. */
    private readonly lease: CallLease | undefined,
  ) {}

  get trunkName(): string {
    return this.trunk?.trunk.name ?? '';
  }

  // ------------------------------------------------------------ start

  /** A trunk's number: try its origination URIs. */
  start(random: () => number = Math.random): void {
    const trunk = this.trunk;
    if (trunk === undefined) throw new Error('start() is for a trunk number; use startWebhook()');
    this.order = attemptOrder(trunk.uris, random);
    if (this.order.length === 0) {
      this.parts.alerts.raise(32010, { trunk: trunk.trunk.name, callId: this.sid, detail: `a call to ${this.params.to}` });
      this.toDisasterRecovery();
      return;
    }
    this.next();
  }

  /** A number with a voice URL: its webhook takes the call, in the account's voice concurrency. */
  startWebhook(account: string, hook: Webhook): void {
    const r = this.parts.voice.inbound({ account, from: this.params.from, to: this.params.to, url: hook.url, method: hook.method, takeLease: true, sid: this.sid, onEnded: () => this.end('webhook', 'bye-callee') });
    if (!r.ok) {
      this.end(r.reason === 'concurrency' ? 'concurrency_limited' : 'failed', 'rejected');
      return;
    }
    this.runWebhook(r, hook.url);
  }

  private next(): void {
    const uri = this.order.shift();
    if (uri === undefined) {
      this.toDisasterRecovery();
      return;
    }
    const trunk = this.trunk as OriginationTrunk;
    this.current = uri;
    const offer = buildOffer(this.parts.media.address, this.parts.media.port, this.origin, trunk.trunk.config.secure);
    const leg = new PbxLeg(
      this.parts.core,
      { target: uri.target, dialled: this.params.to, caller: this.params.from, accountSid: trunk.trunk.account.sid, callSid: this.sid, diversionDomain: trunk.diversionDomain, offer },
      this,
    );
    this.leg = leg;
    this.noResponseTimer = setTimeout(() => this.onNoResponse(leg), NO_RESPONSE_FAILOVER_MS);
    this.ringTimer = setTimeout(() => this.onRingTimeout(leg), trunk.trunk.config.ringTimeoutMs);
    leg.start();
  }

  private clearAttemptTimers(): void {
    clearTimeout(this.noResponseTimer);
    clearTimeout(this.ringTimer);
    this.noResponseTimer = undefined;
    this.ringTimer = undefined;
  }

  private failover(result: AttemptResult, status: number | undefined, what: string): void {
    const uri = this.current as CompiledOriginationUri;
    this.clearAttemptTimers();
    this.leg = undefined;
    this.parts.alerts.raise(32011, { trunk: this.trunkName, callId: this.sid, detail: `${uri.uri}: ${what}` });
    this.hooks.attempted(this, uri.uri, result, status);
    this.next();
  }

  /** Every URI failed (or none is enabled): the disaster-recovery webhook, else not delivered. */
  private toDisasterRecovery(): void {
    const trunk = this.trunk as OriginationTrunk;
    const dr = trunk.disasterRecovery;
    if (dr === undefined) {
      this.end('failed', 'rejected');
      return;
    }
    // the call keeps its trunk lease: the engine takes none
    const r = this.parts.voice.inbound({ account: trunk.trunk.account.name, from: this.params.from, to: this.params.to, url: dr.url, method: dr.method, takeLease: false, sid: this.sid, onEnded: () => this.end('disaster_recovery', 'bye-callee') });
    if (!r.ok) {
      this.end('failed', 'rejected');
      return;
    }
    this.runWebhook(r, dr.url);
  }

  private runWebhook(handle: { hangup(): void }, url: string): void {
    if (this.state === 'ended') return; // the webhook ended at once (its onEnded ran inside inbound())
    this.state = 'webhook';
    this.webhook = handle;
    this.hooks.delivered(this, url);
    this.holdTimer = setTimeout(() => this.callerHangsUp(), this.params.holdMs);
  }

  // ------------------------------------------------------------ the PBX leg's events

  responded(leg: PbxLeg): void {
    if (leg !== this.leg) return;
    clearTimeout(this.noResponseTimer);
    this.noResponseTimer = undefined;
  }

  answered(leg: PbxLeg): void {
    if (leg !== this.leg || this.state !== 'delivering') {
      leg.hangup();
      return;
    }
    this.clearAttemptTimers();
    this.state = 'answered';
    this.pbxUp = true;
    const uri = (this.current as CompiledOriginationUri).uri;
    this.hooks.attempted(this, uri, 'answered', 200);
    this.hooks.delivered(this, uri);
    this.holdTimer = setTimeout(() => this.callerHangsUp(), this.params.holdMs);
    const maxMs = (this.trunk as OriginationTrunk).trunk.maxDurationMs;
    this.maxTimer = setTimeout(() => this.onMaxDuration(), maxMs);
    this.maxTimer.unref();
  }

  failed(leg: PbxLeg, status: number, reason: string, cause: 'rejected' | 'timeout' | 'transport-error'): void {
    if (leg !== this.leg || this.state !== 'delivering') return;
    if (cause === 'transport-error') {
      this.failover('failover_transport', undefined, 'could not be reached');
      return;
    }
    if (cause === 'timeout') {
      this.failover('failover_timeout', undefined, 'no final response (Timer B)');
      return;
    }
    if (failsOver(status)) {
      this.failover('failover_response', status, `${status} ${reason || reasonPhrase(status)}`);
      return;
    }
    // the PBX decided (486, 404, 6xx …): the call ends there
    this.clearAttemptTimers();
    const uri = (this.current as CompiledOriginationUri).uri;
    this.hooks.attempted(this, uri, 'rejected', status);
    this.hooks.delivered(this, uri);
    this.end('rejected', 'rejected');
  }

  /** The 4 s rule: no response at all from this URI. */
  private onNoResponse(leg: PbxLeg): void {
    if (leg !== this.leg || this.state !== 'delivering') return;
    leg.abandon();
    this.failover('failover_timeout', undefined, `no response within ${NO_RESPONSE_FAILOVER_MS / 1000} s`);
  }

  /** The PBX rang for the trunk's ringTimeoutMs: the caller gives up. */
  private onRingTimeout(leg: PbxLeg): void {
    if (leg !== this.leg || this.state !== 'delivering') return;
    leg.cancel();
    this.clearAttemptTimers();
    const uri = (this.current as CompiledOriginationUri).uri;
    this.hooks.attempted(this, uri, 'ring_timeout', undefined);
    this.hooks.delivered(this, uri);
    this.end('no_answer', 'invite-timeout');
  }

  hungUp(leg: PbxLeg): void {
    if (leg !== this.leg || this.state !== 'answered' || !this.pbxUp) return;
    if (this.transfer !== undefined) {
      // the transferor leaves (RFC 5589 §6.1): the caller stays, for the transfer target
      this.transferorLeft();
      return;
    }
    this.pbxUp = false;
    this.end('answered', 'bye-callee');
  }

  reoffer(_leg: PbxLeg, _method: string, body: Body | undefined): Promise<{ status: number; reason: string; body?: Buffer }> {
    // bridged by a transfer: the transferor's leg no longer changes the caller's media
    if (this.transfer?.state === 'bridged') return Promise.resolve({ status: 491, reason: reasonPhrase(491) });
    return Promise.resolve(this.answerFor(body));
  }

  /** Our answer to an offer (the caller's side: the emulator's answer rules). */
  private answerFor(body: RelayedBody | Body | undefined): { status: number; reason: string; body?: Buffer } {
    const sdp = body !== undefined && body.body.length > 0 ? body.body.toString('utf8') : undefined;
    const r = this.parts.emulator.answerFor(sdp, this.origin, false);
    if (!r.ok) return { status: r.status, reason: reasonPhrase(r.status) };
    return { status: 200, reason: 'OK', body: Buffer.from(r.sdp) };
  }

  // ------------------------------------------------------------ transfer (REFER from the PBX)

  refer(leg: PbxLeg, req: SipRequest, tx: ServerTransaction): void {
    const trunk = this.trunk;
    const dialog = leg.dialog;
    if (leg !== this.leg || trunk === undefined || dialog === undefined || this.state !== 'answered' || !this.pbxUp || this.transfer !== undefined) {
      tx.reply(491, 'Request Pending');
      return;
    }
    const policy = trunk.trunk.transfer;
    const decision = policy.decide(req);
    if (!decision.ok) {
      if (decision.alert !== undefined) this.parts.alerts.raise(decision.alert, { trunk: this.trunkName, callId: this.sid, detail: decision.detail });
      tx.reply(decision.status, decision.reason);
      this.hooks.transferred(this, decision.alert === undefined ? 'invalid' : 'refused');
      return;
    }
    const headers: Array<readonly [string, string]> = [['Contact', dialog.localContact]];
    if (decision.noSubscription) headers.push(['Refer-Sub', 'false']);
    tx.reply(202, 'Accepted', { headers });
    // the transferee is the caller; from-transferor: the number the PBX was called on
    const callerId = policy.callerId === 'from-transferor' ? this.params.to : this.params.from;
    this.transfer = new Transfer(this.parts.core, dialog, decision, callerId, this.parts.transferLegs.withRingTimeout(trunk.trunk.config.ringTimeoutMs), this, this.refers++, req.cseq?.seq ?? 0);
    this.transfer.start();
  }

  transferBridged(t: Transfer): void {
    if (t !== this.transfer) return;
    this.hooks.transferred(this, 'completed');
    if (!this.pbxUp) return;
    this.transferorTimer = setTimeout(() => {
      if (!this.pbxUp || this.state !== 'answered') return;
      this.pbxUp = false;
      this.transfer?.transferorGone();
      this.leg?.hangup();
    }, 64 * this.parts.core.timerConfig.t1Ms);
    this.transferorTimer.unref();
  }

  transferFailed(t: Transfer, _status: number): void {
    if (t !== this.transfer) return;
    this.transfer = undefined;
    this.hooks.transferred(this, 'failed');
    // the transferor left while the target rang: nobody is left for the caller
    if (!this.pbxUp && this.state === 'answered') this.end('answered', 'bye-callee');
  }

  targetHungUp(t: Transfer): void {
    if (t !== this.transfer || this.state !== 'answered') return;
    if (this.pbxUp) this.leg?.hangup();
    this.pbxUp = false;
    this.end('answered', 'bye-callee');
  }

  targetRequest(_t: Transfer, _method: string, body: RelayedBody | undefined): Promise<RelayResult> {
    const r = this.answerFor(body);
    return Promise.resolve(r.body === undefined ? { status: r.status, reason: r.reason } : { status: r.status, reason: r.reason, body: r.body, contentType: SDP_CONTENT_TYPE });
  }

  private transferorLeft(): void {
    this.pbxUp = false;
    clearTimeout(this.transferorTimer);
    this.transfer?.transferorGone();
  }

  // ------------------------------------------------------------ endings

  /** The caller hangs up (holdMs elapsed, the run stopped, shutdown): whatever is up ends. */
  callerHangsUp(reason: ReleaseReason = 'bye-caller'): void {
    switch (this.state) {
      case 'delivering':
        if (this.leg !== undefined && this.leg.state === 'calling') this.leg.cancel();
        this.clearAttemptTimers();
        this.end('canceled', 'canceled');
        return;
      case 'answered':
        this.transfer?.end();
        if (this.pbxUp) this.leg?.hangup();
        this.pbxUp = false;
        this.end('answered', reason);
        return;
      case 'webhook':
        // the engine's onEnded ends this call
        this.webhook?.hangup();
        if (this.state === 'webhook') this.end(this.trunk === undefined ? 'webhook' : 'disaster_recovery', reason);
        return;
      case 'ended':
        return;
    }
  }

  private onMaxDuration(): void {
    if (this.state !== 'answered') return;
    this.parts.alerts.raise(32015, { trunk: this.trunkName, callId: this.sid, detail: `${Math.round((this.trunk as OriginationTrunk).trunk.maxDurationMs / 1000)} s` });
    this.callerHangsUp('max-duration');
  }

  /** The one place an inbound call ends: its lease (if it holds one) is released here, once. */
  private end(outcome: InboundOutcome, reason: ReleaseReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.outcome = outcome;
    this.clearAttemptTimers();
    clearTimeout(this.holdTimer);
    clearTimeout(this.maxTimer);
    clearTimeout(this.transferorTimer);
    this.transfer?.end();
    this.lease?.release(reason);
    this.hooks.ended(this, outcome);
  }
}
