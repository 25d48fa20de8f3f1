/** What a running voice call (call-run.ts, dial.ts) needs from the engine around it. */
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import type { BLegFailureCause } from '../b2bua/b-leg.js';
import type { Conferences } from '../conference/conferences.js';
import type { Clock } from '../limits/clock.js';
import type { ClientReacher } from './client-reach.js';
import type { FarLegParts } from './far-leg.js';
import type { StatusCallbacks } from './status-callbacks.js';
import type { CallStatus, CallTarget, VoiceCall } from './voice-call.js';
import type { WebhookClient } from './webhooks.js';

export interface RunContext {
  parts: FarLegParts;
  clock: Clock;
  alerts: AlertLog;
  webhooks: WebhookClient;
  callbacks: StatusCallbacks;
  log: Logger;
  /** Registered clients: ring one, or learn it is busy or gone. */
  clients: ClientReacher;
  /** Every account's conference rooms. */
  conferences: Conferences;
  authToken(call: VoiceCall): string | undefined;
  /** A new child call record for a `<Dial>` leg. */
  childCall(parent: VoiceCall, to: string, from: string, target: CallTarget): VoiceCall;
  /** The call's status or fields changed (its `date_updated`). */
  touched(call: VoiceCall): void;
  /** The call ended (once): release its lease, count it, place the next. */
  finished(call: VoiceCall): void;
}

/** The REST status for a far end's final failure (research §1.4). */
export function statusForFailure(sipStatus: number, cause: BLegFailureCause): CallStatus {
  if (cause === 'timeout') return 'no-answer';
  if (sipStatus === 486 || sipStatus === 600) return 'busy';
  if (sipStatus === 480 || sipStatus === 408 || sipStatus === 487 || sipStatus === 603) return 'no-answer';
  return 'failed';
}

