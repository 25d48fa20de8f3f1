/** TwiML parsing (SPEC §10): verbs in order, attributes with defaults, 12100 for documents that do not parse, 12200/13910 warnings. */
import { describe, expect, it } from 'vitest';
import { parseTwiml } from '../../../src/twiml/parse.js';

describe('parseTwiml', () => {
  it('reads the verbs in document order, with their attributes and defaults', () => {
    const r = parseTwiml(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say voice="alice" loop="2">Hello &amp; welcome</Say>
  <Play>https://example.com/a.mp3</Play>
  <Pause length="3"/>
  <Dial timeout="10" timeLimit="60" callerId="+15017122661" action="/after" method="GET">+14155550100<Number>+14155550101</Number><Sip>sip:bob@127.0.0.1:5070</Sip></Dial>
  <Redirect method="GET">/next</Redirect>
  <Reject reason="busy"/>
  <Hangup/>
</Response>`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toEqual([]);
    expect(r.verbs).toEqual([
      { verb: 'Say', text: 'Hello & welcome', loop: 2 },
      { verb: 'Play', url: 'https://example.com/a.mp3', loop: 1 },
      { verb: 'Pause', lengthSeconds: 3 },
      {
        verb: 'Dial',
        timeoutSeconds: 10,
        timeLimitSeconds: 60,
        callerId: '+15017122661',
        action: '/after',
        method: 'GET',
        nouns: [
          { kind: 'number', number: '+14155550100' },
          { kind: 'number', number: '+14155550101' },
          { kind: 'sip', uri: 'sip:bob@127.0.0.1:5070' },
        ],
      },
      { verb: 'Redirect', url: '/next', method: 'GET' },
      { verb: 'Reject', reason: 'busy' },
      { verb: 'Hangup' },
    ]);
  });

  it('defaults: Pause 1 s, Dial timeout 30 s and timeLimit 4 h, methods POST, Reject rejected', () => {
    const r = parseTwiml('<Response><Pause/><Dial><Client>alice</Client><Conference>room</Conference></Dial><Reject/></Response>');
    expect(r.ok && r.verbs).toEqual([
      { verb: 'Pause', lengthSeconds: 1 },
      { verb: 'Dial', timeoutSeconds: 30, timeLimitSeconds: 14_400, callerId: undefined, action: undefined, method: 'POST', nouns: [
          { kind: 'client', identity: 'alice' },
          { kind: 'conference', name: 'room', maxParticipants: 250, startConferenceOnEnter: true, endConferenceOnExit: false, muted: false, label: undefined },
        ],
      },
      { verb: 'Reject', reason: 'rejected' },
    ]);
  });

  it('reads <Conference> attributes; out-of-range or non-boolean values are warned about and defaulted', () => {
    const r = parseTwiml(
      '<Response><Dial><Conference maxParticipants="3" startConferenceOnEnter="false" endConferenceOnExit="true" muted="true" participantLabel="agent">room</Conference></Dial>' +
        '<Dial><Conference maxParticipants="251" muted="yes">big</Conference></Dial></Response>',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.verbs[0]).toMatchObject({ nouns: [{ kind: 'conference', name: 'room', maxParticipants: 3, startConferenceOnEnter: false, endConferenceOnExit: true, muted: true, label: 'agent' }] });
    expect(r.verbs[1]).toMatchObject({ nouns: [{ kind: 'conference', name: 'big', maxParticipants: 250, muted: false }] });
    expect(r.warnings.map((w) => w.code)).toEqual([12200, 12200]);
    expect(r.warnings[0]?.detail).toContain('maxParticipants');
  });

  it.each([
    ['not XML', 'hello'],
    ['unclosed element', '<Response><Say>hi</Response>'],
    ['another root', '<Document><Say>hi</Say></Document>'],
    ['whitespace before the declaration', '  <?xml version="1.0"?><Response/>'],
    ['empty', ''],
    ['two roots', '<Response/><Response/>'],
  ])('12100 for a document that does not parse: %s', (_what, text) => {
    const r = parseTwiml(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.detail.length).toBeGreaterThan(5);
  });

  it('unknown or misspelled verbs are skipped with a 12200 warning; a bad Pause length with 13910', () => {
    const r = parseTwiml('<Response><say>lower case</say><Gather/><Pause length="-2"/><Dial timeout="1"><Queue>q</Queue>+14155550100</Dial></Response>');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.verbs.map((v) => v.verb)).toEqual(['Pause', 'Dial']);
    expect(r.verbs[0]).toEqual({ verb: 'Pause', lengthSeconds: 1 });
    expect(r.verbs[1]).toMatchObject({ timeoutSeconds: 5, nouns: [{ kind: 'number', number: '+14155550100' }] });
    expect(r.warnings.map((w) => w.code)).toEqual([12200, 12200, 13910, 12200, 12200]);
    expect(r.warnings[0]?.detail).toContain('case-sensitive');
    expect(r.warnings[1]?.detail).toContain('not emulated');
  });
});
