/**
 * One conference room and its rules (SPEC §10, research §5): at most
 * `maxParticipants` (2–250, default 250) participants; the one over is
 * refused (16020). It starts (`init` → `in-progress`) when a participant
 * with `startConferenceOnEnter` joins; it ends (`completed`) when a
 * participant with `endConferenceOnExit` leaves — everyone else is removed —
 * when the last participant leaves, or through the API. A completed room is
 * never joined again: the same name makes a new room with a new SID.
 *
 * Signalling only: trunkgate mixes no audio; a participant's media goes to
 * the gateway's RTP sink like any other call's. Pure state: time is passed in.
 */
import { randomBytes } from 'node:crypto';

export const MIN_PARTICIPANTS = 2;
export const MAX_PARTICIPANTS = 250;

export type ConferenceStatus = 'init' | 'in-progress' | 'completed';

/** Why a conference ended (the provider's `reason_conference_ended`). */
export type EndReason =
  | 'conference-ended-via-api'
  | 'participant-with-end-conference-on-exit-left'
  | 'participant-with-end-conference-on-exit-kicked'
  | 'last-participant-kicked'
  | 'last-participant-left';

/** The provider's participant statuses. */
export type ParticipantStatus = 'queued' | 'connecting' | 'ringing' | 'connected' | 'complete' | 'failed';

export interface JoinOptions {
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  muted: boolean;
  label: string | undefined;
}

export const DEFAULT_JOIN: JoinOptions = { startConferenceOnEnter: true, endConferenceOnExit: false, muted: false, label: undefined };

/** Why a participant leaves: it hung up or its <Dial> ended (`left`), or it was removed (`kicked`). */
export type LeaveHow = 'left' | 'kicked';

export interface Participant extends JoinOptions {
  readonly callSid: string;
  hold: boolean;
  status: ParticipantStatus;
  readonly createdAt: number;
  updatedAt: number;
  /** ms the participant's call waited in the account's queue (API participants only). */
  queueTimeMs: number | undefined;
  /**
   * Called when the room removes the participant without being asked by it:
   * another's endConferenceOnExit, the API ending the room or removing it.
   * Whoever placed it in the room sets it (its <Dial> ends, or its call is
   * cancelled while it is still being placed).
   */
  removed: ((how: 'kicked' | 'ended') => void) | undefined;
}

export function newParticipant(callSid: string, options: JoinOptions, now: number, status: ParticipantStatus = 'connecting'): Participant {
  return { callSid, ...options, hold: false, status, createdAt: now, updatedAt: now, queueTimeMs: undefined, removed: undefined };
}

export type JoinResult = { ok: true; started: boolean } | { ok: false; reason: 'full' | 'completed' };

/** What leaving or ending did: whether the room ended, and who else must go. */
export interface Departure {
  ended: boolean;
  /** Participants the room removes (in the room, or still being placed). */
  others: Participant[];
}

export function newConferenceSid(): string {
  return 'CF' + randomBytes(16).toString('hex');
}

export class Conference {
  readonly sid: string;
  status: ConferenceStatus = 'init';
  readonly createdAt: number;
  updatedAt: number;
  endReason: EndReason | undefined;
  /** The participant whose leaving ended the room, when one did. */
  callSidEnding: string | undefined;
  /** Participants in the room, in the order they joined. */
  readonly members = new Map<string, Participant>();
  /** Participants added through the API whose calls are still being placed. */
  readonly pending = new Map<string, Participant>();
  /** The most participants the room has held at once. */
  peak = 0;

  constructor(
    readonly account: string,
    readonly friendlyName: string,
    readonly maxParticipants: number,
    now: number,
    sid?: string,
  ) {
    if (!Number.isInteger(maxParticipants) || maxParticipants < MIN_PARTICIPANTS || maxParticipants > MAX_PARTICIPANTS) {
      throw new Error(`maxParticipants ${maxParticipants} is outside ${MIN_PARTICIPANTS}-${MAX_PARTICIPANTS}: a bug (the caller checks it)`);
    }
    this.sid = sid ?? newConferenceSid();
    this.createdAt = now;
    this.updatedAt = now;
  }

  get completed(): boolean {
    return this.status === 'completed';
  }

  /** A participant whose call is being placed (API): listed, not yet counted toward the maximum. */
  expect(p: Participant, now: number): boolean {
    if (this.completed) return false;
    this.pending.set(p.callSid, p);
    this.updatedAt = now;
    return true;
  }

  /** A participant arrives: in, or refused because the room is full or over. */
  join(p: Participant, now: number): JoinResult {
    if (this.completed) return { ok: false, reason: 'completed' };
    if (this.members.size >= this.maxParticipants) {
      this.pending.delete(p.callSid);
      p.status = 'failed';
      p.updatedAt = now;
      return { ok: false, reason: 'full' };
    }
    this.pending.delete(p.callSid);
    this.members.set(p.callSid, p);
    p.status = 'connected';
    p.updatedAt = now;
    this.updatedAt = now;
    this.peak = Math.max(this.peak, this.members.size);
    let started = false;
    if (p.startConferenceOnEnter && this.status === 'init') {
      this.status = 'in-progress';
      started = true;
    }
    return { ok: true, started };
  }

  /**
   * A participant goes (it hung up, its <Dial> ended, or it was removed). An
   * endConferenceOnExit participant ends the room for everyone; the last one
   * out ends it too.
   */
  leave(callSid: string, how: LeaveHow, now: number): Departure {
    const p = this.members.get(callSid);
    if (p === undefined || this.completed) return { ended: false, others: [] };
    this.members.delete(callSid);
    p.status = 'complete';
    p.updatedAt = now;
    this.updatedAt = now;
    if (p.endConferenceOnExit) {
      return this.end(how === 'kicked' ? 'participant-with-end-conference-on-exit-kicked' : 'participant-with-end-conference-on-exit-left', now, callSid);
    }
    if (this.members.size === 0 && this.pending.size === 0) return this.end(how === 'kicked' ? 'last-participant-kicked' : 'last-participant-left', now, callSid);
    return { ended: false, others: [] };
  }

  /** A participant still being placed never arrived (its call failed or was cancelled). */
  abandon(callSid: string, now: number): Departure {
    const p = this.pending.get(callSid);
    if (p === undefined || this.completed) return { ended: false, others: [] };
    this.pending.delete(callSid);
    p.status = 'failed';
    p.updatedAt = now;
    this.updatedAt = now;
    if (this.members.size === 0 && this.pending.size === 0) return this.end('last-participant-left', now, undefined);
    return { ended: false, others: [] };
  }

  /** End the room: everyone still in it, or being placed, is returned to be removed. */
  end(reason: EndReason, now: number, callSid?: string): Departure {
    if (this.completed) return { ended: false, others: [] };
    this.status = 'completed';
    this.endReason = reason;
    this.callSidEnding = callSid;
    this.updatedAt = now;
    const others = [...this.members.values(), ...this.pending.values()];
    for (const p of others) {
      p.status = this.members.has(p.callSid) ? 'complete' : 'failed';
      p.updatedAt = now;
    }
    this.members.clear();
    this.pending.clear();
    return { ended: true, others };
  }

  /** A participant of the room, in it or being placed. */
  participant(callSid: string): Participant | undefined {
    return this.members.get(callSid) ?? this.pending.get(callSid);
  }

  /** Everyone listed: those being placed, then those in the room. */
  participants(): Participant[] {
    return [...this.pending.values(), ...this.members.values()];
  }
}
