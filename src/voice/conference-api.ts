/**
 * The Conferences and Participants resources (SPEC §10, research §5.6-5.7),
 * in the provider's shapes so its SDK works unchanged:
 *
 *   GET  …/Conferences.json                                   list (FriendlyName, Status, DateCreated, DateUpdated; paged)
 *   GET  …/Conferences/{ConferenceSid}.json                   fetch
 *   POST …/Conferences/{ConferenceSid}.json                   Status=completed ends it
 *   GET  …/Conferences/{ConferenceSid}/Participants.json      list (Muted, Hold; paged)
 *   POST …/Conferences/{ConferenceSid}/Participants.json      add one: a call placed at the account's CPS (queue_time)
 *   GET  …/Conferences/{ConferenceSid}/Participants/{CallSid}.json   fetch
 *   POST …/Conferences/{ConferenceSid}/Participants/{CallSid}.json   Muted, Hold
 *   DELETE …/Conferences/{ConferenceSid}/Participants/{CallSid}.json remove (204)
 *
 * `{ConferenceSid}` may be the room's friendly name, as at the provider: adding a
 * participant to a name with no live room makes the room. A participant's
 * call is an ordinary API call (the Calls resource lists it) whose TwiML,
 * once answered, is the `<Dial><Conference>` of its room.
 */
import type { Conference, Participant, ParticipantStatus } from '../conference/conference.js';
import { DEFAULT_JOIN, MAX_PARTICIPANTS, MIN_PARTICIPANTS, newParticipant } from '../conference/conference.js';
import type { Conferences } from '../conference/conferences.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../limits/clock.js';
import { maxCallDurationMs } from '../termination/directory.js';
import { type CreateRequest, DEFAULT_PAGE_SIZE, type FormParams, MAX_PAGE_SIZE, readCreate, timeFilter } from './api-params.js';
import { type ApiResult, providerError } from './provider-errors.js';
import type { VoiceAccount } from './voice-accounts.js';
import { type VoiceCall, rfc2822 } from './voice-call.js';

type Resource = Record<string, unknown>;

/** What the API needs from the voice engine. */
export interface ConferenceApiParts {
  clock: Clock;
  conferences: Conferences;
  config(): Config;
  /** Queue a call at the account's CPS; `prepare` sees it once queued. */
  place(account: VoiceAccount, request: CreateRequest, prepare: (call: VoiceCall) => void): ApiResult<{ call: VoiceCall; queueTimeMs: number }>;
  call(account: VoiceAccount, sid: string): VoiceCall | undefined;
  /** End a call whatever its state (queued: removed; ringing: cancelled; answered: hung up). */
  end(call: VoiceCall): void;
}

function flag(form: FormParams, name: string, fallback: boolean): ApiResult<boolean> {
  const v = form.get(name);
  if (v === null || v === '') return { ok: true, value: fallback };
  const lower = v.toLowerCase();
  if (lower === 'true') return { ok: true, value: true };
  if (lower === 'false') return { ok: true, value: false };
  return { ok: false, error: providerError('BAD_PARAMETER', `${name} "${v}" (expected true or false)`) };
}

const CONFERENCE_STATUSES = ['init', 'in-progress', 'completed'];

interface Paging {
  pageSize: number;
  page: number;
  pageToken: string | undefined;
}

function readPaging(form: FormParams): ApiResult<Paging> {
  const size = form.get('PageSize');
  if (size !== null && (!/^\d+$/.test(size) || Number(size) < 1)) return { ok: false, error: providerError('BAD_PARAMETER', `PageSize "${size}" (expected 1-${MAX_PAGE_SIZE})`) };
  const page = form.get('Page');
  if (page !== null && !/^\d+$/.test(page)) return { ok: false, error: providerError('BAD_PARAMETER', `Page "${page}" (expected a whole number)`) };
  return {
    ok: true,
    value: { pageSize: Math.min(MAX_PAGE_SIZE, size === null ? DEFAULT_PAGE_SIZE : Number(size)), page: page === null ? 0 : Number(page), pageToken: form.get('PageToken') ?? undefined },
  };
}

