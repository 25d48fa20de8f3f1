/**
 * `<Dial>` (research §3.1–3.4): ring every noun at once — `<Number>` (and a
 * bare number) through the PSTN emulator, `<Sip>` with a real INVITE — the
 * first to answer is bridged and the others cancelled; `timeout` (default
 * 30 s) ends the ringing with `no-answer`, `timeLimit` the bridged call.
 * Each leg is a child call (`outbound-dial`, `parent_call_sid`), listed by
 * the API. Dial legs are not CPS-limited (SPEC §10) and take no lease of
 * their own *(ours)*: the parent call holds the account's.
 *
 * `<Client>` rings the identity's registration over its flow (client-reach.ts):
 * a client in a call ends its leg `busy` (486, alert 31486), one with no
 * registration `no-answer` (410 Gone, alert 31480). `<Conference>` is dialled
 * alone (other nouns beside it are skipped): the call joins the account's
 * room of that name and the `<Dial>` lasts until the call leaves it, the
 * room ends or removes it, or `timeLimit`. A full room (16020) or an ended
 * one (16022) refuses it: the outcome is `fatal` and the call ends `failed`.
 */
import type { BLegFailureCause } from '../b2bua/b-leg.js';
import { isE164 } from '../numbers/number-patterns.js';
import type { DialNoun, TwimlVerb } from '../twiml/parse.js';
import { readSipTarget } from './api-params.js';
import { type RunContext, statusForFailure } from './run-context.js';
import { type Conference, type Participant, newParticipant } from '../conference/conference.js';
import { FarLeg, type FarLegEvents, type FarTarget } from './far-leg.js';
import type { CallStatus, VoiceCall } from './voice-call.js';

/** `DialCallStatus` (research §3.4). */
export type DialCallStatus = 'completed' | 'answered' | 'busy' | 'no-answer' | 'failed' | 'canceled';

export interface DialOutcome {
  status: DialCallStatus;
  /** The bridged leg, or the last one tried. */
  childSid: string | undefined;
  durationSeconds: number | undefined;
  bridged: boolean;
  /** The call cannot go on: a conference refused it (full, or ended). */
  fatal?: boolean;
}

type DialVerb = Extract<TwimlVerb, { verb: 'Dial' }>;

/** One dialled noun: a child call and its far leg. */
class DialLeg implements FarLegEvents {
  leg: FarLeg | undefined;
  done = false;
  /** Frees the client this leg rings of being busy. */
  release: (() => void) | undefined;

  constructor(
    private readonly dial: DialRun,
    readonly child: VoiceCall,
  ) {}

  ringing(): void {
    if (this.done) return;
    this.child.status = 'ringing';
    this.dial.ctx.touched(this.child);
  }

  answered(): void {
    this.dial.legAnswered(this);
  }

  failed(status: number, cause: BLegFailureCause): void {
    if (this.done) return;
    this.dial.legFailed(this, statusForFailure(status, cause), cause === 'timeout' ? 408 : status);
  }

  hungUp(): void {
    this.dial.legHungUp(this);
  }
}

export class DialRun {
  private readonly legs: DialLeg[] = [];
  private winner: DialLeg | undefined;
  private ringTimer: NodeJS.Timeout | undefined;
  private limitTimer: NodeJS.Timeout | undefined;
  private resolve: ((o: DialOutcome) => void) | undefined;
  private outcome: DialOutcome | undefined;
  /** The worst failure seen so far, for the outcome when no leg answers. */
  private failures: CallStatus[] = [];
  /** The conference this <Dial> is in, once joined. */
  private joined: { room: Conference; participant: Participant; at: number } | undefined;

  constructor(
    readonly ctx: RunContext,
    private readonly parent: VoiceCall,
    private readonly verb: DialVerb,
  ) {}

