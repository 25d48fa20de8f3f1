/**
 * One placed Programmable Voice call, from dialling to its end (SPEC §10):
 * the far leg rings (`ringing`), answers (`in-progress`) and the call's
 * TwiML runs — fetched from `Url` (signed, `FallbackUrl` on failure) or
 * given inline — verb after verb, until a `<Hangup>`, the end of the
 * document, the far end hanging up, `TimeLimit`, or the API ending it.
 * `<Say>`, `<Play>` and `<Pause>` take their time (no audio is sent);
 * `<Dial>` rings its nouns (dial.ts). Every ending goes through `end()`,
 * once: the status, the terminal callback, and the engine's `finished`
 * (which releases the lease).
 *
 * A call to `client:NAME` rings the client's registration (410 Gone when it
 * has none, 486 Busy Here when it is in a call). An inbound call (a client's
 * INVITE) asks the application first, while it rings: a first `<Reject>`
 * refuses it unanswered, anything else answers it and runs.
 */
import type { BLegFailureCause } from '../b2bua/b-leg.js';
import { type HttpMethod, type TwimlVerb, parseTwiml } from '../twiml/parse.js';
import { DialRun, type DialOutcome } from './dial.js';
import { FarLeg, type FarLegEvents } from './far-leg.js';
import type { InboundLeg } from './inbound-leg.js';
import { type RunContext, statusForFailure } from './run-context.js';
import { callParams } from './status-callbacks.js';
import type { CallStatus, StatusCallbackEvent, TwimlSource, VoiceCall } from './voice-call.js';
import type { WebhookKind } from './webhooks.js';

/** How long `<Say>` takes without audio: about 75 ms per character (speech at ~150 words a minute), at least 0.5 s. */
export function sayMs(text: string): number {
  return Math.max(500, text.length * 75);
}

/** How long `<Play>` takes per loop (the file is not fetched, so its length is unknown). */
export const PLAY_MS = 1000;

interface TwimlDoc {
  verbs: TwimlVerb[];
  /** For relative URLs in `<Redirect>` and `<Dial action>`. */
  baseUrl: string | undefined;
}

type Step = { kind: 'next' } | { kind: 'goto'; doc: TwimlDoc } | { kind: 'stop' };

/** What a run ends or cancels: the far leg it dialled, or an inbound call's caller. */
interface RunLeg {
  cancel(): void;
  hangup(): void;
}

export type RunPhase = 'dialling' | 'ringing' | 'answered' | 'ended';

export class CallRun implements FarLegEvents {
  phase: RunPhase = 'dialling';
  private leg: RunLeg | undefined;
  /** An inbound call, asking its application before the answer. */
  private inbound = false;
  /** Frees the client this call rings (or comes from) of being busy. */
  private releaseClient: (() => void) | undefined;
  private ringTimer: NodeJS.Timeout | undefined;
  private limitTimer: NodeJS.Timeout | undefined;
  /** Bumped on every redirect and at the end: a TwiML program that sees another value stops. */
  private generation = 0;
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private dial: DialRun | undefined;

  constructor(
    private readonly ctx: RunContext,
    readonly call: VoiceCall,
  ) {}

  private now(): number {
    return this.ctx.clock.now();
  }

  private callback(event: StatusCallbackEvent): void {
    this.ctx.callbacks.send(this.call, event);
  }

  /** The call left the queue: dial it. */
  start(): void {
    const call = this.call;
    call.startTime = this.now();
    this.ctx.touched(call);
    this.callback('initiated');
    const target = call.target;
    let leg: FarLeg;
    if (target.kind === 'client') {
      const reach = this.ctx.clients.reach(call.account.name, target.identity);
      if (reach.kind !== 'ring') {
        this.ctx.alerts.raise(reach.alert, { callId: call.sid, detail: reach.detail });
        this.end(reach.status, reach.sipStatus);
        return;
      }
      this.releaseClient = reach.release;
      leg = this.leg = new FarLeg(this.ctx.parts, reach.target, call.from, this);
    } else {
      leg = this.leg = new FarLeg(this.ctx.parts, target, call.from, this);
    }
    this.ringTimer = setTimeout(() => this.onRingTimeout(), call.options.timeoutSeconds * 1000);
    leg.start();
  }

  /**
   * An inbound call (a client's INVITE): it rings while the application is
   * asked (`CallStatus=ringing`); a first `<Reject>` refuses it unanswered
   * (busy: 486, else 603), anything else answers it and runs.
   */
  startInbound(leg: InboundLeg, releaseClient: () => void): void {
    const call = this.call;
    call.startTime = this.now();
    this.inbound = true;
    this.leg = leg;
    this.releaseClient = releaseClient;
    leg.attach({ hungUp: () => this.hungUp(), cancelled: () => this.callerCancelled() });
    this.phase = 'ringing';
    call.status = 'ringing';
    this.ctx.touched(call);
    leg.ringing();
    this.inboundProgram(leg).catch((err: unknown) => {
      this.ctx.log.error({ err, call: call.sid }, 'running TwiML failed: this is a bug; the call is refused');
      leg.reject(500);
      this.end('failed', 500);
    });
  }