/** The provider's list envelope (`key` holds the page), with paths that carry the filters. */
function pageOf<T>(items: readonly T[], sidOf: (t: T) => string, toJson: (t: T) => Resource, form: FormParams, base: string, key: string, paging: Paging): Resource {
  let start = paging.page * paging.pageSize;
  if (paging.pageToken !== undefined) {
    const after = items.findIndex((t) => `PA${sidOf(t)}` === paging.pageToken);
    start = after === -1 ? items.length : after + 1;
  }
  const page = items.slice(start, start + paging.pageSize);
  const filters = new URLSearchParams();
  for (const [k, v] of form) if (k !== 'Page' && k !== 'PageSize' && k !== 'PageToken') filters.append(k, v);
  const uriFor = (extra: Record<string, string>): string => {
    const p = new URLSearchParams(filters);
    p.set('PageSize', String(paging.pageSize));
    for (const [k, v] of Object.entries(extra)) p.set(k, v);
    return `${base}?${p.toString()}`;
  };
  const last = page[page.length - 1];
  const more = last !== undefined && start + page.length < items.length;
  const self = new URLSearchParams(form);
  return {
    [key]: page.map(toJson),
    end: start + Math.max(page.length, 1) - 1,
    first_page_uri: uriFor({ Page: '0' }),
    next_page_uri: more ? uriFor({ Page: String(paging.page + 1), PageToken: `PA${sidOf(last)}` }) : null,
    page: paging.page,
    page_size: paging.pageSize,
    previous_page_uri: paging.page > 0 ? uriFor({ Page: String(paging.page - 1) }) : null,
    start,
    uri: self.size === 0 ? base : `${base}?${self.toString()}`,
  };
}

function inRange(t: number, r: { after?: number; before?: number }): boolean {
  return (r.after === undefined || t >= r.after) && (r.before === undefined || t < r.before);
}

export class ConferenceApi {
  constructor(private readonly parts: ConferenceApiParts) {}

  private base(account: VoiceAccount): string {
    return `/2010-04-01/Accounts/${account.sid}/Conferences`;
  }

  private notFound(path: string): ApiResult<never> {
    return { ok: false, error: providerError('NOT_FOUND', path) };
  }

  private room(account: VoiceAccount, sidOrName: string): Conference | undefined {
    return this.parts.conferences.find(account.name, sidOrName);
  }

  // ------------------------------------------------------------ resources

  conferenceResource(account: VoiceAccount, c: Conference): Resource {
    const uri = `${this.base(account)}/${c.sid}`;
    return {
      account_sid: account.sid,
      date_created: rfc2822(c.createdAt),
      date_updated: rfc2822(c.updatedAt),
      api_version: '2010-04-01',
      friendly_name: c.friendlyName,
      region: 'us1',
      sid: c.sid,
      status: c.status,
      uri: `${uri}.json`,
      subresource_uris: { participants: `${uri}/Participants.json`, recordings: `${uri}/Recordings.json` },
      reason_conference_ended: c.endReason ?? null,
      call_sid_ending_conference: c.callSidEnding ?? null,
    };
  }

  /** A participant still being placed shows how far its call got. */
  private statusOf(account: VoiceAccount, p: Participant): ParticipantStatus {
    if (p.status !== 'connecting' && p.status !== 'queued') return p.status;
    const call = this.parts.call(account, p.callSid);
    if (call === undefined || (call.status === 'queued' && !call.dequeued)) return 'queued';
    return call.status === 'ringing' ? 'ringing' : 'connecting';
  }

  /** `queueTimeMs` only in the answer to a create, where the participant is `queued` like a created call. */
  participantResource(account: VoiceAccount, c: Conference, p: Participant, queueTimeMs?: number): Resource {
    return {
      account_sid: account.sid,
      call_sid: p.callSid,
      label: p.label ?? null,
      call_sid_to_coach: null,
      coaching: false,
      conference_sid: c.sid,
      date_created: rfc2822(p.createdAt),
      date_updated: rfc2822(p.updatedAt),
      end_conference_on_exit: p.endConferenceOnExit,
      muted: p.muted,
      hold: p.hold,
      start_conference_on_enter: p.startConferenceOnEnter,
      status: queueTimeMs === undefined ? this.statusOf(account, p) : 'queued',
      // "only available in the response to a create participant request" (research §5.6)
      queue_time: queueTimeMs === undefined ? null : String(Math.round(queueTimeMs)),
      uri: `${this.base(account)}/${c.sid}/Participants/${p.callSid}.json`,
    };
  }

