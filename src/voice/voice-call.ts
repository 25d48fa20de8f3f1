/**
 * A Programmable Voice call as the Calls API shows it (research §1.3): the
 * resource's fields, kept current while the call is queued, rings, talks
 * and ends, and its JSON in the provider's shape (snake_case, RFC 2822
 * dates, `queue_time` and `duration` as strings).
 */
import { randomBytes } from 'node:crypto';
import type { Conference, Participant } from '../conference/conference.js';
import type { CallLease } from '../limits/concurrency.js';
import type { HttpMethod } from '../twiml/parse.js';
import type { Queued } from './call-queue.js';
import type { VoiceAccount } from './voice-accounts.js';

/** The REST `status` values (research §1.4.1). */
export type CallStatus = 'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';
export const CALL_STATUSES: readonly CallStatus[] = ['queued', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'];
export const FINAL_STATUSES: readonly CallStatus[] = ['completed', 'busy', 'failed', 'no-answer', 'canceled'];

export type StatusCallbackEvent = 'initiated' | 'ringing' | 'answered' | 'completed';
export const STATUS_CALLBACK_EVENTS: readonly StatusCallbackEvent[] = ['initiated', 'ringing', 'answered', 'completed'];

/** `inbound`: a call placed by a client, or to one of the account's numbers (its voice URL, or a trunk's disaster-recovery URL). */
export type CallDirection = 'outbound-api' | 'outbound-dial' | 'inbound';

/** Where the call goes: the PSTN emulator, a SIP URI, or a registered client. */
export type CallTarget =
  | { kind: 'pstn'; number: string }
  | { kind: 'sip'; uri: string; user: string | undefined; address: string; port: number; transport: 'udp' | 'tcp' }
  | { kind: 'client'; identity: string };

/** Where the call's TwiML comes from. */
export type TwimlSource = { kind: 'url'; url: string; method: HttpMethod } | { kind: 'inline'; twiml: string };

export interface CallOptions {
  source: TwimlSource;
  fallbackUrl: string | undefined;
  fallbackMethod: HttpMethod;
  statusCallback: string | undefined;
  statusCallbackMethod: HttpMethod;
  statusCallbackEvents: ReadonlySet<StatusCallbackEvent>;
  /** Ring time (s), 60 by default, at most 600. */
  timeoutSeconds: number;
  /** Longest the answered call may last (s). */
  timeLimitSeconds: number;
}

export function newCallSid(): string {
  return 'CA' + randomBytes(16).toString('hex');
}

/** RFC 2822 in UTC, as the provider writes dates: `Tue, 31 Aug 2010 20:36:28 +0000`. */
export function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

let creationSeq = 0;

export class VoiceCall implements Queued {
  readonly sid: string;
  /** Creation order (list order and paging). */
  readonly seq = ++creationSeq;
  readonly createdAt: number;
  updatedAt: number;
  status: CallStatus = 'queued';
  /** Dialled (left the queue). */
  startTime: number | undefined;
  answeredAt: number | undefined;
  endTime: number | undefined;
  /** The far end's final SIP status, for status callbacks. */
  sipResponseCode: number | undefined;
  /** The actual wait, once placed (ms). */
  queueTimeMs: number | undefined;
  /** The next status callback's SequenceNumber. */
  callbackSeq = 0;
  lease: CallLease | undefined;
  /** Set when the call left the queue for good (placed, cancelled, expired). */
  dequeued = false;
  /** A participant added through the Participants API: the room it joins once answered. */
  conference: { room: Conference; participant: Participant } | undefined;

  constructor(
    readonly account: VoiceAccount,
    readonly to: string,
    readonly from: string,
    readonly target: CallTarget,
    public options: CallOptions,
    readonly direction: CallDirection,
    readonly parentCallSid: string | undefined,
    readonly queuedAt: number,
    sid?: string,
  ) {
    this.sid = sid ?? newCallSid();
    this.createdAt = queuedAt;
    this.updatedAt = queuedAt;
  }

  get ended(): boolean {
    return FINAL_STATUSES.includes(this.status);
  }

  get uri(): string {
    return `/2010-04-01/Accounts/${this.account.sid}/Calls/${this.sid}.json`;
  }

  /** Seconds answered (0 when never answered). */
  durationSeconds(now: number): number {
    if (this.answeredAt === undefined) return 0;
    return Math.max(0, Math.round(((this.endTime ?? now) - this.answeredAt) / 1000));
  }
}

/** The Call resource JSON (research §1.3). `queueTimeMs`: the estimate for a call still queued. */
export function callResource(call: VoiceCall, queueTimeMs: number | undefined): Record<string, unknown> {
  const base = `/2010-04-01/Accounts/${call.account.sid}/Calls/${call.sid}`;
  const duration = call.ended && call.answeredAt !== undefined ? String(call.durationSeconds(call.endTime ?? call.updatedAt)) : call.ended ? '0' : null;
  return {
    sid: call.sid,
    date_created: rfc2822(call.createdAt),
    date_updated: rfc2822(call.updatedAt),
    parent_call_sid: call.parentCallSid ?? null,
    account_sid: call.account.sid,
    to: call.to,
    to_formatted: call.to,
    from: call.from,
    from_formatted: call.from,
    phone_number_sid: null,
    status: call.status,
    start_time: call.startTime === undefined ? null : rfc2822(call.startTime),
    end_time: call.endTime === undefined ? null : rfc2822(call.endTime),
    duration,
    price: null,
    price_unit: 'USD',
    direction: call.direction,
    answered_by: null,
    api_version: '2010-04-01',
    forwarded_from: null,
    group_sid: null,
    caller_name: null,
    queue_time: queueTimeMs === undefined ? '0' : String(Math.round(queueTimeMs)),
    trunk_sid: null,
    uri: `${base}.json`,
    subresource_uris: {
      notifications: `${base}/Notifications.json`,
      recordings: `${base}/Recordings.json`,
      payments: `${base}/Payments.json`,
      events: `${base}/Events.json`,
      siprec: `${base}/Siprec.json`,
      streams: `${base}/Streams.json`,
      transcriptions: `${base}/Transcriptions.json`,
      user_defined_message_subscriptions: `${base}/UserDefinedMessageSubscriptions.json`,
      user_defined_messages: `${base}/UserDefinedMessages.json`,
    },
  };
}
