import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG_PATH, loadConfigFile, validateConfig } from '../../../src/config/load.js';
import type { PstnConfig } from '../../../src/config/schema.js';
import { type PstnCall, type PstnCallEvents, PROVIDER_TEST_NUMBERS, PstnEmulator } from '../../../src/pstn/emulator.js';
import { numberMatches } from '../../../src/numbers/number-patterns.js';

const MEDIA = { address: '127.0.0.1', port: 40000 };

function pstn(raw: Record<string, unknown> = {}): PstnConfig {
  const r = validateConfig({ pstn: raw });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config.pstn;
}

function offer(pts: string, extra: string[] = []): string {
  return [
    'v=0',
    'o=pbx 1 1 IN IP4 192.0.2.10',
    's=call',
    'c=IN IP4 192.0.2.10',
    't=0 0',
    `m=audio 49170 RTP/AVP ${pts}`,
    ...extra,
    '',
  ].join('\r\n');
}

type Event =
  | { at: number; kind: 'progress'; status: number; sdp: string | undefined }
  | { at: number; kind: 'answer'; sdp: string }
  | { at: number; kind: 'reject'; status: number; reason: string }
  | { at: number; kind: 'hangup' };

/** Records what the emulated network does, with the (fake) time since the call started. */
function recorder(): { events: Event[]; handlers: PstnCallEvents; kinds: () => string[] } {
  const start = Date.now();
  const events: Event[] = [];
  const at = (): number => Date.now() - start;
  return {
    events,
    kinds: () => events.map((e) => ('status' in e ? `${e.kind} ${e.status}` : e.kind)),
    handlers: {
      progress: (status, sdp) => events.push({ at: at(), kind: 'progress', status, sdp }),
      answer: (sdp) => events.push({ at: at(), kind: 'answer', sdp }),
      reject: (status, reason) => events.push({ at: at(), kind: 'reject', status, reason }),
      hungUp: () => events.push({ at: at(), kind: 'hangup' }),
    },
  };
}

function mLine(sdp: string | undefined): string | undefined {
  return sdp?.split('\r\n').find((l) => l.startsWith('m='));
}

describe('numberMatches', () => {
  it.each([
    ['*', '+14155550100', true],
    ['*', '', true],
    ['+1555*', '+15550001234', true],
    ['+1555*', '+1555', true],
    ['+1555*', '+1556000', false],
    ['+1555*', '+4415550000', false],
    ['+15550001234', '+15550001234', true],
    ['+15550001234', '+155500012345', false],
    ['+15550001234', '+1555000123', false],
    ['+*', '+4420', true],
  ])('%s ~ %s: %s', (pattern, number, matches) => {
    expect(numberMatches(pattern, number)).toBe(matches);
  });
});

