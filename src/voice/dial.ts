/**
 * `<Dial>` (research §3.1–3.4): ring every noun at once — `<Number>` (and a
 * bare number) through the PSTN emulator, `<Sip>` with a real INVITE — the
 * first to answer is bridged and the others cancelled; `timeout` (default
 * 30 s) ends the ringing with `no-answer`, `timeLimit` the bridged call.
 * Each leg is a child call (`outbound-dial`, `parent_call_sid`), listed by
 * the API. Dial legs are not CPS-limited (SPEC §10) and take no lease of
 * their own *(ours)*: the parent call holds the account's.
 *
 * `<Client>` and `<Conference>` belong to issue 15: until then a client is
 * never registered (410 Gone, alert 31480) and a conference cannot be joined
 * (alert 16022); the leg ends `failed`.
 */
import type { BLegFailureCause } from '../b2bua/b-leg.js';
import { isE164 } from '../numbers/number-patterns.js';
import type { DialNoun, TwimlVerb } from '../twiml/parse.js';
import { readSipTarget } from './api-params.js';
import { type RunContext, statusForFailure } from './run-context.js';
import { FarLeg, type FarLegEvents } from './far-leg.js';
import type { CallStatus, VoiceCall } from './voice-call.js';

/** `DialCallStatus` (research §3.4). */
export type DialCallStatus = 'completed' | 'answered' | 'busy' | 'no-answer' | 'failed' | 'canceled';

export interface DialOutcome {
  status: DialCallStatus;
  /** The bridged leg, or the last one tried. */
  childSid: string | undefined;
  durationSeconds: number | undefined;
  bridged: boolean;
}

type DialVerb = Extract<TwimlVerb, { verb: 'Dial' }>;

/** One dialled noun: a child call and its far leg. */
class DialLeg implements FarLegEvents {
  leg: FarLeg | undefined;
  done = false;

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

  constructor(
    readonly ctx: RunContext,
    private readonly parent: VoiceCall,
    private readonly verb: DialVerb,
  ) {}

  run(): Promise<DialOutcome> {
    return new Promise<DialOutcome>((resolve) => {
      this.resolve = resolve;
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
      case 'client':
        this.ctx.alerts.raise(31480, { callId: sid, detail: `<Dial><Client>${noun.identity}: clients are not emulated yet, so no client is registered (410 Gone)` });
        this.failures.push('failed');
        return;
      case 'conference':
        this.ctx.alerts.raise(16022, { callId: sid, detail: `<Dial><Conference>${noun.name}: conferences are not emulated yet; the leg fails` });
        this.failures.push('failed');
        return;
      case 'number': {
        if (!isE164(noun.number)) {
          this.ctx.alerts.raise(12200, { callId: sid, detail: `<Dial> number "${noun.number}" is not E.164; skipped` });
          this.failures.push('failed');
          return;
        }
        this.addLeg(noun.number, { kind: 'pstn', number: noun.number });
        return;
      }
      case 'sip': {
        const target = readSipTarget(noun.uri);
        if (!target.ok) {
          this.ctx.alerts.raise(12200, { callId: sid, detail: `<Dial><Sip>${noun.uri}: ${target.error.message}` });
          this.failures.push('failed');
          return;
        }
        this.addLeg(noun.uri, target.value);
        return;
      }
    }
  }

  private addLeg(to: string, target: Parameters<RunContext['childCall']>[3]): void {
    const from = this.verb.callerId ?? this.parent.from;
    const child = this.ctx.childCall(this.parent, to, from, target);
    child.startTime = this.ctx.clock.now();
    const l = new DialLeg(this, child);
    if (target.kind !== 'client') l.leg = new FarLeg(this.ctx.parts, target, from, l);
    this.legs.push(l);
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

  /** The parent call ended or was redirected: hang up the bridged leg, cancel the ringing ones. */
  stop(): void {
    if (this.outcome !== undefined) return;
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
