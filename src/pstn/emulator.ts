/**
 * The built-in PSTN emulator (SPEC §6): answers admitted calls as a
 * telephone network would, driven by rules on the called number (first match
 * wins; `*` at the end matches any remaining digits).
 */
import type { Behaviour, PstnConfig, PstnRule } from '../config/schema.js';
import { ACCEPTED_CODECS, SdpOrigin, buildAnswer, buildOffer, pickCodec, readAudioOffer } from '../media/sdp.js';
import { numberMatches } from '../numbers/number-patterns.js';
import { reasonPhrase } from '../sip/message/status-codes.js';

/**
 * The provider's public test numbers (SPEC §6): they answer, even under a
 * catch-all or prefix rule; only a rule that names one exactly changes it.
 */
export const PROVIDER_TEST_NUMBERS: readonly string[] = ['+16504894546', '+14154758378', '+441618508378', '+551940422255'];

const ANSWERS: PstnRule = { number: '*', behaviour: 'answer' };

export interface ResolvedRule {
  behaviour: Behaviour;
  status: number | undefined;
  answerAfterMs: number;
  hangupAfterMs: number | null;
  ringTimeoutMs: number;
  /** The pattern that matched, or 'default'. */
  matched: string;
}

export interface PstnCallEvents {
  /** 180 Ringing, or 183 Session Progress with SDP when earlyMedia is on. */
  progress(status: 180 | 183, sdp: string | undefined): void;
  answer(sdp: string): void;
  reject(status: number, reason: string): void;
  /** The far end hung up (hangup-after, or pstn.hangupAfterMs). */
  hungUp(): void;
}

export interface MediaEndpoint {
  readonly address: string;
  readonly port: number;
}

export class PstnEmulator {
  readonly stats = { calls: 0, answered: 0, rejected: 0, hungUp: 0 };

  constructor(
    private config: PstnConfig,
    private readonly media: MediaEndpoint,
  ) {}

  /** Swap the rules (reload); calls in progress keep the rule they started with. */
  updateConfig(config: PstnConfig): void {
    this.config = config;
  }

  resolve(number: string): ResolvedRule {
    const c = this.config;
    let rule: PstnRule | undefined;
    let matched: string;
    if (PROVIDER_TEST_NUMBERS.includes(number)) {
      rule = c.rules.find((r) => r.number === number) ?? ANSWERS;
      matched = number;
    } else {
      rule = c.rules.find((r) => numberMatches(r.number, number));
      matched = rule?.number ?? 'default';
    }
    return {
      behaviour: rule?.behaviour ?? 'answer',
      status: rule?.status,
      answerAfterMs: rule?.answerAfterMs ?? c.answerAfterMs,
      hangupAfterMs: rule?.hangupAfterMs ?? c.hangupAfterMs,
      ringTimeoutMs: rule?.ringTimeoutMs ?? c.ringTimeoutMs,
      matched,
    };
  }

  /**
   * Start a call to `called` with the caller's SDP offer (undefined: late
   * offer, answered with an offer of ours: SRTP when `srtp`, a secure trunk's).
   */
  startCall(called: string, offerSdp: string | undefined, events: PstnCallEvents, srtp = false): PstnCall {
    this.stats.calls++;
    return new PstnCall(this, this.resolve(called), this.config.earlyMedia, offerSdp, events, srtp);
  }

  /**
   * The SDP that answers `offerSdp` (an offer of ours when there is none: a
   * late offer), from one side of a session (`origin`: RFC 3264 §8), or the
   * status that refuses it.
   * @internal
   */
  answerFor(offerSdp: string | undefined, origin: SdpOrigin, srtp: boolean): { ok: true; sdp: string } | { ok: false; status: number } {
    if (offerSdp === undefined || offerSdp.length === 0) return { ok: true, sdp: buildOffer(this.media.address, this.media.port, origin, srtp) };
    const offer = readAudioOffer(offerSdp);
    if (!offer.ok) return { ok: false, status: 400 };
    const codec = pickCodec(offer.offer, ACCEPTED_CODECS);
    if (codec === undefined) return { ok: false, status: 488 };
    const sdp = buildAnswer(offer.offer, codec, this.media.address, this.media.port, origin);
    return sdp === undefined ? { ok: false, status: 488 } : { ok: true, sdp };
  }
}

type PstnCallState = 'ringing' | 'answered' | 'ended';

/** One call into the emulated network. */
export class PstnCall {
  private state: PstnCallState = 'ringing';
  private timer: NodeJS.Timeout | undefined;
  /** The network side's o= line: one session id for the call, a new version per changed SDP. */
  private readonly origin = new SdpOrigin();

  constructor(
    private readonly emulator: PstnEmulator,
    readonly rule: ResolvedRule,
    earlyMedia: boolean,
    offerSdp: string | undefined,
    private readonly events: PstnCallEvents,
    private readonly srtp: boolean,
  ) {
    // Decide on the next tick: the caller has finished setting up its side. (process.nextTick, not
    // queueMicrotask: that one wraps every callback in an AsyncResource, a cost per call.)
    process.nextTick(() => this.begin(earlyMedia, offerSdp));
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  private begin(earlyMedia: boolean, offerSdp: string | undefined): void {
    if (this.state !== 'ringing') return;
    const rule = this.rule;
    if (rule.behaviour === 'busy') return this.reject(486);
    if (rule.behaviour === 'reject') return this.reject(rule.status ?? 503);
    const answer = this.emulator.answerFor(offerSdp, this.origin, this.srtp);
    if (!answer.ok) return this.reject(answer.status);
    if (earlyMedia) this.events.progress(183, answer.sdp);
    else this.events.progress(180, undefined);
    if (this.state !== 'ringing') return;
    if (rule.behaviour === 'no-answer') {
      this.timer = setTimeout(() => this.reject(480), rule.ringTimeoutMs);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.answer(answer.sdp);
    }, rule.answerAfterMs);
  }

  private answer(sdp: string): void {
    if (this.state !== 'ringing') return;
    this.state = 'answered';
    this.emulator.stats.answered++;
    const hangupAfterMs = this.rule.behaviour === 'hangup-after' ? (this.rule.hangupAfterMs ?? 0) : this.rule.hangupAfterMs;
    if (hangupAfterMs !== null) {
      this.timer = setTimeout(() => {
        if (this.state !== 'answered') return;
        this.finish();
        this.emulator.stats.hungUp++;
        this.events.hungUp();
      }, hangupAfterMs);
    }
    this.events.answer(sdp);
  }

  private reject(status: number): void {
    if (this.state !== 'ringing') return;
    this.finish();
    this.emulator.stats.rejected++;
    this.events.reject(status, reasonPhrase(status));
  }

  private finish(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.timer);
  }

  /** The caller cancelled or hung up: the network side just ends, silently. */
  end(): void {
    this.finish();
  }

  /** A new offer in the call (re-INVITE / UPDATE): the answer, or the status to refuse it with. */
  reoffer(offerSdp: string | undefined): { ok: true; sdp: string } | { ok: false; status: number } {
    return this.emulator.answerFor(offerSdp, this.origin, this.srtp);
  }
}