describe('PstnEmulator.resolve (SPEC §6 rules)', () => {
  it('first match wins', () => {
    const e = new PstnEmulator(
      pstn({
        rules: [
          { number: '+1555000486*', behaviour: 'busy' },
          { number: '+1555*', behaviour: 'reject', status: 404 },
          { number: '*', behaviour: 'no-answer' },
        ],
      }),
      MEDIA,
    );
    expect(e.resolve('+15550004860')).toMatchObject({ behaviour: 'busy', matched: '+1555000486*' });
    expect(e.resolve('+15551112222')).toMatchObject({ behaviour: 'reject', status: 404, matched: '+1555*' });
    expect(e.resolve('+442079460000')).toMatchObject({ behaviour: 'no-answer', matched: '*' });
  });

  it('an exact rule matches only that number', () => {
    const e = new PstnEmulator(pstn({ rules: [{ number: '+15550001234', behaviour: 'busy' }] }), MEDIA);
    expect(e.resolve('+15550001234').behaviour).toBe('busy');
    expect(e.resolve('+155500012345').behaviour).toBe('answer');
  });

  it('no rule: answer with the section defaults', () => {
    const e = new PstnEmulator(pstn({ answerAfterMs: 250, ringTimeoutMs: 9000, hangupAfterMs: 60_000 }), MEDIA);
    expect(e.resolve('+14155550100')).toEqual({
      behaviour: 'answer',
      status: undefined,
      answerAfterMs: 250,
      hangupAfterMs: 60_000,
      ringTimeoutMs: 9000,
      matched: 'default',
    });
  });

  it('rule fields override the section defaults, one by one', () => {
    const e = new PstnEmulator(
      pstn({
        answerAfterMs: 1000,
        ringTimeoutMs: 60_000,
        hangupAfterMs: 30_000,
        rules: [
          { number: '+1000*', behaviour: 'answer', answerAfterMs: 10 },
          { number: '+2000*', behaviour: 'no-answer', ringTimeoutMs: 20 },
          { number: '+3000*', behaviour: 'hangup-after', hangupAfterMs: 30 },
        ],
      }),
      MEDIA,
    );
    expect(e.resolve('+10001')).toMatchObject({ answerAfterMs: 10, ringTimeoutMs: 60_000, hangupAfterMs: 30_000 });
    expect(e.resolve('+20001')).toMatchObject({ answerAfterMs: 1000, ringTimeoutMs: 20, hangupAfterMs: 30_000 });
    expect(e.resolve('+30001')).toMatchObject({ answerAfterMs: 1000, ringTimeoutMs: 60_000, hangupAfterMs: 30 });
  });

  it.each(PROVIDER_TEST_NUMBERS)("the provider's test number %s answers, even under a catch-all or prefix rule", (number) => {
    const e = new PstnEmulator(
      pstn({
        rules: [
          { number: number.slice(0, 5) + '*', behaviour: 'busy' },
          { number: '*', behaviour: 'reject', status: 503 },
        ],
      }),
      MEDIA,
    );
    expect(e.resolve(number)).toMatchObject({ behaviour: 'answer', matched: number });
    // the same rules do apply to other numbers
    expect(e.resolve(number.slice(0, 5) + '0000000')).toMatchObject({ behaviour: 'busy' });
    expect(e.resolve('+4930123456')).toMatchObject({ behaviour: 'reject', status: 503 });
  });

  it("a rule naming a provider's test number exactly changes it", () => {
    const e = new PstnEmulator(pstn({ rules: [{ number: '+16504894546', behaviour: 'busy' }] }), MEDIA);
    expect(e.resolve('+16504894546')).toMatchObject({ behaviour: 'busy', matched: '+16504894546' });
    expect(e.resolve('+14154758378')).toMatchObject({ behaviour: 'answer' });
  });

  it("the provider's test numbers are exactly the four of SPEC §6", () => {
    expect([...PROVIDER_TEST_NUMBERS]).toEqual(['+16504894546', '+14154758378', '+441618508378', '+551940422255']);
  });

  it('the default configuration: +1555000486* busy, +1555000480* no-answer, +1555000503* reject 503, the rest answer', () => {
    const r = loadConfigFile(DEFAULT_CONFIG_PATH);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const e = new PstnEmulator(r.config.pstn, MEDIA);
    expect(e.resolve('+15550004861')).toMatchObject({ behaviour: 'busy' });
    expect(e.resolve('+1555000486')).toMatchObject({ behaviour: 'busy' });
    expect(e.resolve('+15550004809')).toMatchObject({ behaviour: 'no-answer', ringTimeoutMs: 60_000 });
    expect(e.resolve('+15550005030')).toMatchObject({ behaviour: 'reject', status: 503 });
    expect(e.resolve('+15550004870')).toMatchObject({ behaviour: 'answer', answerAfterMs: 1000, hangupAfterMs: null, matched: 'default' });
    expect(e.resolve('+16504894546')).toMatchObject({ behaviour: 'answer' });
  });
});

