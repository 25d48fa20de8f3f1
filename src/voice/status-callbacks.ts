/**
 * Status callbacks (research §2.1): for each event the call asked for
 * (`StatusCallbackEvent`: initiated, ringing, answered, completed; default
 * completed only), a request to `StatusCallback` with the provider's
 * parameters, `SequenceNumber` from 0, and on the terminal event
 * `CallDuration`, `Duration` (minutes) and `SipResponseCode`. A call's
 * callbacks go out one after the other, in order. A failed callback raises
 * 15003 (the provider's warning for a callback URL that did not answer 2xx).
 */
import type { AlertLog } from '../alerts/alert-log.js';
import type { Clock } from '../limits/clock.js';
import { type StatusCallbackEvent, type VoiceCall, rfc2822 } from './voice-call.js';
import type { WebhookClient } from './webhooks.js';

/** The parameters of every request about a call (research §2.1.2). */
export function callParams(call: VoiceCall, callStatus: string): Record<string, string> {
  const p: Record<string, string> = {
    CallSid: call.sid,
    AccountSid: call.account.sid,
    From: call.from,
    To: call.to,
    CallStatus: callStatus,
    ApiVersion: '2010-04-01',
    Direction: call.direction,
    Caller: call.from,
    Called: call.to,
  };
  if (call.parentCallSid !== undefined) p['ParentCallSid'] = call.parentCallSid;
  return p;
}

export class StatusCallbacks {
  private readonly chains = new WeakMap<VoiceCall, Promise<void>>();

  constructor(
    private readonly webhooks: WebhookClient,
    private readonly alerts: AlertLog,
    private readonly clock: Clock,
    private readonly authToken: (call: VoiceCall) => string | undefined,
  ) {}

  /** Send `event` for `call` if it asked for it (its parameters are taken now, in order). */
  send(call: VoiceCall, event: StatusCallbackEvent): void {
    const url = call.options.statusCallback;
    if (url === undefined || !call.options.statusCallbackEvents.has(event)) return;
    const now = this.clock.now();
    const status = event === 'initiated' ? 'initiated' : event === 'answered' ? 'in-progress' : event === 'ringing' ? 'ringing' : call.status;
    const params = callParams(call, status);
    params['Timestamp'] = rfc2822(now);
    params['CallbackSource'] = 'call-progress-events';
    params['SequenceNumber'] = String(call.callbackSeq++);
    if (event === 'completed') {
      const seconds = call.durationSeconds(call.endTime ?? now);
      params['CallDuration'] = String(seconds);
      params['Duration'] = String(Math.ceil(seconds / 60));
      if (call.sipResponseCode !== undefined) params['SipResponseCode'] = String(call.sipResponseCode);
    }
    const request = { kind: 'status_callback' as const, url, method: call.options.statusCallbackMethod, params, authToken: this.authToken(call) };
    const previous = this.chains.get(call) ?? Promise.resolve();
    const next = previous.then(async () => {
      const r = await this.webhooks.send(request);
      if (!r.ok) this.alerts.raise(15003, { callId: call.sid, detail: `status callback (${event}): ${r.detail}` });
    });
    this.chains.set(call, next);
  }

  /** Resolves when every callback sent for `call` so far has finished. */
  settled(call: VoiceCall): Promise<void> {
    return this.chains.get(call) ?? Promise.resolve();
  }
}
