/**
 * Every account's conference rooms (SPEC §10): a name names the account's
 * live room, made on first use; rooms are found by SID for the REST API,
 * ended ones kept (bounded) so the API can still list and fetch them. The
 * manager applies a room's decisions: participants the room removes are
 * told (`Participant.removed`), and observers hear of joins, refusals and
 * ends through typed events (metrics).
 */
import { EventEmitter } from 'node:events';
import { Conference, type Departure, type EndReason, type JoinResult, type Participant } from './conference.js';

export interface ConferenceEventMap {
  joined: [conference: Conference, participant: Participant];
  /** A participant was refused: the room was full (16020) or over (16022). */
  refused: [conference: Conference, reason: 'full' | 'completed'];
  left: [conference: Conference, participant: Participant];
  ended: [conference: Conference];
}

function keyOf(account: string, name: string): string {
  return `${account}\u0000${name}`;
}

export class Conferences {
  readonly events = new EventEmitter<ConferenceEventMap>();
  /** The live (not completed) room of each account and name. */
  private readonly live = new Map<string, Conference>();
  private readonly bySid = new Map<string, Conference>();
  /** Each account's rooms, live and ended, in creation order. */
  private readonly byAccount = new Map<string, Map<string, Conference>>();
  /** Each account's ended rooms, oldest first (forgotten past `maxEndedPerAccount`). */
  private readonly endedOrder = new Map<string, Conference[]>();

  constructor(private maxEndedPerAccount: number) {
    this.events.setMaxListeners(0);
  }

  configure(maxEndedPerAccount: number): void {
    this.maxEndedPerAccount = maxEndedPerAccount;
  }

  /** The account's live room of this name, or a new one with this maximum. */
  room(account: string, name: string, maxParticipants: number, now: number): Conference {
    const key = keyOf(account, name);
    const existing = this.live.get(key);
    if (existing !== undefined && !existing.completed) return existing;
    const conference = new Conference(account, name, maxParticipants, now);
    this.live.set(key, conference);
    this.bySid.set(conference.sid, conference);
    let mine = this.byAccount.get(account);
    if (mine === undefined) this.byAccount.set(account, (mine = new Map<string, Conference>()));
    mine.set(conference.sid, conference);
    return conference;
  }

  /** A room by SID (live or ended), else the live room of that name. */
  find(account: string, sidOrName: string): Conference | undefined {
    const bySid = this.bySid.get(sidOrName);
    if (bySid !== undefined) return bySid.account === account ? bySid : undefined;
    return this.live.get(keyOf(account, sidOrName));
  }

  /** The account's rooms, newest first. */
  list(account: string): Conference[] {
    return [...(this.byAccount.get(account)?.values() ?? [])].reverse();
  }

  /** Rooms not completed, every account. */
  liveRooms(): Conference[] {
    return [...this.live.values()];
  }

  join(conference: Conference, p: Participant, now: number): JoinResult {
    const r = conference.join(p, now);
    if (r.ok) this.events.emit('joined', conference, p);
    else this.events.emit('refused', conference, r.reason);
    return r;
  }

  /** A participant left by itself (hung up, its <Dial> ended). */
  leave(conference: Conference, callSid: string, now: number): void {
    const p = conference.members.get(callSid);
    if (p === undefined) return;
    const d = conference.leave(callSid, 'left', now);
    this.events.emit('left', conference, p);
    this.apply(conference, d);
  }

  /** A participant being placed never arrived. */
  abandon(conference: Conference, callSid: string, now: number): void {
    this.apply(conference, conference.abandon(callSid, now));
  }

  /** Remove a participant (the API's DELETE): it is told, and the room may end. Returns false when it is not there. */
  kick(conference: Conference, callSid: string, now: number): boolean {
    const member = conference.members.get(callSid);
    if (member !== undefined) {
      const d = conference.leave(callSid, 'kicked', now);
      this.events.emit('left', conference, member);
      member.removed?.('kicked');
      this.apply(conference, d);
      return true;
    }
    const pending = conference.pending.get(callSid);
    if (pending === undefined) return false;
    const d = conference.abandon(callSid, now);
    pending.removed?.('kicked');
    this.apply(conference, d);
    return true;
  }

  /** End a room (the API's Status=completed): everyone in it is removed. */
  end(conference: Conference, reason: EndReason, now: number): void {
    this.apply(conference, conference.end(reason, now));
  }

  /** Tell the participants a room removed, and file the room away if it ended. */
  private apply(conference: Conference, d: Departure): void {
    for (const p of d.others) {
      if (p.status === 'complete') this.events.emit('left', conference, p);
      p.removed?.('ended');
    }
    if (d.ended) this.ended(conference);
  }

  private ended(conference: Conference): void {
    const key = keyOf(conference.account, conference.friendlyName);
    if (this.live.get(key) === conference) this.live.delete(key);
    this.events.emit('ended', conference);
    let ended = this.endedOrder.get(conference.account);
    if (ended === undefined) this.endedOrder.set(conference.account, (ended = []));
    ended.push(conference);
    while (ended.length > this.maxEndedPerAccount) {
      const old = ended.shift() as Conference;
      this.bySid.delete(old.sid);
      this.byAccount.get(old.account)?.delete(old.sid);
    }
  }

  /** Participants in live rooms, every account. */
  get participantCount(): number {
    let n = 0;
    for (const c of this.live.values()) n += c.members.size;
    return n;
  }
}
