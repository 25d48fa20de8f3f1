/**
 * Conference rules (research §5): the maximum and the refusal over it,
 * startConferenceOnEnter, endConferenceOnExit, the last one out, rooms by
 * name and SID, participants being placed, and the manager telling the
 * participants a room removes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Conference, DEFAULT_JOIN, type JoinOptions, type Participant, newParticipant } from '../../../src/conference/conference.js';
import { Conferences } from '../../../src/conference/conferences.js';

function p(sid: string, options: Partial<JoinOptions> = {}): Participant {
  return newParticipant(sid, { ...DEFAULT_JOIN, ...options }, 0);
}

describe('Conference', () => {
  it('takes maxParticipants and refuses the one over ("full"); the refused one is failed', () => {
    const c = new Conference('acme', 'room', 3, 0);
    for (const sid of ['CA1', 'CA2', 'CA3']) expect(c.join(p(sid), 1)).toMatchObject({ ok: true });
    const fourth = p('CA4');
    expect(c.join(fourth, 2)).toEqual({ ok: false, reason: 'full' });
    expect(fourth.status).toBe('failed');
    expect(c.members.size).toBe(3);
    expect(c.peak).toBe(3);
    // a place frees up: the next one gets in
    c.leave('CA2', 'left', 3);
    expect(c.join(p('CA5'), 4)).toMatchObject({ ok: true });
  });

  it('allows 2-250 participants only', () => {
    expect(() => new Conference('acme', 'room', 1, 0)).toThrow(/2-250/);
    expect(() => new Conference('acme', 'room', 251, 0)).toThrow(/2-250/);
    const c = new Conference('acme', 'big', 250, 0);
    for (let i = 0; i < 250; i++) expect(c.join(p(`CA${i}`), 0).ok).toBe(true);
    expect(c.join(p('CA250'), 0)).toEqual({ ok: false, reason: 'full' });
  });

  it('stays init until a participant with startConferenceOnEnter joins', () => {
    const c = new Conference('acme', 'room', 250, 0);
    expect(c.join(p('CA1', { startConferenceOnEnter: false }), 1)).toEqual({ ok: true, started: false });
    expect(c.status).toBe('init');
    expect(c.join(p('CA2'), 2)).toEqual({ ok: true, started: true });
    expect(c.status).toBe('in-progress');
    expect(c.join(p('CA3'), 3)).toEqual({ ok: true, started: false });
  });

  it('endConferenceOnExit ends the room for everyone; the others are returned to be removed', () => {
    const c = new Conference('acme', 'room', 250, 0);
    c.join(p('CA1'), 1);
    c.join(p('CA2', { endConferenceOnExit: true }), 2);
    c.join(p('CA3'), 3);
    const d = c.leave('CA2', 'left', 10);
    expect(d.ended).toBe(true);
    expect(d.others.map((x) => [x.callSid, x.status])).toEqual([
      ['CA1', 'complete'],
      ['CA3', 'complete'],
    ]);
    expect(c).toMatchObject({ status: 'completed', endReason: 'participant-with-end-conference-on-exit-left', callSidEnding: 'CA2', updatedAt: 10 });
    expect(c.members.size).toBe(0);
    expect(c.join(p('CA4'), 11)).toEqual({ ok: false, reason: 'completed' });
  });

  it('the last one out ends it (left, or kicked)', () => {
    const c = new Conference('acme', 'room', 250, 0);
    c.join(p('CA1'), 1);
    c.join(p('CA2'), 1);
    expect(c.leave('CA1', 'left', 2)).toEqual({ ended: false, others: [] });
    expect(c.leave('CA2', 'kicked', 3)).toEqual({ ended: true, others: [] });
    expect(c.endReason).toBe('last-participant-kicked');
    expect(c.leave('CA2', 'left', 4)).toEqual({ ended: false, others: [] });
  });

  it('participants being placed are listed but not counted; one that never arrives is failed, and the room ends when nobody is left', () => {
    const c = new Conference('acme', 'room', 2, 0);
    c.expect(p('CA1'), 0);
    c.expect(p('CA2'), 0);
    c.expect(p('CA3'), 0);
    expect(c.participants().map((x) => x.callSid)).toEqual(['CA1', 'CA2', 'CA3']);
    expect(c.join(c.participant('CA1') as Participant, 1).ok).toBe(true);
    expect(c.join(c.participant('CA2') as Participant, 1).ok).toBe(true);
    expect(c.join(c.participant('CA3') as Participant, 1)).toEqual({ ok: false, reason: 'full' });
    expect(c.participant('CA3')).toBeUndefined();
    c.expect(p('CA4'), 2);
    c.leave('CA1', 'left', 3);
    c.leave('CA2', 'left', 3);
    expect(c.status).not.toBe('completed');
    expect(c.abandon('CA4', 4)).toEqual({ ended: true, others: [] });
    expect(c.endReason).toBe('last-participant-left');
  });

  it('property: members never exceed the maximum; a completed room takes nobody', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.array(fc.tuple(fc.constantFrom('join', 'leave', 'end'), fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 80 }), (max, ops) => {
        const c = new Conference('acme', 'room', max, 0);
        for (const [kind, n, flag] of ops) {
          if (kind === 'join') {
            const r = c.join(p(`CA${n}`, { endConferenceOnExit: flag && n % 7 === 0 }), 0);
            if (c.completed) expect(r.ok).toBe(false);
          } else if (kind === 'leave') c.leave(`CA${n}`, flag ? 'left' : 'kicked', 0);
          else if (flag && n === 0) c.end('conference-ended-via-api', 0);
          expect(c.members.size).toBeLessThanOrEqual(max);
          if (c.completed) expect(c.members.size).toBe(0);
        }
      }),
    );
  });
});

describe('Conferences', () => {
  it('a name names the live room; a completed one is found by SID only; the same name makes a new room', () => {
    const rooms = new Conferences(10);
    const a = rooms.room('acme', 'room', 5, 0);
    expect(rooms.room('acme', 'room', 9, 1)).toBe(a);
    expect(rooms.find('acme', 'room')).toBe(a);
    expect(rooms.find('acme', a.sid)).toBe(a);
    expect(rooms.find('other', a.sid)).toBeUndefined();
    expect(rooms.room('other', 'room', 5, 0)).not.toBe(a);
    rooms.end(a, 'conference-ended-via-api', 2);
    expect(rooms.find('acme', 'room')).toBeUndefined();
    expect(rooms.find('acme', a.sid)).toBe(a);
    const b = rooms.room('acme', 'room', 5, 3);
    expect(b.sid).not.toBe(a.sid);
    expect(rooms.list('acme')).toEqual([b, a]);
  });

  it('tells the participants a room removes, and reports joins, refusals and ends', () => {
    const rooms = new Conferences(10);
    const events: string[] = [];
    rooms.events.on('joined', (_c, x) => events.push(`joined ${x.callSid}`));
    rooms.events.on('refused', (_c, reason) => events.push(`refused ${reason}`));
    rooms.events.on('ended', (c) => events.push(`ended ${c.endReason ?? ''}`));
    const c = rooms.room('acme', 'room', 2, 0);
    const removed: string[] = [];
    const member = (sid: string, options: Partial<JoinOptions> = {}): Participant => {
      const x = p(sid, options);
      x.removed = (how) => removed.push(`${sid} ${how}`);
      return x;
    };
    rooms.join(c, member('CA1'), 0);
    rooms.join(c, member('CA2', { endConferenceOnExit: true }), 0);
    rooms.join(c, member('CA3'), 0);
    const pending = member('CA4');
    c.expect(pending, 0);
    // the API removes CA1: it is told; then CA2 leaves by itself and ends the room
    expect(rooms.kick(c, 'CA1', 1)).toBe(true);
    expect(rooms.kick(c, 'CA1', 1)).toBe(false);
    rooms.leave(c, 'CA2', 2);
    expect(removed).toEqual(['CA1 kicked', 'CA4 ended']);
    expect(events).toEqual(['joined CA1', 'joined CA2', 'refused full', 'ended participant-with-end-conference-on-exit-left']);
    expect(rooms.liveRooms()).toEqual([]);
    expect(rooms.participantCount).toBe(0);
  });

  it('forgets the oldest ended rooms past maxEndedPerAccount', () => {
    const rooms = new Conferences(2);
    const sids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = rooms.room('acme', `r${i}`, 2, i);
      sids.push(c.sid);
      rooms.end(c, 'conference-ended-via-api', i);
    }
    expect(rooms.find('acme', sids[0] as string)).toBeUndefined();
    expect(rooms.list('acme').map((c) => c.sid)).toEqual([sids[2], sids[1]]);
  });
});