  private async inboundProgram(leg: InboundLeg): Promise<void> {
    const gen = this.generation;
    const doc = await this.load(this.call.options.source, 'twiml', {});
    if (gen !== this.generation || this.phase !== 'ringing') return;
    if (doc === undefined) {
      // no usable TwiML: the provider plays an application error; trunkgate refuses the call
      leg.reject(500);
      this.end('failed', 500);
      return;
    }
    const first = doc.verbs[0];
    if (first?.verb === 'Reject') {
      const busy = first.reason === 'busy';
      leg.reject(busy ? 486 : 603);
      this.end(busy ? 'busy' : 'no-answer', busy ? 486 : 603);
      return;
    }
    if (!leg.answer()) {
      this.end('failed', 488);
      return;
    }
    this.answered(doc);
  }

  /** The caller cancelled an inbound call before it was answered. */
  callerCancelled(): void {
    if (!this.inbound || (this.phase !== 'ringing' && this.phase !== 'dialling')) return;
    (this.leg as InboundLeg).cancelled();
    this.end('canceled', 487);
  }

  /**
   * An inbound call to a number (SPEC §11): nothing to dial, the caller is on the
   * line. Its TwiML runs at once; the first fetch says `CallStatus=ringing`
   * (the provider's), the call is `in-progress` from its first verb that
   * answers (anything but `<Reject>` and `<Redirect>`). The caller hangs up
   * through `complete()`.
   */
  startInboundNumber(): void {
    const call = this.call;
    call.startTime = this.now();
    call.status = 'ringing';
    this.phase = 'answered';
    this.ctx.touched(call);
    this.limitTimer = setTimeout(() => this.onTimeLimit(), call.options.timeLimitSeconds * 1000);
    this.startProgram(call.options.source);
  }

  // ------------------------------------------------------------ far leg events

  ringing(): void {
    if (this.phase !== 'dialling') return;
    this.phase = 'ringing';
    this.call.status = 'ringing';
    this.ctx.touched(this.call);
    this.callback('ringing');
  }

  answered(preloaded?: TwimlDoc): void {
    if (this.phase !== 'dialling' && this.phase !== 'ringing') return;
    clearTimeout(this.ringTimer);
    this.phase = 'answered';
    const call = this.call;
    call.status = 'in-progress';
    call.answeredAt = this.now();
    this.ctx.touched(call);
    this.callback('answered');
    this.limitTimer = setTimeout(() => this.onTimeLimit(), call.options.timeLimitSeconds * 1000);
    this.startProgram(call.options.source, preloaded);
  }

  failed(status: number, cause: BLegFailureCause): void {
    if (this.phase === 'ended') return;
    this.end(statusForFailure(status, cause), cause === 'timeout' ? 408 : status);
  }

  hungUp(): void {
    if (this.phase !== 'answered') return;
    this.end('completed', 200);
  }

  private onRingTimeout(): void {
    if (this.phase !== 'dialling' && this.phase !== 'ringing') return;
    this.leg?.cancel();
    this.end('no-answer', 487);
  }

  private onTimeLimit(): void {
    if (this.phase !== 'answered') return;
    this.leg?.hangup();
    this.end('completed', 200);
  }

  // ------------------------------------------------------------ the API

  /** `Status=canceled`: hang up a call that is ringing; no effect once answered. Returns whether it ended. */
  cancel(): boolean {
    if (this.phase !== 'dialling' && this.phase !== 'ringing') return false;
    this.leg?.cancel();
    this.end('canceled', 487);
    return true;
  }

  /** `Status=completed`: hang up whatever the state (a ringing call ends `canceled`). */
  complete(): void {
    if (this.phase === 'answered') {
      this.leg?.hangup();
      this.end('completed', 200);
    } else this.cancel();
  }

  /** `Url`/`Twiml` on a live call: the new TwiML runs at once (before the answer: when it answers). */
  redirect(source: TwimlSource): void {
    this.call.options = { ...this.call.options, source };
    if (this.phase !== 'answered') return;
    this.stopProgram();
    this.startProgram(source);
  }

  /** A new time limit (`TimeLimit` on update), counted from the answer. */
  setTimeLimit(seconds: number): void {
    this.call.options = { ...this.call.options, timeLimitSeconds: seconds };
    if (this.phase !== 'answered' || this.call.answeredAt === undefined) return;
    clearTimeout(this.limitTimer);
    this.limitTimer = setTimeout(() => this.onTimeLimit(), Math.max(0, this.call.answeredAt + seconds * 1000 - this.now()));
  }