  run(): Promise<DialOutcome> {
    return new Promise<DialOutcome>((resolve) => {
      this.resolve = resolve;
      const conference = this.verb.nouns.find((n) => n.kind === 'conference');
      if (conference !== undefined) {
        if (this.verb.nouns.length > 1) this.ctx.alerts.raise(12200, { callId: this.parent.sid, detail: '<Dial><Conference> dials nothing else: the other nouns are skipped' });
        this.joinConference(conference);
        return;
      }
      for (const noun of this.verb.nouns) this.startNoun(noun);
      if (this.legs.length === 0) {
        if (this.verb.nouns.length === 0) this.ctx.alerts.raise(12200, { callId: this.parent.sid, detail: '<Dial> has nothing to dial' });
        this.finish({ status: 'failed', childSid: undefined, durationSeconds: undefined, bridged: false });
        return;
      }
      this.ringTimer = setTimeout(() => this.onTimeout(), this.verb.timeoutSeconds * 1000);
      for (const l of this.legs) l.leg?.start();
      this.settleIfAllFailed();
    });
  }

  private startNoun(noun: DialNoun): void {
    const sid = this.parent.sid;
    switch (noun.kind) {
      case 'client': {
        const to = `client:${noun.identity}`;
        const reach = this.ctx.clients.reach(this.parent.account.name, noun.identity);
        if (reach.kind !== 'ring') {
          this.ctx.alerts.raise(reach.alert, { callId: sid, detail: `<Dial><Client>: ${reach.detail}` });
          const l = this.addLeg(to, { kind: 'client', identity: noun.identity }, undefined);
          this.endLeg(l, reach.status, reach.sipStatus);
          this.failures.push(reach.status);
          return;
        }
        const l = this.addLeg(to, { kind: 'client', identity: noun.identity }, reach.target);
        l.release = reach.release;
        return;
      }
      case 'conference':
        return; // dialled alone, by run()
      case 'number': {
        if (!isE164(noun.number)) {
          this.ctx.alerts.raise(12200, { callId: sid, detail: `<Dial> number "${noun.number}" is not E.164; skipped` });
          this.failures.push('failed');
          return;
        }
        const target = { kind: 'pstn' as const, number: noun.number };
        this.addLeg(noun.number, target, target);
        return;
      }
      case 'sip': {
        const target = readSipTarget(noun.uri);
        if (!target.ok) {
          this.ctx.alerts.raise(12200, { callId: sid, detail: `<Dial><Sip>${noun.uri}: ${target.error.message}` });
          this.failures.push('failed');
          return;
        }
        if (target.value.kind !== 'client') this.addLeg(noun.uri, target.value, target.value);
        return;
      }
    }
  }

  /** A child call for a noun, ringing `far` (none: the leg ends at once). */
  private addLeg(to: string, target: Parameters<RunContext['childCall']>[3], far: FarTarget | undefined): DialLeg {
    const from = this.verb.callerId ?? this.parent.from;
    const child = this.ctx.childCall(this.parent, to, from, target);
    child.startTime = this.ctx.clock.now();
    const l = new DialLeg(this, child);
    if (far !== undefined) l.leg = new FarLeg(this.ctx.parts, far, from, l);
    this.legs.push(l);
    return l;
  }

  // ------------------------------------------------------------ <Conference>

  /**
   * Join the room: the call's planned one (a participant added through the
   * API), else the account's live room of that name (made with this noun's
   * maxParticipants if there is none).
   */
  private joinConference(noun: Extract<DialNoun, { kind: 'conference' }>): void {
    const now = this.ctx.clock.now();
    const planned = this.parent.conference;
    const room = planned?.room ?? this.ctx.conferences.room(this.parent.account.name, noun.name, noun.maxParticipants, now);
    const participant = planned?.participant ?? newParticipant(this.parent.sid, noun, now);
    const r = this.ctx.conferences.join(room, participant, now);
    if (!r.ok) {
      const detail =
        r.reason === 'full'
          ? `conference "${room.friendlyName}" (${room.sid}) already holds its maxParticipants (${room.maxParticipants}): ${this.parent.sid} is refused`
          : `conference "${room.friendlyName}" (${room.sid}) has ended`;
      this.ctx.alerts.raise(r.reason === 'full' ? 16020 : 16022, { callId: this.parent.sid, detail });
      this.finish({ status: 'failed', childSid: undefined, durationSeconds: 0, bridged: false, fatal: true });
      return;
    }
    this.joined = { room, participant, at: now };
    // removed by the room (another's endConferenceOnExit, the API): the <Dial> is over
    participant.removed = () => this.conferenceOver();
    this.limitTimer = setTimeout(() => this.conferenceOver(), this.verb.timeLimitSeconds * 1000);
  }