  // ------------------------------------------------------------ conferences

  listConferences(account: VoiceAccount, form: FormParams): ApiResult<Resource> {
    const paging = readPaging(form);
    if (!paging.ok) return paging;
    const status = form.get('Status');
    if (status !== null && status !== '' && !CONFERENCE_STATUSES.includes(status)) {
      return { ok: false, error: providerError('BAD_PARAMETER', `Status "${status}" (expected ${CONFERENCE_STATUSES.join(', ')})`) };
    }
    const created = timeFilter(form, 'DateCreated');
    if (!created.ok) return created;
    const updated = timeFilter(form, 'DateUpdated');
    if (!updated.ok) return updated;
    const name = form.get('FriendlyName');
    const rooms = this.parts.conferences
      .list(account.name)
      .filter((c) => (name === null || name === '' || c.friendlyName === name) && (status === null || status === '' || c.status === status) && inRange(c.createdAt, created.value) && inRange(c.updatedAt, updated.value));
    return { ok: true, value: pageOf(rooms, (c) => c.sid, (c) => this.conferenceResource(account, c), form, `${this.base(account)}.json`, 'conferences', paging.value) };
  }

  fetchConference(account: VoiceAccount, sid: string): ApiResult<Resource> {
    const c = this.room(account, sid);
    if (c === undefined) return this.notFound(`${this.base(account)}/${sid}.json`);
    return { ok: true, value: this.conferenceResource(account, c) };
  }

  /** `Status=completed` ends the room: every participant is removed. */
  updateConference(account: VoiceAccount, sid: string, form: FormParams): ApiResult<Resource> {
    const c = this.room(account, sid);
    if (c === undefined) return this.notFound(`${this.base(account)}/${sid}.json`);
    const status = form.get('Status');
    if (status !== null && status !== '') {
      if (status !== 'completed') return { ok: false, error: providerError('BAD_PARAMETER', `Status "${status}" (expected completed)`) };
      this.parts.conferences.end(c, 'conference-ended-via-api', this.parts.clock.now());
    }
    return { ok: true, value: this.conferenceResource(account, c) };
  }

  // ------------------------------------------------------------ participants

  listParticipants(account: VoiceAccount, sid: string, form: FormParams): ApiResult<Resource> {
    const c = this.room(account, sid);
    if (c === undefined) return this.notFound(`${this.base(account)}/${sid}/Participants.json`);
    const paging = readPaging(form);
    if (!paging.ok) return paging;
    const muted = form.get('Muted');
    const hold = form.get('Hold');
    const filter = (p: Participant): boolean => (muted === null || muted === '' || String(p.muted) === muted.toLowerCase()) && (hold === null || hold === '' || String(p.hold) === hold.toLowerCase());
    const list = c.participants().filter(filter);
    return { ok: true, value: pageOf(list, (p) => p.callSid, (p) => this.participantResource(account, c, p), form, `${this.base(account)}/${c.sid}/Participants.json`, 'participants', paging.value) };
  }

  private participantOf(account: VoiceAccount, sid: string, callSid: string): ApiResult<{ c: Conference; p: Participant }> {
    const c = this.room(account, sid);
    const p = c?.participant(callSid);
    if (c === undefined || p === undefined) return this.notFound(`${this.base(account)}/${sid}/Participants/${callSid}.json`);
    return { ok: true, value: { c, p } };
  }

  fetchParticipant(account: VoiceAccount, sid: string, callSid: string): ApiResult<Resource> {
    const r = this.participantOf(account, sid, callSid);
    if (!r.ok) return r;
    return { ok: true, value: this.participantResource(account, r.value.c, r.value.p) };
  }

  /** `Muted` and `Hold` (signalling only: they change the resource, no audio is touched). */
  updateParticipant(account: VoiceAccount, sid: string, callSid: string, form: FormParams): ApiResult<Resource> {
    const r = this.participantOf(account, sid, callSid);
    if (!r.ok) return r;
    const { c, p } = r.value;
    const muted = flag(form, 'Muted', p.muted);
    if (!muted.ok) return muted;
    const hold = flag(form, 'Hold', p.hold);
    if (!hold.ok) return hold;
    p.muted = muted.value;
    p.hold = hold.value;
    p.updatedAt = this.parts.clock.now();
    return { ok: true, value: this.participantResource(account, c, p) };
  }