describe('PstnCall behaviours (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const RULES = [
    { number: '+1486*', behaviour: 'busy' },
    { number: '+1480*', behaviour: 'no-answer' },
    { number: '+1503*', behaviour: 'reject', status: 503 },
    { number: '+1404*', behaviour: 'reject', status: 404 },
    { number: '+1600*', behaviour: 'reject', status: 600 },
    { number: '+1777*', behaviour: 'hangup-after', hangupAfterMs: 3000 },
    { number: '+1778*', behaviour: 'hangup-after' },
    { number: '+1200*', behaviour: 'answer', answerAfterMs: 50 },
  ];

  function start(
    called: string,
    sdp: string | undefined = offer('0 8'),
    config: Record<string, unknown> = {},
  ): { e: PstnEmulator; call: PstnCall; r: ReturnType<typeof recorder> } {
    // the +1778* rule has no hangupAfterMs of its own: valid only when the section sets one
    const rules = config['hangupAfterMs'] === undefined ? RULES.filter((rule) => rule.number !== '+1778*') : RULES;
    const e = new PstnEmulator(pstn({ rules, ...config }), MEDIA);
    const r = recorder();
    const call = e.startCall(called, sdp, r.handlers);
    return { e, call, r };
  }

  describe('answer', () => {
    it('180 at once, 200 after answerAfterMs, then stays up until the caller ends it', async () => {
      const { e, call, r } = start('+14155550100');
      expect(call.ended).toBe(false);
      expect(r.events).toEqual([]); // nothing before the caller has finished setting up
      await vi.advanceTimersByTimeAsync(0);
      expect(r.events).toEqual([{ at: 0, kind: 'progress', status: 180, sdp: undefined }]);
      await vi.advanceTimersByTimeAsync(999);
      expect(r.kinds()).toEqual(['progress 180']);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      expect(r.events[1]?.at).toBe(1000);
      expect(call.ended).toBe(false);
      expect(call.ended).toBe(false);
      await vi.advanceTimersByTimeAsync(24 * 3_600_000);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      call.end();
      expect(call.ended).toBe(true);
      expect(call.ended).toBe(true);
      expect(e.stats).toEqual({ calls: 1, answered: 1, rejected: 0, hungUp: 0 });
    });

    it('the 200 carries an SDP answer on the media endpoint, picking the first offered of PCMU/PCMA', async () => {
      const cases: Array<[string, string]> = [
        ['8 0', 'm=audio 40000 RTP/AVP 8'],
        ['0 8', 'm=audio 40000 RTP/AVP 0'],
        ['18 8', 'm=audio 40000 RTP/AVP 8'],
        ['18 0 8', 'm=audio 40000 RTP/AVP 0'],
      ];
      for (const [pts, m] of cases) {
        const { r, call } = start('+14155550100', offer(pts));
        await vi.advanceTimersByTimeAsync(1000);
        const answer = r.events.find((x) => x.kind === 'answer');
        expect(mLine(answer?.kind === 'answer' ? answer.sdp : undefined), pts).toBe(m);
        expect(answer?.kind === 'answer' && answer.sdp).toContain('c=IN IP4 127.0.0.1');
        call.end();
      }
    });

    it('keeps telephone-event when offered', async () => {
      const { r, call } = start('+14155550100', offer('8 101', ['a=rtpmap:101 telephone-event/8000']));
      await vi.advanceTimersByTimeAsync(1000);
      const answer = r.events[1];
      expect(answer?.kind).toBe('answer');
      if (answer?.kind === 'answer') {
        expect(mLine(answer.sdp)).toBe('m=audio 40000 RTP/AVP 8 101');
        expect(answer.sdp).toContain('a=rtpmap:101 telephone-event/8000');
      }
      call.end();
    });

    it('no offer (late offer): the 200 carries our offer of PCMU and PCMA', async () => {
      for (const sdp of [undefined, '']) {
        const e = new PstnEmulator(pstn(), MEDIA);
        const r = recorder();
        const call = e.startCall('+14155550100', sdp, r.handlers);
        await vi.advanceTimersByTimeAsync(1000);
        const answer = r.events[1];
        expect(answer?.kind).toBe('answer');
        expect(mLine(answer?.kind === 'answer' ? answer.sdp : undefined)).toBe('m=audio 40000 RTP/AVP 0 8');
        call.end();
      }
    });

    it("a rule's answerAfterMs overrides the section's", async () => {
      const { r, call } = start('+12005550100');
      await vi.advanceTimersByTimeAsync(49);
      expect(r.kinds()).toEqual(['progress 180']);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      call.end();
    });

    it('earlyMedia: 183 with the SDP answer, then 200 with the same SDP', async () => {
      const { r, call } = start('+14155550100', offer('8 0'), { earlyMedia: true });
      await vi.advanceTimersByTimeAsync(0);
      expect(r.kinds()).toEqual(['progress 183']);
      const early = r.events[0];
      expect(early?.kind === 'progress' && mLine(early.sdp)).toBe('m=audio 40000 RTP/AVP 8');
      await vi.advanceTimersByTimeAsync(1000);
      expect(r.kinds()).toEqual(['progress 183', 'answer']);
      const answer = r.events[1];
      expect(answer?.kind === 'answer' && early?.kind === 'progress' && answer.sdp === early.sdp).toBe(true);
      call.end();
      expect(call.ended).toBe(true);
    });

    it('an offer without PCMU or PCMA: 488 Not Acceptable Here, no ringing', async () => {
      const { r, call } = start('+14155550100', offer('18 9'));
      await vi.advanceTimersByTimeAsync(0);
      expect(r.events).toEqual([{ at: 0, kind: 'reject', status: 488, reason: 'Not Acceptable Here' }]);
      expect(call.ended).toBe(true);
      await vi.advanceTimersByTimeAsync(5000);
      expect(r.events).toHaveLength(1);
    });

    it('garbage SDP: 400 Bad Request', async () => {
      const { r, call, e } = start('+14155550100', 'garbage');
      await vi.advanceTimersByTimeAsync(0);
      expect(r.events).toEqual([{ at: 0, kind: 'reject', status: 400, reason: 'Bad Request' }]);
      expect(call.ended).toBe(true);
      expect(e.stats.rejected).toBe(1);
    });
  });

  describe('busy', () => {
    it('486 Busy Here at once, no ringing', async () => {
      const { r, call } = start('+14865550100');
      await vi.advanceTimersByTimeAsync(0);
      expect(r.events).toEqual([{ at: 0, kind: 'reject', status: 486, reason: 'Busy Here' }]);
      expect(call.ended).toBe(true);
      expect(call.ended).toBe(true);
      call.end();
      expect(call.ended).toBe(true);
    });

    it('even with an unusable offer (the network is busy before media is looked at)', async () => {
      const { r } = start('+14865550100', 'garbage');
      await vi.advanceTimersByTimeAsync(0);
      expect(r.kinds()).toEqual(['reject 486']);
    });
  });

  describe('no-answer', () => {
    it('180, then 480 Temporarily Unavailable after ringTimeoutMs', async () => {
      const { r, call } = start('+14805550100', offer('0'), { ringTimeoutMs: 7000 });
      await vi.advanceTimersByTimeAsync(6999);
      expect(r.kinds()).toEqual(['progress 180']);
      expect(call.ended).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.events[1]).toEqual({ at: 7000, kind: 'reject', status: 480, reason: 'Temporarily Unavailable' });
      expect(call.ended).toBe(true);
    });

    it('the default ringTimeoutMs is 60 s', async () => {
      const { r } = start('+14805550100');
      await vi.advanceTimersByTimeAsync(59_999);
      expect(r.kinds()).toEqual(['progress 180']);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.kinds()).toEqual(['progress 180', 'reject 480']);
    });

    it('end() before the timeout (the caller cancels) stops it: no 480, active back to 0', async () => {
      const { r, e, call } = start('+14805550100');
      await vi.advanceTimersByTimeAsync(3000);
      call.end();
      expect(call.ended).toBe(true);
      await vi.advanceTimersByTimeAsync(120_000);
      expect(r.kinds()).toEqual(['progress 180']);
      expect(e.stats.rejected).toBe(0);
    });
  });

  describe('reject', () => {
    it.each([
      ['+15035550100', 503, 'Service Unavailable'],
      ['+14045550100', 404, 'Not Found'],
      ['+16005550100', 600, 'Busy Everywhere'],
    ])('%s: %i %s at once', async (called, status, reason) => {
      const { r, call } = start(called);
      await vi.advanceTimersByTimeAsync(0);
      expect(r.events).toEqual([{ at: 0, kind: 'reject', status, reason }]);
      expect(call.ended).toBe(true);
    });

    it('a reject rule without a status (validation forbids it) gives 503', async () => {
      const config = pstn();
      const e = new PstnEmulator({ ...config, rules: [{ number: '*', behaviour: 'reject' }] }, MEDIA);
      const r = recorder();
      const call = e.startCall('+14155550100', undefined, r.handlers);
      await vi.advanceTimersByTimeAsync(0);
      expect(r.kinds()).toEqual(['reject 503']);
      expect(call.ended).toBe(true);
    });
  });

  describe('hangup-after', () => {
    it('answers after answerAfterMs, then the far end hangs up after hangupAfterMs', async () => {
      const { r, e, call } = start('+17775550100');
      await vi.advanceTimersByTimeAsync(1000);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      await vi.advanceTimersByTimeAsync(2999);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      expect(call.ended).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.kinds()).toEqual(['progress 180', 'answer', 'hangup']);
      expect(r.events[2]?.at).toBe(4000);
      expect(call.ended).toBe(true);
      expect(call.ended).toBe(true);
      expect(e.stats).toEqual({ calls: 1, answered: 1, rejected: 0, hungUp: 1 });
      call.end(); // the B2BUA ends its side too: nothing changes
      expect(call.ended).toBe(true);
    });

    it('takes hangupAfterMs from the pstn section when the rule has none', async () => {
      const { r } = start('+17785550100', offer('0'), { hangupAfterMs: 500 });
      await vi.advanceTimersByTimeAsync(1499);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.kinds()).toEqual(['progress 180', 'answer', 'hangup']);
    });

    it('the caller hanging up first stops the far-end hangup', async () => {
      const { r, e, call } = start('+17775550100');
      await vi.advanceTimersByTimeAsync(2000);
      call.end();
      expect(call.ended).toBe(true);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      expect(e.stats.hungUp).toBe(0);
    });
  });

  describe('pstn.hangupAfterMs', () => {
    it('is null by default: answered calls stay up', async () => {
      const { r, call } = start('+14155550100');
      await vi.advanceTimersByTimeAsync(48 * 3_600_000);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      expect(call.ended).toBe(false);
    });

    it('when set, answered calls of every rule hang up after it', async () => {
      const { r, call } = start('+14155550100', offer('0'), { hangupAfterMs: 20_000 });
      await vi.advanceTimersByTimeAsync(1000 + 19_999);
      expect(r.kinds()).toEqual(['progress 180', 'answer']);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.kinds()).toEqual(['progress 180', 'answer', 'hangup']);
      expect(call.ended).toBe(true);
    });
  });

  describe('active returns to 0 on every path', () => {
    it('end() before the call has begun: no events at all', async () => {
      const { r, call } = start('+14155550100');
      call.end();
      expect(call.ended).toBe(true);
      await vi.advanceTimersByTimeAsync(5000);
      expect(r.events).toEqual([]);
    });

    it('end() while ringing: no 200 later', async () => {
      const { r, e, call } = start('+14155550100');
      await vi.advanceTimersByTimeAsync(500);
      call.end();
      expect(call.ended).toBe(true);
      await vi.advanceTimersByTimeAsync(5000);
      expect(r.kinds()).toEqual(['progress 180']);
      expect(e.stats.answered).toBe(0);
    });

    it('end() from inside the 180 callback (a CANCEL racing the ringing): no 200', async () => {
      const e = new PstnEmulator(pstn(), MEDIA);
      const r = recorder();
      let call: PstnCall | undefined = undefined;
      call = e.startCall('+14155550100', offer('0'), {
        ...r.handlers,
        progress: (status, sdp) => {
          r.handlers.progress(status, sdp);
          call?.end();
        },
      });
      await vi.advanceTimersByTimeAsync(5000);
      expect(r.kinds()).toEqual(['progress 180']);
      expect(call.ended).toBe(true);
    });

    it('end() called many times ends the call once, and leaves other calls alone', async () => {
      const { call } = start('+14155550100');
      const other = start('+14155550101');
      await vi.advanceTimersByTimeAsync(1000);
      call.end();
      call.end();
      call.end();
      expect(call.ended).toBe(true);
      expect(other.call.ended).toBe(false);
      other.call.end();
      expect(other.call.ended).toBe(true);
    });

    it('many calls with mixed behaviours all end', async () => {
      const e = new PstnEmulator(pstn({ rules: RULES, hangupAfterMs: 10_000 }), MEDIA);
      const calls: PstnCall[] = [];
      const numbers = [
        '+14865550100',
        '+14805550100',
        '+15035550100',
        '+17775550100',
        '+17785550100',
        '+12005550100',
        '+14155550100',
        '+14155550101',
      ];
      for (const n of numbers) calls.push(e.startCall(n, offer('0'), recorder().handlers));
      expect(calls.filter((c) => !c.ended)).toHaveLength(numbers.length);
      await vi.advanceTimersByTimeAsync(0);
      expect(calls.filter((c) => !c.ended)).toHaveLength(numbers.length - 2); // busy and reject end at once
      await vi.advanceTimersByTimeAsync(11_000);
      // still up: the no-answer call (60 s)
      expect(calls.filter((c) => !c.ended)).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(calls.filter((c) => !c.ended)).toHaveLength(0);
      expect(e.stats.calls).toBe(numbers.length);
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe('updateConfig and reoffer', () => {
    it('new rules apply to new calls; a call in progress keeps its rule', async () => {
      const e = new PstnEmulator(pstn({ rules: [{ number: '*', behaviour: 'no-answer', ringTimeoutMs: 1000 }] }), MEDIA);
      const first = recorder();
      e.startCall('+14155550100', undefined, first.handlers);
      e.updateConfig(pstn({ rules: [{ number: '*', behaviour: 'busy' }] }));
      const second = recorder();
      e.startCall('+14155550100', undefined, second.handlers);
      await vi.advanceTimersByTimeAsync(1000);
      expect(first.kinds()).toEqual(['progress 180', 'reject 480']);
      expect(second.kinds()).toEqual(['reject 486']);
    });

    it('reoffer answers a new offer, or refuses it', async () => {
      const { call } = start('+14155550100');
      await vi.advanceTimersByTimeAsync(1000);
      const ok = call.reoffer(offer('8'));
      expect(ok.ok && mLine(ok.sdp)).toBe('m=audio 40000 RTP/AVP 8');
      expect(call.reoffer(offer('18'))).toEqual({ ok: false, status: 488 });
      expect(call.reoffer('garbage')).toEqual({ ok: false, status: 400 });
      const late = call.reoffer(undefined);
      expect(late.ok && mLine(late.sdp)).toBe('m=audio 40000 RTP/AVP 0 8');
      call.end();
    });

    it('hold and resume: sendonly is answered recvonly, then sendrecv; one session id, the version up by one per change', async () => {
      const { call, r } = start('+14155550100', offer('0'));
      await vi.advanceTimersByTimeAsync(1000);
      const answered = r.events.find((ev) => ev.kind === 'answer');
      const origin = (sdp: string): [string, number] => {
        const m = /^o=trunkgate (\d+) (\d+) /m.exec(sdp);
        return [m?.[1] ?? '', Number(m?.[2])];
      };
      if (answered?.kind !== 'answer') throw new Error('not answered');
      const [id, v0] = origin(answered.sdp);
      const steps = [offer('0', ['a=sendonly']), offer('0', ['a=sendonly']), offer('0', ['a=inactive']), offer('0')].map((o) => {
        const res = call.reoffer(o);
        if (!res.ok) throw new Error(`refused ${res.status}`);
        return { direction: /^a=(sendrecv|sendonly|recvonly|inactive)$/m.exec(res.sdp)?.[1], origin: origin(res.sdp) };
      });
      expect(steps).toEqual([
        { direction: 'recvonly', origin: [id, v0 + 1] },
        { direction: 'recvonly', origin: [id, v0 + 1] }, // the same SDP again: the same version
        { direction: 'inactive', origin: [id, v0 + 2] },
        { direction: 'sendrecv', origin: [id, v0 + 3] },
      ]);
      call.end();
    });
  });
});