  /** Shutdown: end the call now. */
  shutdown(): void {
    if (this.phase === 'ended') return;
    if (this.phase === 'answered') this.complete();
    else {
      this.leg?.cancel();
      this.end('canceled', 487);
    }
  }

  // ------------------------------------------------------------ the end

  private end(status: CallStatus, sipResponseCode: number | undefined): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    clearTimeout(this.ringTimer);
    clearTimeout(this.limitTimer);
    this.stopProgram();
    this.releaseClient?.();
    const call = this.call;
    call.status = status;
    call.sipResponseCode = sipResponseCode;
    call.endTime = this.now();
    this.ctx.touched(call);
    this.callback('completed');
    this.ctx.finished(call);
  }

  /** Stop the TwiML program running now (its sleeps wake and see the new generation; a `<Dial>` ends). */
  private stopProgram(): void {
    this.generation++;
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleeps.clear();
    const dial = this.dial;
    this.dial = undefined;
    dial?.stop();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleeps.add(entry);
    });
  }

  /** The TwiML was done (end of document, `<Hangup>`, an application error): hang up. */
  private hangupFromTwiml(): void {
    if (this.phase !== 'answered') return;
    this.leg?.hangup();
    this.end('completed', 200);
  }

  // ------------------------------------------------------------ TwiML

  private startProgram(source: TwimlSource, preloaded?: TwimlDoc): void {
    this.program(source, preloaded).catch((err: unknown) => {
      this.ctx.log.error({ err, call: this.call.sid }, 'running TwiML failed: this is a bug; the call hangs up');
      this.hangupFromTwiml();
    });
  }

  private async program(source: TwimlSource, preloaded?: TwimlDoc): Promise<void> {
    const gen = ++this.generation;
    const live = (): boolean => gen === this.generation && this.phase === 'answered';
    let doc = preloaded ?? (await this.load(source, 'twiml', {}));
    while (doc !== undefined && live()) {
      let next: TwimlDoc | undefined;
      let stopped = false;
      for (const verb of doc.verbs) {
        if (!live()) return;
        const step = await this.execute(verb, doc.baseUrl, live);
        if (step.kind === 'stop') {
          stopped = true;
          break;
        }
        if (step.kind === 'goto') {
          next = step.doc;
          break;
        }
      }
      if (!live()) return;
      if (stopped) return;
      if (next === undefined) {
        this.hangupFromTwiml();
        return;
      }
      doc = next;
    }
    if (doc === undefined && live()) this.hangupFromTwiml();
  }

  private async execute(verb: TwimlVerb, baseUrl: string | undefined, live: () => boolean): Promise<Step> {
    if (this.call.status === 'ringing' && verb.verb !== 'Reject' && verb.verb !== 'Redirect') {
      // an inbound call is answered by its first verb that talks to the caller
      this.call.status = 'in-progress';
      this.call.answeredAt = this.now();
      this.ctx.touched(this.call);
    }
    switch (verb.verb) {
      case 'Say':
        await this.sleep(sayMs(verb.text) * verb.loop);
        return { kind: 'next' };
      case 'Play':
        await this.sleep(PLAY_MS * verb.loop);
        return { kind: 'next' };
      case 'Pause':
        await this.sleep(verb.lengthSeconds * 1000);
        return { kind: 'next' };
      case 'Reject':
        if (this.call.status === 'ringing') {
          // an inbound call refused before it was answered: busy (486) or rejected (603)
          this.end(verb.reason === 'busy' ? 'busy' : 'no-answer', verb.reason === 'busy' ? 486 : 603);
          return { kind: 'stop' };
        }
        this.hangupFromTwiml();
        return { kind: 'stop' };
      case 'Hangup':
        // The call is already answered (an outbound call's TwiML runs on answer): <Reject> hangs up like <Hangup>.
        this.hangupFromTwiml();
        return { kind: 'stop' };
      case 'Redirect': {
        const url = resolveUrl(verb.url, baseUrl);
        if (url === undefined) {
          this.ctx.alerts.raise(11200, { callId: this.call.sid, detail: `<Redirect> ${verb.url}: not a URL (relative URLs need a document fetched from a URL)` });
          this.hangupFromTwiml();
          return { kind: 'stop' };
        }
        const doc = await this.load({ kind: 'url', url, method: verb.method }, 'redirect', {});
        if (doc === undefined || !live()) return { kind: 'stop' };
        return { kind: 'goto', doc };
      }
      case 'Dial': {
        const dial = (this.dial = new DialRun(this.ctx, this.call, verb));
        const outcome = await dial.run();
        if (this.dial === dial) this.dial = undefined;
        if (outcome.fatal && live()) {
          // a participant refused by a full (or ended) conference: its call ends failed (SPEC §10, ours)
          this.leg?.hangup();
          this.end('failed', undefined);
          return { kind: 'stop' };
        }
        if (verb.action === undefined) return live() ? { kind: 'next' } : { kind: 'stop' };
        return this.dialAction(verb.action, verb.method, baseUrl, outcome, live);
      }
    }
  }

  /** `<Dial action>`: request it with DialCallStatus…; its TwiML replaces the rest of the document. */
  private async dialAction(action: string, method: HttpMethod, baseUrl: string | undefined, outcome: DialOutcome, live: () => boolean): Promise<Step> {
    const url = resolveUrl(action, baseUrl);
    if (url === undefined) {
      this.ctx.alerts.raise(11200, { callId: this.call.sid, detail: `<Dial action="${action}">: not a URL` });
      if (live()) this.hangupFromTwiml();
      return { kind: 'stop' };
    }
    const extra: Record<string, string> = { DialCallStatus: outcome.status, DialBridged: String(outcome.bridged) };
    if (outcome.childSid !== undefined) extra['DialCallSid'] = outcome.childSid;
    if (outcome.durationSeconds !== undefined) extra['DialCallDuration'] = String(outcome.durationSeconds);
    if (!live()) {
      // The caller hung up during the <Dial>: the provider still requests the action URL; its TwiML is not run.
      await this.request('action', { url, method }, extra);
      return { kind: 'stop' };
    }
    const doc = await this.load({ kind: 'url', url, method }, 'action', extra);
    if (doc === undefined || !live()) return { kind: 'stop' };
    return { kind: 'goto', doc };
  }

  private request(kind: WebhookKind, source: { url: string; method: HttpMethod }, extra: Record<string, string>) {
    const params = { ...callParams(this.call, this.call.status), ...extra };
    return this.ctx.webhooks.send({ kind, url: source.url, method: source.method, params, authToken: this.ctx.authToken(this.call) });
  }

  /**
   * Get a TwiML document: inline, or fetched (signed). A failed fetch (11200,
   * 11205, 11750) or a document that does not parse (12100) raises its alert
   * and tries `FallbackUrl` (with ErrorCode and ErrorUrl); when that fails
   * too, the call hangs up (the provider plays an "application error"
   * message first; trunkgate has no audio) and undefined is returned.
   */
  private async load(source: TwimlSource, kind: WebhookKind, extra: Record<string, string>): Promise<TwimlDoc | undefined> {
    const gen = this.generation;
    const first = await this.loadOnce(source, kind, extra);
    if (gen !== this.generation || !this.running()) return undefined;
    if (first.ok) return first.doc;
    const fallbackUrl = this.call.options.fallbackUrl;
    if (fallbackUrl !== undefined) {
      const errorUrl = source.kind === 'url' ? source.url : '';
      const second = await this.loadOnce({ kind: 'url', url: fallbackUrl, method: this.call.options.fallbackMethod }, 'fallback', { ...extra, ErrorCode: String(first.code), ErrorUrl: errorUrl });
      if (gen !== this.generation || !this.running()) return undefined;
      if (second.ok) return second.doc;
    }
    this.ctx.log.info({ call: this.call.sid }, 'no usable TwiML: the call hangs up (application error)');
    this.hangupFromTwiml();
    return undefined;
  }

  /** Whether TwiML may be fetched now: the call is answered, or it is an inbound call asking before its answer. */
  private running(): boolean {
    return this.phase === 'answered' || (this.inbound && this.phase === 'ringing');
  }

  private async loadOnce(source: TwimlSource, kind: WebhookKind, extra: Record<string, string>): Promise<{ ok: true; doc: TwimlDoc } | { ok: false; code: number }> {
    let text: string;
    let baseUrl: string | undefined;
    if (source.kind === 'inline') {
      text = source.twiml;
    } else {
      const r = await this.request(kind, source, extra);
      if (!r.ok) {
        this.ctx.alerts.raise(r.alert, { callId: this.call.sid, detail: r.detail });
        return { ok: false, code: r.alert };
      }
      text = r.body;
      baseUrl = source.url;
    }
    const parsed = parseTwiml(text);
    if (!parsed.ok) {
      this.ctx.alerts.raise(12100, { callId: this.call.sid, detail: `${source.kind === 'url' ? source.url : 'Twiml'}: ${parsed.detail}` });
      return { ok: false, code: 12100 };
    }
    for (const w of parsed.warnings) this.ctx.alerts.raise(w.code, { callId: this.call.sid, detail: w.detail });
    return { ok: true, doc: { verbs: parsed.verbs, baseUrl } };
  }
}

/** A URL in TwiML, absolute or relative to the document's own URL. */
export function resolveUrl(url: string, base: string | undefined): string | undefined {
  try {
    const u = base === undefined ? new URL(url) : new URL(url, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}