  /** Remove a participant: one in the room leaves it (its <Dial> ends), one being placed is cancelled. */
  removeParticipant(account: VoiceAccount, sid: string, callSid: string): ApiResult<null> {
    const r = this.participantOf(account, sid, callSid);
    if (!r.ok) return r;
    this.parts.conferences.kick(r.value.c, callSid, this.parts.clock.now());
    return { ok: true, value: null };
  }

  /**
   * Add a participant (research §5.6): `From` and `To` as for a call, with
   * the participant's `Label`, `StartConferenceOnEnter`, `EndConferenceOnExit`,
   * `Muted`, and the room's `MaxParticipants` (2-250) when this makes it. The
   * call waits its turn at the account's CPS; `queue_time` says how long.
   */
  addParticipant(account: VoiceAccount, sidOrName: string, form: FormParams): ApiResult<Resource> {
    const now = this.parts.clock.now();
    const existing = this.room(account, sidOrName);
    if (existing === undefined && /^CF[0-9a-f]{32}$/i.test(sidOrName)) return this.notFound(`${this.base(account)}/${sidOrName}/Participants.json`);
    if (existing?.completed === true) return { ok: false, error: providerError('CONFERENCE_OVER', `${existing.friendlyName} (${existing.sid}) has ended`) };
    const maxText = form.get('MaxParticipants');
    if (maxText !== null && maxText !== '' && (!/^\d+$/.test(maxText) || Number(maxText) < MIN_PARTICIPANTS || Number(maxText) > MAX_PARTICIPANTS)) {
      return { ok: false, error: providerError('BAD_PARAMETER', `MaxParticipants "${maxText}" (expected ${MIN_PARTICIPANTS}-${MAX_PARTICIPANTS})`) };
    }
    const start = flag(form, 'StartConferenceOnEnter', DEFAULT_JOIN.startConferenceOnEnter);
    if (!start.ok) return start;
    const endOnExit = flag(form, 'EndConferenceOnExit', DEFAULT_JOIN.endConferenceOnExit);
    if (!endOnExit.ok) return endOnExit;
    const muted = flag(form, 'Muted', DEFAULT_JOIN.muted);
    if (!muted.ok) return muted;
    const label = form.get('Label');
    if (label !== null && (label.length > 128 || label.includes('/') || /^CA[0-9a-f]{32}$/i.test(label))) {
      return { ok: false, error: providerError('BAD_PARAMETER', 'Label must be at most 128 characters, without "/", and not a Call SID') };
    }
    // the call itself is read like a created call's; its TwiML is the room's <Dial><Conference>
    const callForm = new URLSearchParams(form);
    for (const k of ['Url', 'Method', 'Twiml', 'ApplicationSid']) callForm.delete(k);
    callForm.set('Twiml', '<Response><Dial><Conference>participant</Conference></Dial></Response>');
    const config = this.parts.config();
    const request = readCreate(callForm, account, config, maxCallDurationMs(account.config) / 1000);
    if (!request.ok) return request;
    let room = existing;
    let participant: Participant | undefined;
    const placed = this.parts.place(account, request.value, (call) => {
      room ??= this.parts.conferences.room(account.name, sidOrName, maxText === null || maxText === '' ? MAX_PARTICIPANTS : Number(maxText), now);
      const p = newParticipant(call.sid, { startConferenceOnEnter: start.value, endConferenceOnExit: endOnExit.value, muted: muted.value, label: label === null || label === '' ? undefined : label }, now, 'queued');
      // removed while still being placed (the API, or the room ended): the call is cancelled
      p.removed = () => this.parts.end(call);
      room.expect(p, now);
      call.conference = { room, participant: p };
      participant = p;
    });
    if (!placed.ok) return placed;
    if (room === undefined || participant === undefined) throw new Error('a placed participant has no room: a bug');
    participant.queueTimeMs = placed.value.queueTimeMs;
    return { ok: true, value: this.participantResource(account, room, participant, placed.value.queueTimeMs) };
  }
}
