import { describe, expect, it } from 'vitest';
import { type AudioOffer, SdpOrigin, buildAnswer, buildOffer, offersSrtp, pickCodec, readAudioOffer } from '../../../src/media/sdp.js';

/** An SDP offer from a PBX: session-level c=, one audio m= line. */
function sdp(mLine: string, extra: string[] = [], c = 'c=IN IP4 192.0.2.10'): string {
  return ['v=0', 'o=pbx 1 1 IN IP4 192.0.2.10', 's=call', c, 't=0 0', mLine, ...extra, ''].join('\r\n');
}

function offerOf(text: string): AudioOffer {
  const r = readAudioOffer(text);
  if (!r.ok) throw new Error(r.reason);
  return r.offer;
}

function lines(text: string): string[] {
  return text.split('\r\n');
}

describe('readAudioOffer', () => {
  it('reads address, port, payload types in order and their encodings', () => {
    const o = offerOf(
      sdp('m=audio 49170 RTP/AVP 0 8 101', ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16']),
    );
    expect(o.address).toBe('192.0.2.10');
    expect(o.port).toBe(49170);
    expect(o.payloadTypes).toEqual([0, 8, 101]);
    expect([...o.encodings]).toEqual([
      [0, 'PCMU'],
      [8, 'PCMA'],
      [101, 'TELEPHONE-EVENT'],
    ]);
  });

  it('knows the static payload types without rtpmap', () => {
    const o = offerOf(sdp('m=audio 4000 RTP/AVP 18 9 4 3 0 8'));
    expect(Object.fromEntries(o.encodings)).toEqual({ 18: 'G729', 9: 'G722', 4: 'G723', 3: 'GSM', 0: 'PCMU', 8: 'PCMA' });
  });

  it('takes the dynamic encodings from rtpmap, upper-cased', () => {
    const o = offerOf(sdp('m=audio 4000 RTP/AVP 96 97', ['a=rtpmap:96 opus/48000/2', 'a=rtpmap:97 pcmu/8000']));
    expect(o.encodings.get(96)).toBe('OPUS');
    expect(o.encodings.get(97)).toBe('PCMU');
  });

  it('a media-level c= wins over the session-level one', () => {
    const o = offerOf(
      ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 5000 RTP/AVP 0', 'c=IN IP4 198.51.100.7', ''].join(
        '\r\n',
      ),
    );
    expect(o.address).toBe('198.51.100.7');
  });

  it('reads IPv6 addresses and bare LF line ends', () => {
    const o = offerOf(['v=0', 'o=- 1 1 IN IP6 ::1', 's=-', 'c=IN IP6 2001:db8::5', 't=0 0', 'm=audio 5000 RTP/AVP 8', ''].join('\n'));
    expect(o).toMatchObject({ address: '2001:db8::5', port: 5000, payloadTypes: [8] });
  });

  it('reads only the first audio stream (video before it is skipped, a second audio after it ignored)', () => {
    const o = offerOf(
      [
        'v=0',
        'o=- 1 1 IN IP4 192.0.2.1',
        's=-',
        't=0 0',
        'm=video 6000 RTP/AVP 96',
        'c=IN IP4 203.0.113.9',
        'a=rtpmap:96 H264/90000',
        'm=audio 5000 RTP/AVP 96 0',
        'c=IN IP4 192.0.2.1',
        'a=rtpmap:96 opus/48000/2',
        'm=audio 7000 RTP/AVP 8',
        'c=IN IP4 192.0.2.99',
        'a=rtpmap:0 PCMA/8000',
        '',
      ].join('\r\n'),
    );
    expect(o.address).toBe('192.0.2.1');
    expect(o.port).toBe(5000);
    expect(o.payloadTypes).toEqual([96, 0]);
    expect(o.encodings.get(96)).toBe('OPUS');
    expect(o.encodings.get(0)).toBe('PCMU');
    expect(o.encodings.has(8)).toBe(false);
  });

  it('ignores an rtpmap before the audio m= line', () => {
    const o = offerOf(
      [
        'v=0',
        'o=- 1 1 IN IP4 192.0.2.1',
        's=-',
        'c=IN IP4 192.0.2.1',
        't=0 0',
        'a=rtpmap:96 PCMU/8000',
        'm=audio 5000 RTP/AVP 96',
        '',
      ].join('\r\n'),
    );
    expect(o.encodings.has(96)).toBe(false);
  });

  it('a trailing space or a run of spaces in the m= line invents no payload type', () => {
    expect(offerOf(sdp('m=audio 5000 RTP/AVP 18 ')).payloadTypes).toEqual([18]);
    expect(offerOf(sdp('m=audio 5000  RTP/AVP  18  8')).payloadTypes).toEqual([18, 8]);
  });

  it('port 0 (a refused stream) is read as 0', () => {
    expect(offerOf(sdp('m=audio 0 RTP/AVP 0')).port).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['not SDP', 'hello world'],
    ['no v= first', 'o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n'],
    ['a malformed line', sdp('m=audio 5000 RTP/AVP 0', ['garbage'])],
    ['a line with no value separator', sdp('m=audio 5000 RTP/AVP 0', ['a:rtpmap'])],
    [
      'no audio stream',
      ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=video 5000 RTP/AVP 96', ''].join('\r\n'),
    ],
    ['no m= line at all', ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', ''].join('\r\n')],
    ['no connection address', sdp('m=audio 5000 RTP/AVP 0', [], 'b=AS:64')],
    ['a c= line without an address', sdp('m=audio 5000 RTP/AVP 0', [], 'c=IN IP4')],
    ['an m= line without payload types', sdp('m=audio 5000 RTP/AVP')],
    ['an m= line without a port', sdp('m=audio  RTP/AVP 0')],
    ['a port over 65535', sdp('m=audio 70000 RTP/AVP 0')],
    ['a port that is not a number', sdp('m=audio abc RTP/AVP 0')],
    ['a hex port', sdp('m=audio 0x10 RTP/AVP 0')],
    ['a payload type over 127', sdp('m=audio 5000 RTP/AVP 0 128')],
    ['a payload type that is not a number', sdp('m=audio 5000 RTP/AVP 0 pcmu')],
    ['a negative payload type', sdp('m=audio 5000 RTP/AVP -1')],
  ])('refuses %s', (_what, text) => {
    const r = readAudioOffer(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
  });
});

describe('pickCodec: the first offered codec we accept', () => {
  const accepted = ['PCMU', 'PCMA'];
  it.each([
    ['8 0', { pt: 8, name: 'PCMA' }],
    ['0 8', { pt: 0, name: 'PCMU' }],
    ['18 8', { pt: 8, name: 'PCMA' }],
    ['18 9 0', { pt: 0, name: 'PCMU' }],
    ['101 8 0', { pt: 8, name: 'PCMA' }],
    ['18 9', undefined],
  ])('offer %s → %j', (pts, codec) => {
    expect(pickCodec(offerOf(sdp(`m=audio 5000 RTP/AVP ${pts}`, ['a=rtpmap:101 telephone-event/8000'])), accepted)).toEqual(codec);
  });

  it('takes a dynamic payload type mapped to PCMU', () => {
    expect(pickCodec(offerOf(sdp('m=audio 5000 RTP/AVP 96', ['a=rtpmap:96 PCMU/8000'])), accepted)).toEqual({ pt: 96, name: 'PCMU' });
  });

  it('skips payload types with no known encoding', () => {
    expect(pickCodec(offerOf(sdp('m=audio 5000 RTP/AVP 96 8')), accepted)).toEqual({ pt: 8, name: 'PCMA' });
  });
});

/** buildAnswer, insisting on an answer (an SRTP offer with no known suite gets none). */
function answerOf(offer: AudioOffer, codec: { pt: number; name: string }, address: string, port: number, origin?: SdpOrigin): string {
  const answer = buildAnswer(offer, codec, address, port, origin);
  if (answer === undefined) throw new Error('no answer');
  return answer;
}

describe('buildAnswer', () => {
  it('one audio stream on our address and port with the chosen codec', () => {
    const offer = offerOf(sdp('m=audio 49170 RTP/AVP 8 0'));
    const answer = answerOf(offer, { pt: 8, name: 'PCMA' }, '127.0.0.1', 40000);
    const l = lines(answer);
    expect(l[0]).toBe('v=0');
    expect(l[1]).toMatch(/^o=trunkgate (\d+) \1 IN IP4 127\.0\.0\.1$/);
    expect(l).toContain('c=IN IP4 127.0.0.1');
    expect(l).toContain('m=audio 40000 RTP/AVP 8');
    expect(l).toContain('a=rtpmap:8 PCMA/8000');
    expect(l).toContain('a=sendrecv');
    expect(l.filter((x) => x.startsWith('m='))).toHaveLength(1);
    expect(answer.endsWith('\r\n')).toBe(true);
    expect(answer).not.toMatch(/PCMU|telephone-event/);
  });

  it('keeps telephone-event when offered, with its payload type', () => {
    const offer = offerOf(sdp('m=audio 49170 RTP/AVP 0 101', ['a=rtpmap:101 telephone-event/8000']));
    const l = lines(answerOf(offer, { pt: 0, name: 'PCMU' }, '127.0.0.1', 40000));
    expect(l).toContain('m=audio 40000 RTP/AVP 0 101');
    expect(l).toContain('a=rtpmap:101 telephone-event/8000');
    expect(l).toContain('a=fmtp:101 0-16');
  });

  it('IPv6 media address: IP6 in o= and c=', () => {
    const offer = offerOf(sdp('m=audio 49170 RTP/AVP 0'));
    const l = lines(answerOf(offer, { pt: 0, name: 'PCMU' }, '::1', 40000));
    expect(l[1]).toMatch(/ IN IP6 ::1$/);
    expect(l).toContain('c=IN IP6 ::1');
  });

  it('a refused stream (port 0) is refused in the answer too', () => {
    const offer = offerOf(sdp('m=audio 0 RTP/AVP 0'));
    expect(lines(answerOf(offer, { pt: 0, name: 'PCMU' }, '127.0.0.1', 40000))).toContain('m=audio 0 RTP/AVP 0');
  });

  it.each<[string, string]>([
    ['sendonly', 'recvonly'],
    ['recvonly', 'sendonly'],
    ['inactive', 'inactive'],
    ['sendrecv', 'sendrecv'],
  ])('answers a=%s with a=%s (RFC 3264 §6.1)', (offered, answered) => {
    const media = offerOf(sdp('m=audio 49170 RTP/AVP 0', [`a=${offered}`]));
    expect(media.direction).toBe(offered);
    expect(lines(answerOf(media, { pt: 0, name: 'PCMU' }, '127.0.0.1', 1))).toContain(`a=${answered}`);
    // a session-level attribute applies to the stream …
    const session = offerOf(['v=0', 'o=x 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', `a=${offered}`, 'm=audio 49170 RTP/AVP 0', ''].join('\r\n'));
    expect(session.direction).toBe(offered);
  });

  it('a media-level direction wins over the session level; none means sendrecv', () => {
    const both = offerOf(['v=0', 'o=x 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'a=inactive', 'm=audio 49170 RTP/AVP 0', 'a=sendonly', ''].join('\r\n'));
    expect(both.direction).toBe('sendonly');
    expect(offerOf(sdp('m=audio 49170 RTP/AVP 0')).direction).toBe('sendrecv');
  });

  it('one origin keeps its session id; the version goes up by one per changed SDP and stays for the same one (RFC 3264 §8)', () => {
    const origin = new SdpOrigin(5000);
    const o = (text: string): [number, number] => {
      const m = /^o=trunkgate (\d+) (\d+) /m.exec(text);
      return [Number(m?.[1]), Number(m?.[2])];
    };
    const sendrecv = offerOf(sdp('m=audio 49170 RTP/AVP 0'));
    const hold = offerOf(sdp('m=audio 49170 RTP/AVP 0', ['a=sendonly']));
    const first = o(answerOf(sendrecv, { pt: 0, name: 'PCMU' }, '127.0.0.1', 1, origin));
    const again = o(answerOf(sendrecv, { pt: 0, name: 'PCMU' }, '127.0.0.1', 1, origin));
    const held = o(answerOf(hold, { pt: 0, name: 'PCMU' }, '127.0.0.1', 1, origin));
    const resumed = o(answerOf(sendrecv, { pt: 0, name: 'PCMU' }, '127.0.0.1', 1, origin));
    const offer = o(buildOffer('127.0.0.1', 1, origin));
    expect([first, again, held, resumed, offer]).toEqual([
      [5000, 5000],
      [5000, 5000],
      [5000, 5001],
      [5000, 5002],
      [5000, 5003],
    ]);
    // separate origins are separate sessions
    expect(o(buildOffer('127.0.0.1', 1))[0]).not.toBe(5000);
  });

  it('answers an SRTP offer (RTP/SAVP with a=crypto) with SRTP: the suite and tag offered, a key of its own', () => {
    const key = 'inline:' + Buffer.alloc(30, 7).toString('base64');
    const offer = offerOf(sdp('m=audio 49170 RTP/SAVP 0', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 ${key}`]));
    expect(offersSrtp(offer)).toBe(true);
    expect(offer.crypto).toEqual([{ tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: key }]);
    const l = lines(answerOf(offer, { pt: 0, name: 'PCMU' }, '127.0.0.1', 40000));
    expect(l).toContain('m=audio 40000 RTP/SAVP 0');
    const crypto = l.find((x) => x.startsWith('a=crypto:'));
    expect(crypto).toMatch(/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
    expect(crypto).not.toContain(key);
  });

  it('an SRTP offer with no suite it knows gets no answer; plain RTP is never SRTP', () => {
    const unknown = offerOf(sdp('m=audio 49170 RTP/SAVP 0', ['a=crypto:1 F8_128_HMAC_SHA1_80 inline:abc']));
    expect(buildAnswer(unknown, { pt: 0, name: 'PCMU' }, '127.0.0.1', 1)).toBeUndefined();
    const plain = offerOf(sdp('m=audio 49170 RTP/AVP 0', ['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc']));
    expect(offersSrtp(plain)).toBe(false);
    expect(lines(answerOf(plain, { pt: 0, name: 'PCMU' }, '127.0.0.1', 1)).some((x) => x.startsWith('a=crypto'))).toBe(false);
  });
});

describe('buildOffer', () => {
  it('offers PCMU then PCMA on the address and port, and reads back', () => {
    const text = buildOffer('127.0.0.1', 40000);
    expect(lines(text)).toContain('m=audio 40000 RTP/AVP 0 8');
    const o = offerOf(text);
    expect(o).toMatchObject({ address: '127.0.0.1', port: 40000, payloadTypes: [0, 8] });
    expect(pickCodec(o, ['PCMA', 'PCMU'])).toEqual({ pt: 0, name: 'PCMU' });
  });
});