  /** The call's time in the room is over: it leaves (if it is still in), and the <Dial> completes. */
  private conferenceOver(): void {
    const j = this.joined;
    if (j === undefined || this.outcome !== undefined) return;
    clearTimeout(this.limitTimer);
    const now = this.ctx.clock.now();
    j.participant.removed = undefined;
    this.ctx.conferences.leave(j.room, j.participant.callSid, now);
    this.finish({ status: 'completed', childSid: undefined, durationSeconds: Math.round((now - j.at) / 1000), bridged: true });
  }

  /** @internal */
  legAnswered(l: DialLeg): void {
    if (l.done || this.outcome !== undefined) {
      l.leg?.hangup();
      return;
    }
    if (this.winner !== undefined) {
      l.leg?.hangup();
      this.endLeg(l, 'canceled', 487);
      return;
    }
    this.winner = l;
    clearTimeout(this.ringTimer);
    l.child.status = 'in-progress';
    l.child.answeredAt = this.ctx.clock.now();
    this.ctx.touched(l.child);
    for (const other of this.legs) {
      if (other === l || other.done) continue;
      other.leg?.cancel();
      this.endLeg(other, 'canceled', 487);
    }
    this.limitTimer = setTimeout(() => {
      l.leg?.hangup();
      this.bridgeEnded();
    }, this.verb.timeLimitSeconds * 1000);
  }

  /** @internal */
  legFailed(l: DialLeg, status: CallStatus, sip: number): void {
    this.endLeg(l, status, sip);
    this.failures.push(status);
    this.settleIfAllFailed();
  }

  /** @internal the bridged leg hung up */
  legHungUp(l: DialLeg): void {
    if (l !== this.winner || l.done) return;
    this.bridgeEnded();
  }

  private bridgeEnded(): void {
    const w = this.winner;
    if (w === undefined || w.done) return;
    clearTimeout(this.limitTimer);
    this.endLeg(w, 'completed', 200);
    this.finish({ status: 'completed', childSid: w.child.sid, durationSeconds: w.child.durationSeconds(w.child.endTime ?? this.ctx.clock.now()), bridged: true });
  }

  private settleIfAllFailed(): void {
    if (this.outcome !== undefined || this.winner !== undefined) return;
    if (this.legs.some((l) => !l.done)) return;
    const f = this.failures;
    const status: DialCallStatus = f.includes('no-answer') ? 'no-answer' : f.includes('busy') ? 'busy' : f.includes('canceled') ? 'canceled' : 'failed';
    this.finish({ status, childSid: this.legs[this.legs.length - 1]?.child.sid, durationSeconds: 0, bridged: false });
  }

  private onTimeout(): void {
    if (this.winner !== undefined || this.outcome !== undefined) return;
    for (const l of this.legs) {
      if (l.done) continue;
      l.leg?.cancel();
      this.endLeg(l, 'no-answer', 487);
    }
    this.finish({ status: 'no-answer', childSid: this.legs[this.legs.length - 1]?.child.sid, durationSeconds: 0, bridged: false });
  }

  /** The parent call ended or was redirected: hang up the bridged leg, cancel the ringing ones, leave the room. */
  stop(): void {
    if (this.outcome !== undefined) return;
    if (this.joined !== undefined) {
      this.conferenceOver();
      return;
    }
    clearTimeout(this.ringTimer);
    const w = this.winner;
    if (w !== undefined && !w.done) {
      w.leg?.hangup();
      this.bridgeEnded();
      return;
    }
    for (const l of this.legs) {
      if (l.done) continue;
      l.leg?.cancel();
      this.endLeg(l, 'canceled', 487);
    }
    this.finish({ status: 'canceled', childSid: this.legs[this.legs.length - 1]?.child.sid, durationSeconds: 0, bridged: false });
  }

  private endLeg(l: DialLeg, status: CallStatus, sip: number): void {
    if (l.done) return;
    l.done = true;
    l.release?.();
    const c = l.child;
    c.status = status;
    c.sipResponseCode = sip;
    c.endTime = this.ctx.clock.now();
    this.ctx.touched(c);
    this.ctx.finished(c);
  }

  private finish(outcome: DialOutcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    clearTimeout(this.ringTimer);
    clearTimeout(this.limitTimer);
    this.resolve?.(outcome);
  }
}
