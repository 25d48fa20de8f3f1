/**
 * The RFC 4475 torture messages (test/fixtures/rfc4475/*.dat, bit-exact from
 * the RFC archive): what each valid message must yield, and at which stage
 * each invalid one is refused and why.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type SipMessage,
  type SipRequest,
  type SipResponse,
  isRfc3261Branch,
  nameAddrUri,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  serializeMessage,
  unescapeUriPart,
  validateMessage,
} from '../../../../src/sip/message/index.js';

const FIXTURES = new URL('../../../fixtures/rfc4475/', import.meta.url);

function load(name: string): Buffer {
  return readFileSync(new URL(`${name}.dat`, FIXTURES));
}

/** Parse a fixture that must parse; fails the test with the parser's reason otherwise. */
function parsed(name: string): SipMessage {
  const r = parseMessage(load(name));
  if (!r.ok) throw new Error(`${name} did not parse: ${r.reason}`);
  return r.message;
}

function request(name: string): SipRequest {
  const m = parsed(name);
  if (!m.isRequest) throw new Error(`${name} is not a request`);
  return m;
}

function response(name: string): SipResponse {
  const m = parsed(name);
  if (m.isRequest) throw new Error(`${name} is not a response`);
  return m;
}

// ---------------------------------------------------------------------------
// What a parsed message looks like, reduced to the fields the tables assert.

interface AddressSummary {
  displayName: string | undefined;
  uri: string;
  tag: string | undefined;
}

interface ViaSummary {
  transport: string;
  host: string;
  port: number | undefined;
  branch: string | undefined;
  received: string | undefined;
  rport: number | true | undefined;
  maddr: string | undefined;
}

interface Summary {
  start: { method: string; uri: string } | { status: number; reason: string };
  callId: string;
  cseq: { seq: number; method: string } | undefined;
  topVia: ViaSummary | undefined;
  from: AddressSummary | undefined;
  to: AddressSummary | undefined;
  contentLength: string | undefined;
  bodyLength: number;
  viaCount: number;
}

function summarize(m: SipMessage): Summary {
  const v = m.topVia;
  const address = (a: SipMessage['from']): AddressSummary | undefined =>
    a === undefined ? undefined : { displayName: a.displayName, uri: a.uri, tag: a.params.get('tag') ?? undefined };
  return {
    start: m.isRequest ? { method: m.method, uri: m.uri } : { status: m.status, reason: m.reason },
    callId: m.callId,
    cseq: m.cseq === undefined ? undefined : { seq: m.cseq.seq, method: m.cseq.method },
    topVia:
      v === undefined
        ? undefined
        : { transport: v.transport, host: v.host, port: v.port, branch: v.branch, received: v.received, rport: v.rport, maddr: v.maddr },
    from: address(m.from),
    to: address(m.to),
    contentLength: m.headers.get('content-length'),
    bodyLength: m.body.length,
    viaCount: m.headers.getAll('via').length,
  };
}

function via(transport: string, host: string, extra: Partial<ViaSummary> = {}): ViaSummary {
  return { transport, host, port: undefined, branch: undefined, received: undefined, rport: undefined, maddr: undefined, ...extra };
}

function addr(uri: string, tag?: string, displayName?: string): AddressSummary {
  return { displayName, uri, tag };
}

// ---------------------------------------------------------------------------
// Messages that must be accepted (RFC 4475 §3.1.1, and the well-formed ones of
// §3.2, §3.3 and §3.4 whose point is application-layer handling).

interface ValidCase {
  file: string;
  section: string;
  expected: Summary;
}

const LONG_CALLER = 'amazinglylongcallername'.repeat(5);

const VALID: ValidCase[] = [
  {
    file: 'wsinv',
    section: '3.1.1.1 short tortuous INVITE',
    expected: {
      start: { method: 'INVITE', uri: 'sip:vivekg@chair-dnrc.example.com;unknownparam' },
      callId: 'wsinv.ndaksdj@192.0.2.1',
      cseq: { seq: 9, method: 'INVITE' },
      topVia: via('UDP', '192.0.2.2', { branch: '390skdjuw' }),
      from: addr('sip:jdrosen@example.com', '98asjd8', 'J Rosenberg \\"'),
      to: addr('sip:vivekg@chair-dnrc.example.com', '1918181833n'),
      contentLength: '150',
      bodyLength: 150,
      viaCount: 3,
    },
  },
  {
    file: 'intmeth',
    section: '3.1.1.2 wide range of valid characters',
    expected: {
      start: {
        method: "!interesting-Method0123456789_*+`.%indeed'~",
        uri: "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
      },
      callId: 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{',
      cseq: { seq: 139122385, method: "!interesting-Method0123456789_*+`.%indeed'~" },
      topVia: via('TCP', 'host1.example.com', { branch: "z9hG4bK-.!%66*_+`'~" }),
      from: addr('sip:mundane@example.com', "_token~1'+`*%!-.", "token1~` token2'+_ token3*%!.-"),
      to: addr("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com", undefined, 'BEL:\x07 NUL:\x00 DEL:\x7f'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'esc01',
    section: '3.1.1.3 valid use of the % escaping mechanism',
    expected: {
      start: { method: 'INVITE', uri: 'sip:sips%3Auser%40example.com@example.net' },
      callId: 'esc01.239409asdfakjkn23onasd0-3234',
      cseq: { seq: 234234, method: 'INVITE' },
      topVia: via('UDP', 'host5.example.net', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:I%20have%20spaces@example.net', '938'),
      to: addr('sip:%75se%72@example.com'),
      contentLength: '150',
      bodyLength: 150,
      viaCount: 1,
    },
  },
  {
    file: 'escnull',
    section: '3.1.1.4 escaped nulls in URIs',
    expected: {
      start: { method: 'REGISTER', uri: 'sip:example.com' },
      callId: 'escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd',
      cseq: { seq: 14398234, method: 'REGISTER' },
      topVia: via('UDP', 'host5.example.com', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:null-%00-null@example.com', '839923423'),
      to: addr('sip:null-%00-null@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'esc02',
    section: '3.1.1.5 use of % when it is not an escape',
    expected: {
      start: { method: 'RE%47IST%45R', uri: 'sip:registrar.example.com' },
      callId: 'esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf',
      cseq: { seq: 29344, method: 'RE%47IST%45R' },
      topVia: via('TCP', 'host.example.com', { branch: 'z9hG4bK209%fzsnel234' }),
      from: addr('sip:resource@example.com', 'f232jadfj23', '%Z%45'),
      to: addr('sip:resource@example.com', undefined, '%Z%45'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'lwsdisp',
    section: '3.1.1.6 no LWS between display name and <',
    expected: {
      start: { method: 'OPTIONS', uri: 'sip:user@example.com' },
      callId: 'lwsdisp.1234abcd@funky.example.com',
      cseq: { seq: 60, method: 'OPTIONS' },
      topVia: via('UDP', 'funky.example.com', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:caller@example.com', '323', 'caller'),
      to: addr('sip:user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'longreq',
    section: '3.1.1.7 long values in header fields',
    expected: {
      start: { method: 'INVITE', uri: 'sip:user@example.com' },
      callId: `longreq.one${'really'.repeat(20)}longcallid`,
      cseq: { seq: 3882340, method: 'INVITE' },
      topVia: via('TCP', 'sip33.example.com'),
      from: addr(`sip:${LONG_CALLER}@example.net`, `12${'982'.repeat(50)}424`),
      to: addr(
        'sip:user@example.com:6000;unknownparam1=very' +
          'long'.repeat(20) +
          'value;longparam' +
          'name'.repeat(25) +
          '=shortvalue;very' +
          'long'.repeat(25) +
          'ParameterNameWithNoValue',
        undefined,
        `I have a user name of ${'extreme'.repeat(10)} proportion`,
      ),
      contentLength: '150',
      bodyLength: 150,
      viaCount: 34,
    },
  },
  {
    file: 'dblreq',
    section: '3.1.1.8 extra trailing octets in a UDP datagram',
    expected: {
      start: { method: 'REGISTER', uri: 'sip:example.com' },
      callId: 'dblreq.0ha0isndaksdj99sdfafnl3lk233412',
      cseq: { seq: 8, method: 'REGISTER' },
      topVia: via('UDP', '192.0.2.125', { branch: 'z9hG4bKkdjuw23492' }),
      from: addr('sip:j.user@example.com', '43251j3j324'),
      to: addr('sip:j.user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'semiuri',
    section: '3.1.1.9 semicolon-separated parameters in URI user part',
    expected: {
      start: { method: 'OPTIONS', uri: 'sip:user;par=u%40example.net@example.com' },
      callId: 'semiuri.0ha0isndaksdj',
      cseq: { seq: 8, method: 'OPTIONS' },
      topVia: via('UDP', '192.0.2.1', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:caller@example.org', '33242'),
      to: addr('sip:j_user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'transports',
    section: '3.1.1.10 varied and unknown transport types',
    expected: {
      start: { method: 'OPTIONS', uri: 'sip:user@example.com' },
      callId: 'transports.kijh4akdnaqjkwendsasfdj',
      cseq: { seq: 60, method: 'OPTIONS' },
      topVia: via('UDP', 't1.example.com', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:caller@example.com', '323'),
      to: addr('sip:user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 5,
    },
  },
  {
    file: 'mpart01',
    section: '3.1.1.11 multipart MIME message',
    expected: {
      start: { method: 'MESSAGE', uri: 'sip:kumiko@example.org' },
      callId: '3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..',
      cseq: { seq: 1, method: 'MESSAGE' },
      topVia: via('UDP', '127.0.0.1', { port: 5070, branch: 'z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-', rport: true }),
      from: addr('sip:fluffy@example.com', '2fb0dcc9'),
      to: addr('sip:kumiko@example.org'),
      contentLength: '553',
      bodyLength: 553,
      viaCount: 1,
    },
  },
  {
    file: 'unreason',
    section: '3.1.1.12 unusual reason phrase',
    expected: {
      start: { status: 200, reason: '= 2**3 * 5**2 но сто девяносто девять - простое' },
      callId: 'unreason.1234ksdfak3j2erwedfsASdf',
      cseq: { seq: 35, method: 'INVITE' },
      topVia: via('UDP', '192.0.2.198', { branch: 'z9hG4bK1324923' }),
      from: addr('sip:user@example.com', '11141343'),
      to: addr('sip:user@example.edu', '2229'),
      contentLength: '154',
      bodyLength: 154,
      viaCount: 1,
    },
  },
  {
    file: 'noreason',
    section: '3.1.1.13 empty reason phrase',
    expected: {
      start: { status: 100, reason: '' },
      callId: 'noreason.asndj203insdf99223ndf',
      cseq: { seq: 35, method: 'INVITE' },
      topVia: via('UDP', '192.0.2.105', { branch: 'z9hG4bK2398ndaoe' }),
      from: addr('sip:user@example.com', '39ansfi3'),
      to: addr('sip:user@example.edu', '902jndnke3'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'badbranch',
    section: '3.2.1 missing transaction identifier',
    expected: {
      start: { method: 'OPTIONS', uri: 'sip:user@example.com' },
      callId: 'badbranch.sadonfo23i420jv0as0derf3j3n',
      cseq: { seq: 8, method: 'OPTIONS' },
      topVia: via('UDP', '192.0.2.1', { branch: 'z9hG4bK' }),
      from: addr('sip:caller@example.org', '33242'),
      to: addr('sip:user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'unksm2',
    section: '3.3.4 unknown URI schemes in header fields',
    expected: {
      start: { method: 'REGISTER', uri: 'sip:example.com' },
      callId: 'unksm2.daksdj@hyphenated-host.example.com',
      cseq: { seq: 234902, method: 'REGISTER' },
      topVia: via('UDP', '192.0.2.21', { port: 5060, branch: 'z9hG4bKkdjuw' }),
      from: addr('http://www.example.com', '3234233'),
      to: addr('isbn:2983792873'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'bext01',
    section: '3.3.5 Proxy-Require and Require',
    expected: {
      start: { method: 'OPTIONS', uri: 'sip:user@example.com' },
      callId: 'bext01.0ha0isndaksdj',
      cseq: { seq: 8, method: 'OPTIONS' },
      topVia: via('TLS', 'fold-and-staple.example.com', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:caller@example.net', '242etr'),
      to: addr('sip:j_user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'invut',
    section: '3.3.6 unknown Content-Type',
    expected: {
      start: { method: 'INVITE', uri: 'sip:user@example.com' },
      callId: 'invut.0ha0isndaksdjadsfij34n23d',
      cseq: { seq: 235448, method: 'INVITE' },
      topVia: via('UDP', 'somehost.example.com', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:caller@example.net', '8392034'),
      to: addr('sip:j.user@example.com'),
      contentLength: '40',
      bodyLength: 40,
      viaCount: 1,
    },
  },
  {
    file: 'regaut01',
    section: '3.3.7 unknown authorization scheme',
    expected: {
      start: { method: 'REGISTER', uri: 'sip:example.com' },
      callId: 'regaut01.0ha0isndaksdj',
      cseq: { seq: 9338, method: 'REGISTER' },
      topVia: via('TCP', '192.0.2.253', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:j.user@example.com', '87321hj23128'),
      to: addr('sip:j.user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'bcast',
    section: '3.3.10 200 OK with a broadcast Via',
    expected: {
      start: { status: 200, reason: 'OK' },
      callId: 'bcast.0384840201234ksdfak3j2erwedfsASdf',
      cseq: { seq: 35, method: 'INVITE' },
      topVia: via('UDP', '192.0.2.198', { branch: 'z9hG4bK1324923' }),
      from: addr('sip:user@example.com', '11141343'),
      to: addr('sip:user@example.edu', '2229'),
      contentLength: '154',
      bodyLength: 154,
      viaCount: 2,
    },
  },
  {
    file: 'zeromf',
    section: '3.3.11 Max-Forwards of zero',
    expected: {
      start: { method: 'OPTIONS', uri: 'sip:user@example.com' },
      callId: 'zeromf.jfasdlfnm2o2l43r5u0asdfas',
      cseq: { seq: 39234321, method: 'OPTIONS' },
      topVia: via('UDP', 'host1.example.com', { branch: 'z9hG4bKkdjuw2349i' }),
      from: addr('sip:caller@example.net', '3ghsd41'),
      to: addr('sip:user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'cparam01',
    section: '3.3.12 REGISTER with a Contact header parameter',
    expected: {
      start: { method: 'REGISTER', uri: 'sip:example.com' },
      callId: 'cparam01.70710@saturn.example.com',
      cseq: { seq: 2, method: 'REGISTER' },
      topVia: via('UDP', 'saturn.example.com', { port: 5060, branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:watson@example.com', 'DkfVgjkrtMwaerKKpe'),
      to: addr('sip:watson@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'cparam02',
    section: '3.3.13 REGISTER with a URL parameter',
    expected: {
      start: { method: 'REGISTER', uri: 'sip:example.com' },
      callId: 'cparam02.70710@saturn.example.com',
      cseq: { seq: 3, method: 'REGISTER' },
      topVia: via('UDP', 'saturn.example.com', { port: 5060, branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:watson@example.com', '838293'),
      to: addr('sip:watson@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'regescrt',
    section: '3.3.14 REGISTER with a URL escaped header',
    expected: {
      start: { method: 'REGISTER', uri: 'sip:example.com' },
      callId: 'regescrt.k345asrl3fdbv@192.0.2.1',
      cseq: { seq: 14398234, method: 'REGISTER' },
      topVia: via('UDP', 'host5.example.com', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:user@example.com', '8'),
      to: addr('sip:user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'sdp01',
    section: '3.3.15 unacceptable Accept offering',
    expected: {
      start: { method: 'INVITE', uri: 'sip:user@example.com' },
      callId: 'sdp01.ndaksdj9342dasdd',
      cseq: { seq: 8, method: 'INVITE' },
      topVia: via('UDP', '192.0.2.15', { branch: 'z9hG4bKkdjuw' }),
      from: addr('sip:caller@example.net', '234'),
      to: addr('sip:j_user@example.com'),
      contentLength: '150',
      bodyLength: 150,
      viaCount: 1,
    },
  },
  {
    file: 'inv2543',
    section: '3.4.1 INVITE with RFC 2543 syntax',
    expected: {
      start: { method: 'INVITE', uri: 'sip:UserB@example.com' },
      callId: 'inv2543.1717@ift.client.example.com',
      cseq: { seq: 56, method: 'INVITE' },
      topVia: via('UDP', 'iftgw.example.com'),
      from: addr('sip:+13035551111@ift.client.example.net;user=phone'),
      to: addr('sip:+16505552222@ss1.example.net'),
      contentLength: undefined,
      bodyLength: 105,
      viaCount: 1,
    },
  },
];

// Well-formed messages that RFC 4475 says to refuse (or that we refuse) at the application layer.
interface AppLayerCase {
  file: string;
  section: string;
  expected: Summary;
  status: number;
  reason: RegExp;
}

const APP_LAYER: AppLayerCase[] = [
  {
    file: 'unkscm',
    section: '3.3.2 Request-URI with unknown scheme',
    status: 416,
    reason: /^Unsupported URI Scheme$/,
    expected: {
      start: { method: 'OPTIONS', uri: 'nobodyKnowsThisScheme:totallyopaquecontent' },
      callId: 'unkscm.nasdfasser0q239nwsdfasdkl34',
      cseq: { seq: 3923423, method: 'OPTIONS' },
      topVia: via('TCP', 'host9.example.com', { branch: 'z9hG4bKkdjuw39234' }),
      from: addr('sip:caller@example.net', '384'),
      to: addr('sip:user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
  {
    file: 'novelsc',
    section: '3.3.3 Request-URI with known but atypical scheme',
    status: 416,
    reason: /^Unsupported URI Scheme$/,
    expected: {
      start: { method: 'OPTIONS', uri: 'soap.beep://192.0.2.103:3002' },
      callId: 'novelsc.asdfasser0q239nwsdfasdkl34',
      cseq: { seq: 3923423, method: 'OPTIONS' },
      topVia: via('TCP', 'host9.example.com', { branch: 'z9hG4bKkdjuw39234' }),
      from: addr('sip:caller@example.net', '384'),
      to: addr('sip:user@example.com'),
      contentLength: '0',
      bodyLength: 0,
      viaCount: 1,
    },
  },
];

describe('RFC 4475 valid messages: parse and yield the expected fields', () => {
  it.each(VALID)('$file ($section)', ({ file, expected }) => {
    const m = parsed(file);
    expect(summarize(m)).toEqual(expected);
    expect(validateMessage(m)).toBeUndefined();
  });

  it.each(APP_LAYER)('$file ($section) parses, then validation answers $status', ({ file, expected, status, reason }) => {
    const m = parsed(file);
    expect(summarize(m)).toEqual(expected);
    const v = validateMessage(m);
    expect(v?.status).toBe(status);
    expect(v?.reason).toMatch(reason);
  });

  it.each([...VALID, ...APP_LAYER])('$file survives serialize → parse with the same fields', ({ file }) => {
    const m = parsed(file);
    const again = parseMessage(serializeMessage(m));
    if (!again.ok) throw new Error(again.reason);
    const s = summarize(m);
    // serialization always writes Content-Length from the body
    expect(summarize(again.message)).toEqual({ ...s, contentLength: String(m.body.length) });
    expect(again.message.headers.names.filter((n) => n !== 'content-length')).toEqual(
      m.headers.names.filter((n) => n !== 'content-length'),
    );
    expect(Buffer.compare(again.message.body, m.body)).toBe(0);
  });
});

describe('RFC 4475 valid messages: what each one is about', () => {
  it('wsinv: folded Via, CSeq, To, From and odd whitespace around ":" are unfolded', () => {
    const m = request('wsinv');
    expect(m.headers.get('via')).toBe('SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw');
    expect(m.headers.get('cseq')).toBe('0009 INVITE');
    expect(m.headers.get('to')).toBe('sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n');
    expect(m.headers.get('from')).toBe('"J Rosenberg \\\\\\""       <sip:jdrosen@example.com> ; tag = 98asjd8');
    expect(m.headers.wireNames.slice(0, 2)).toEqual(['TO', 'from']);
    expect(m.headers.get('max-forwards')).toBe('0068');
    expect(m.headers.get('subject')).toBe('');
    expect(m.headers.get('newfangledheader')).toBe('newfangled value continued newfangled value');
    expect(m.headers.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    expect(m.headers.get('route')).toBe('<sip:services.example.com;lr;unknownwith=value;unknown-no-value>');
    expect(m.requestUri?.params.get('unknownparam')).toBeNull();
  });

  it('wsinv: the Via list spans two header lines and a folded comma list', () => {
    const m = request('wsinv');
    expect(m.headers.count('via')).toBe(2);
    expect(m.vias.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
  });

  it('wsinv: the compact Contact keeps its escaped quotes and spaced parameters', () => {
    const m = request('wsinv');
    const contacts = m.headers.getAll('m');
    expect(contacts).toHaveLength(1);
    const c = parseNameAddr(contacts[0] ?? '');
    if (!c.ok) throw new Error(c.reason);
    expect(c.value.displayName).toBe('Quoted string ""');
    expect(c.value.uri).toBe('sip:jdrosen@example.com');
    expect(c.value.params.names).toEqual(['newparam', 'secondparam', 'q']);
    expect(c.value.params.values).toEqual(['newvalue', null, '0.33']);
  });

  it('intmeth: the Request-URI splits into an unusual user and password', () => {
    const uri = request('intmeth').requestUri;
    expect(uri?.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri?.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(uri?.host).toBe('example.com');
  });

  it('intmeth: odd header parameter names, quoted UTF-8 values and extension header names', () => {
    const m = request('intmeth');
    expect(m.from?.params.get("fromparam''~+*_!.-%")).toBe('"работающий"');
    expect(m.headers.get("extensionHeader-!.%*+_`'~")).toBe('\ufeff大停電');
    expect(m.headers.get('max-forwards')).toBe('255');
  });

  it('esc01: escapes stay raw in the parsed URIs and unescapeUriPart decodes them', () => {
    const m = request('esc01');
    expect(m.requestUri?.user).toBe('sips%3Auser%40example.com');
    expect(unescapeUriPart(m.requestUri?.user ?? '')).toBe('sips:user@example.com');
    const to = m.to === undefined ? undefined : nameAddrUri(m.to);
    expect(to?.user).toBe('%75se%72');
    expect(unescapeUriPart(to?.user ?? '')).toBe('user');
    const from = m.from === undefined ? undefined : nameAddrUri(m.from);
    expect(unescapeUriPart(from?.user ?? '')).toBe('I have spaces');
    expect(m.headers.get('c')).toBe('application/sdp');
    expect(m.contentType).toBe('application/sdp');
  });

  it('esc01: escaped URI parameter names and values in the folded Contact', () => {
    const contact = parseNameAddr(request('esc01').headers.get('contact') ?? '');
    if (!contact.ok) throw new Error(contact.reason);
    const uri = nameAddrUri(contact.value);
    expect(uri?.user).toBe('cal%6Cer');
    expect(unescapeUriPart(uri?.user ?? '')).toBe('caller');
    expect(uri?.params.names).toEqual(['%6c%72', 'n%61me']);
    expect(uri?.params.names.map(unescapeUriPart)).toEqual(['lr', 'name']);
    expect(unescapeUriPart(uri?.params.get('n%61me') ?? '')).toBe('value%41');
  });

  it('escnull: %00 is kept raw and decodes to NUL', () => {
    const m = request('escnull');
    const to = m.to === undefined ? undefined : nameAddrUri(m.to);
    expect(to?.user).toBe('null-%00-null');
    expect(unescapeUriPart(to?.user ?? '')).toBe('null-\0-null');
    const users = m.headers.getAll('contact').map((c) => {
      const r = parseNameAddr(c);
      if (!r.ok) throw new Error(r.reason);
      return nameAddrUri(r.value)?.user;
    });
    expect(users).toEqual(['%00', '%00%00']);
    expect(users.map((u) => unescapeUriPart(u ?? ''))).toEqual(['\0', '\0\0']);
    expect(m.headers.get('L')).toBe('0');
  });

  it('esc02: RE%47IST%45R is its own method and C%6Fntact is not Contact', () => {
    const m = request('esc02');
    expect(m.method).not.toBe('REGISTER');
    expect(m.headers.count('contact')).toBe(2);
    expect(m.headers.getAll('contact')).toEqual(['<sip:alias1@host1.example.com>', '<sip:alias3@host3.example.com>']);
    expect(m.headers.get('c%6fntact')).toBe('<sip:alias2@host2.example.com>');
    expect(isRfc3261Branch(m.topVia?.branch)).toBe(true);
  });

  it('longreq: 34 Via values in every capitalization and compact form, the last with received', () => {
    const m = request('longreq');
    const vias = m.vias;
    expect(vias).toHaveLength(34);
    expect(vias.slice(0, 33).map((v) => v.host)).toEqual(Array.from({ length: 33 }, (_, i) => `sip${33 - i}.example.com`));
    const last = vias[33];
    expect(last?.host).toBe('host.example.com');
    expect(last?.received).toBe('192.0.2.5');
    expect(last?.branch).toBe(`very${'long'.repeat(50)}branchvalue`);
    expect(new Set(m.headers.wireNames.filter((_, i) => m.headers.names[i] === 'via'))).toEqual(
      new Set(['Via', 'v', 'V', 'ViA', 'VIa', 'VIA', 'via', 'viA', 'vIa', 'vIA']),
    );
    expect(m.from?.params.get(`unknownheaderparam${'name'.repeat(20)}`)).toBe(`unknowheaderparam${'value'.repeat(15)}`);
    expect(m.from?.params.get(`unknownvalueless${'paramname'.repeat(10)}`)).toBeNull();
    expect(m.headers.size).toBe(43);
  });

  it('dblreq: only the first request of the datagram is taken; the trailing INVITE is ignored', () => {
    const m = request('dblreq');
    expect(m.headers.count('call-id')).toBe(1);
    expect(m.headers.has('content-type')).toBe(false);
    expect(m.body.length).toBe(0);
    expect(load('dblreq').includes('INVITE sip:joe@example.com')).toBe(true);
  });

  it('semiuri: the user part carries ";par=", and the URI has no parameters', () => {
    const m = request('semiuri');
    expect(m.requestUri?.user).toBe('user;par=u%40example.net');
    expect(m.requestUri?.host).toBe('example.com');
    expect(m.requestUri?.params.size).toBe(0);
    expect(m.headers.getAll('accept')).toEqual([
      'application/sdp',
      'application/pkcs7-mime',
      'multipart/mixed',
      'multipart/signed',
      'message/sip',
      'message/sipfrag',
    ]);
  });

  it('transports: five Via lines with known and unknown transports', () => {
    const m = request('transports');
    expect(m.headers.getAll('via')).toHaveLength(5);
    expect(m.vias.map((v) => `${v.transport} ${v.host}`)).toEqual([
      'UDP t1.example.com',
      'SCTP t2.example.com',
      'TLS t3.example.com',
      'UNKNOWN t4.example.com',
      'TCP t5.example.com',
    ]);
  });

  it('mpart01: the binary multipart body is kept bit-exact', () => {
    const buf = load('mpart01');
    const m = request('mpart01');
    const bodyStart = buf.indexOf('\r\n\r\n') + 4;
    expect(Buffer.compare(m.body, buf.subarray(bodyStart, bodyStart + 553))).toBe(0);
    expect(m.body.subarray(-22).toString('latin1')).toBe('--7a9cbec02ceef655--\r\n');
    expect(m.contentType).toBe('multipart/mixed');
    expect(m.headers.get('content-type')).toBe('multipart/mixed;boundary=7a9cbec02ceef655');
  });

  it('noreason: the space after the status code is required', () => {
    expect(response('noreason').reason).toBe('');
    const noSpace = load('noreason').toString('latin1').replace('SIP/2.0 100 \r\n', 'SIP/2.0 100\r\n');
    const r = parseMessage(Buffer.from(noSpace, 'latin1'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/reason phrase/);
  });

  it('badbranch: a branch that is only the magic cookie is not an RFC 3261 branch', () => {
    const m = request('badbranch');
    expect(m.topVia?.branch).toBe('z9hG4bK');
    expect(isRfc3261Branch(m.topVia?.branch)).toBe(false);
  });

  it('unksm2: unknown schemes in To, From and Contact are accepted as opaque URIs', () => {
    const m = request('unksm2');
    const contact = parseNameAddr(m.headers.get('contact') ?? '');
    if (!contact.ok) throw new Error(contact.reason);
    const uris = [m.to, m.from, contact.value].map((a) => (a === undefined ? undefined : nameAddrUri(a)));
    expect(uris.map((u) => [u?.scheme, u?.opaque])).toEqual([
      ['isbn', '2983792873'],
      ['http', '//www.example.com'],
      ['name', 'John_Smith'],
    ]);
  });

  it('bext01: Require and Proxy-Require option tags are listed (lower-cased)', () => {
    const m = request('bext01');
    expect(m.optionTags('require')).toEqual(['nothingsupportsthis', 'nothingsupportsthiseither']);
    expect(m.optionTags('proxy-require')).toEqual(['noproxiessupportthis', 'nordoanyproxiessupportthis']);
  });

  it('invut: the unknown Content-Type is reported without parameters', () => {
    const m = request('invut');
    expect(m.contentType).toBe('application/unknownformat');
    expect(m.body.toString('latin1')).toBe('<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n');
  });

  it('regaut01: the unknown Authorization scheme is kept raw', () => {
    expect(request('regaut01').headers.get('authorization')).toBe('NoOneKnowsThisScheme opaque-data=here');
  });

  it('bcast: the second Via with a broadcast sent-by parses', () => {
    const vias = response('bcast').vias;
    expect(vias.map((v) => v.host)).toEqual(['192.0.2.198', '255.255.255.255']);
    expect(vias[1]?.branch).toBe('z9hG4bK1saber23');
  });

  it('zeromf: Max-Forwards 0 is valid', () => {
    expect(request('zeromf').headers.get('max-forwards')).toBe('0');
  });

  it('cparam01: without <>, the parameter belongs to the Contact header', () => {
    const c = parseNameAddr(request('cparam01').headers.get('contact') ?? '');
    if (!c.ok) throw new Error(c.reason);
    expect(c.value.angled).toBe(false);
    expect(c.value.uri).toBe('sip:+19725552222@gw1.example.net');
    expect(c.value.params.get('unknownparam')).toBeNull();
    expect(nameAddrUri(c.value)?.params.size).toBe(0);
  });

  it('cparam02: inside <>, the parameter belongs to the URI', () => {
    const c = parseNameAddr(request('cparam02').headers.get('contact') ?? '');
    if (!c.ok) throw new Error(c.reason);
    expect(c.value.angled).toBe(true);
    expect(c.value.params.size).toBe(0);
    expect(nameAddrUri(c.value)?.params.get('unknownparam')).toBeNull();
  });

  it('regescrt: the compact "M:" Contact carries an escaped URI header', () => {
    const m = request('regescrt');
    expect(m.headers.wireNames[m.headers.names.indexOf('contact')]).toBe('M');
    const c = parseNameAddr(m.headers.get('contact') ?? '');
    if (!c.ok) throw new Error(c.reason);
    const uri = nameAddrUri(c.value);
    expect(uri?.headers).toBe('Route=%3Csip:sip.example.com%3E');
    expect(unescapeUriPart(uri?.headers ?? '')).toBe('Route=<sip:sip.example.com>');
  });

  it('sdp01: the Accept header is available to the application', () => {
    expect(request('sdp01').headers.getAll('accept')).toEqual(['text/nobodyKnowsThis']);
  });

  it('inv2543: no branch, no From tag, no Max-Forwards, body is the rest of the datagram', () => {
    const m = request('inv2543');
    expect(m.topVia?.branch).toBeUndefined();
    expect(m.fromTag).toBeUndefined();
    expect(m.headers.has('max-forwards')).toBe(false);
    expect(m.to?.params.get('user')).toBe('phone');
    expect(m.body.toString('latin1').endsWith('m=audio 49217 RTP/AVP 0\r\n')).toBe(true);
    expect(m.headers.getAll('record-route')).toEqual(['<sip:UserB@example.com;maddr=ss1.example.com>']);
  });
});

// ---------------------------------------------------------------------------
// Messages that must be refused, and the stage that refuses them.

type InvalidCase =
  | { file: string; section: string; stage: 'parse'; status: 400 | 505 | 513; reason: RegExp; partial: 'request' | 'response' | 'none' }
  | { file: string; section: string; stage: 'validate'; status: number; reason: RegExp };

const INVALID: InvalidCase[] = [
  {
    file: 'badinv01',
    section: '3.1.2.1 extraneous header field separators',
    stage: 'validate',
    status: 400,
    reason: /^Via parameters are malformed$/,
  },
  {
    file: 'clerr',
    section: '3.1.2.2 Content-Length larger than message',
    stage: 'parse',
    status: 400,
    reason: /^Content-Length 9999 is larger than the 154 body bytes received$/,
    partial: 'request',
  },
  {
    file: 'ncl',
    section: '3.1.2.3 negative Content-Length',
    stage: 'parse',
    status: 400,
    reason: /^Content-Length is not a non-negative integer$/,
    partial: 'request',
  },
  {
    file: 'scalar02',
    section: '3.1.2.4 request scalar fields with overlarge values',
    stage: 'validate',
    status: 400,
    reason: /^Malformed CSeq$/,
  },
  {
    file: 'scalarlg',
    section: '3.1.2.5 response scalar fields with overlarge values',
    stage: 'validate',
    status: 400,
    reason: /^Malformed CSeq$/,
  },
  {
    file: 'quotbal',
    section: '3.1.2.6 unterminated quoted string in display name',
    stage: 'validate',
    status: 400,
    reason: /^Malformed To: unterminated quoted display name$/,
  },
  {
    file: 'ltgtruri',
    section: '3.1.2.7 <> enclosing Request-URI',
    stage: 'parse',
    status: 400,
    reason: /^Request-URI must not be enclosed in <>$/,
    partial: 'request',
  },
  {
    file: 'lwsruri',
    section: '3.1.2.8 malformed SIP Request-URI (embedded LWS)',
    stage: 'parse',
    status: 400,
    reason: /whitespace inside the Request-URI/,
    partial: 'request',
  },
  {
    file: 'lwsstart',
    section: '3.1.2.9 multiple SP separating Request-Line elements',
    stage: 'parse',
    status: 400,
    reason: /^request line has extra whitespace$/,
    partial: 'request',
  },
  {
    file: 'trws',
    section: '3.1.2.10 SP characters at end of Request-Line',
    stage: 'parse',
    status: 400,
    reason: /after the version/,
    partial: 'request',
  },
  {
    file: 'escruri',
    section: '3.1.2.11 escaped headers in SIP Request-URI',
    stage: 'validate',
    status: 400,
    reason: /^Request-URI must not carry headers$/,
  },
  {
    file: 'baddn',
    section: '3.1.2.15 non-token characters in display name',
    stage: 'validate',
    status: 400,
    reason: /^Malformed From: display name has characters that must be quoted$/,
  },
  {
    file: 'badvers',
    section: '3.1.2.16 unknown protocol version',
    stage: 'parse',
    status: 505,
    reason: /^unsupported SIP version SIP\/7\.0$/,
    partial: 'request',
  },
  {
    file: 'mismatch01',
    section: '3.1.2.17 start line and CSeq method mismatch',
    stage: 'validate',
    status: 400,
    reason: /^CSeq method does not match the request method$/,
  },
  {
    file: 'mismatch02',
    section: '3.1.2.18 unknown method with CSeq method mismatch',
    stage: 'validate',
    status: 400,
    reason: /^CSeq method does not match the request method$/,
  },
  {
    file: 'bigcode',
    section: '3.1.2.19 overlarge response code',
    stage: 'parse',
    status: 400,
    reason: /^status code is not three digits$/,
    partial: 'none',
  },
  { file: 'insuf', section: '3.3.1 missing required header fields', stage: 'validate', status: 400, reason: /^Missing Call-ID$/ },
  {
    file: 'multi01',
    section: '3.3.8 multiple values in single value required fields',
    stage: 'validate',
    status: 400,
    reason: /^Multiple (call-id|cseq|from|to|max-forwards) headers$/,
  },
  {
    file: 'mcl01',
    section: '3.3.9 multiple Content-Length values',
    stage: 'parse',
    status: 400,
    reason: /^conflicting Content-Length headers$/,
    partial: 'request',
  },
];

describe('RFC 4475 invalid messages: rejected with a reason at the right stage', () => {
  it.each(INVALID.filter((c) => c.stage === 'parse'))('$file ($section) fails to parse with $status', (c) => {
    if (c.stage !== 'parse') throw new Error('table filter');
    const r = parseMessage(load(c.file));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(c.status);
    expect(r.reason).toMatch(c.reason);
    const kind = r.partial === undefined ? 'none' : r.partial.isRequest ? 'request' : 'response';
    expect(kind).toBe(c.partial);
  });

  it.each(INVALID.filter((c) => c.stage === 'validate'))('$file ($section) parses but fails validation with $status', (c) => {
    const m = parsed(c.file);
    const v = validateMessage(m);
    expect(v).toBeDefined();
    expect(v?.status).toBe(c.status);
    expect(v?.reason).toMatch(c.reason);
  });

  it('clerr: the partial message still addresses a 400 to the sender', () => {
    const r = parseMessage(load('clerr'));
    if (r.ok) throw new Error('clerr parsed');
    expect(r.partial?.topVia?.branch).toBe('z9hG4bK-39234-23523');
    expect(r.partial?.callId).toBe('clerr.0ha0isndaksdjweiafasdk3');
    expect(r.partial?.cseq).toEqual({ seq: 8, method: 'INVITE' });
  });

  it('clerr: on a stream the same bytes are merely incomplete', () => {
    const r = parseMessage(load('clerr'), { stream: true });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/larger than the 154 body bytes/);
  });

  it('badinv01: the Contact with empty parameters is refused by its own parser', () => {
    const m = request('badinv01');
    const c = parseNameAddr(m.headers.get('contact') ?? '');
    expect(c).toEqual({ ok: false, reason: 'malformed header parameters' });
    expect(parseVia(m.topViaRaw ?? '').ok).toBe(false);
  });

  it('scalar02: with CSeq fixed, the overlarge Max-Forwards is refused too; Expires is left raw', () => {
    const m = request('scalar02');
    m.headers.set('cseq', '1 REGISTER');
    expect(validateMessage(m)).toEqual({ status: 400, reason: 'Max-Forwards is not an integer 0-255' });
    expect(m.headers.get('expires')).toBe('1' + '0'.repeat(100));
    const contact = parseNameAddr(m.headers.get('contact') ?? '');
    if (!contact.ok) throw new Error(contact.reason);
    expect(contact.value.params.get('expires')).toBe('280297596632815');
  });

  it('scalarlg: Retry-After and Warning are not read by validation and stay raw', () => {
    const m = response('scalarlg');
    expect(m.cseq).toBeUndefined();
    expect(m.headers.get('retry-after')).toBe('949302838503028349304023988');
    expect(m.headers.get('warning')).toBe('1812 overture "In Progress"');
  });

  it('quotbal: the To header alone is at fault', () => {
    const m = request('quotbal');
    expect(m.to).toBeUndefined();
    expect(m.from?.uri).toBe('sip:caller@example.net');
  });

  it.each([
    ['ltgtruri', '<sip:user@example.com>', 'ltgtruri.1@192.0.2.5', '192.0.2.5'],
    ['lwsruri', 'sip:user@example.com;', 'lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423', '192.0.2.1'],
    ['lwsstart', '', 'lwsstart.dfknq234oi243099adsdfnawe3@example.com', 'host1.example.com'],
    ['trws', 'sip:remote-target@example.com', 'trws.oicu34958239neffasdhr2345r', 'host1.examle.com'],
  ])('%s: a start-line fault still yields the headers needed to answer 400', (file, uri, callId, viaHost) => {
    const r = parseMessage(load(file));
    if (r.ok || r.partial === undefined || !r.partial.isRequest) throw new Error('expected a partial request');
    expect(r.partial.uri).toBe(uri);
    expect(r.partial.callId).toBe(callId);
    expect(r.partial.topVia?.host).toBe(viaHost);
    expect(r.partial.from?.params.get('tag')).toBeTypeOf('string');
    expect(r.partial.cseq).toBeDefined();
  });

  it('badvers: the partial request carries what a 505 needs; its Via has the unknown version too', () => {
    const r = parseMessage(load('badvers'));
    if (r.ok || r.partial === undefined) throw new Error('expected a partial message');
    expect(r.partial.isRequest && r.partial.method).toBe('OPTIONS');
    expect(r.partial.callId).toBe('badvers.31417@c.example.com');
    expect(r.partial.cseq).toEqual({ seq: 1, method: 'OPTIONS' });
    expect(r.partial.fromTag).toBe('qweoiqpe');
    expect(r.partial.topVia?.protocol).toBe('SIP/7.0');
    expect(r.partial.topVia?.branch).toBe('z9hG4bKkdjuw');
  });

  it('regbadct: nothing validates Contact up front; parseNameAddr refuses the unbracketed "?"', () => {
    const m = request('regbadct');
    expect(validateMessage(m)).toBeUndefined();
    const c = parseNameAddr(m.headers.get('contact') ?? '');
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.reason).toBe('an address with a ",", "?" or "<" must be enclosed in <>');
  });

  it('baddn: the archive copy has no empty line after the headers; the datagram is still framed', () => {
    const buf = load('baddn');
    expect(buf.includes('\r\n\r\n')).toBe(false);
    const m = request('baddn');
    expect(m.body.length).toBe(0);
    expect(m.headers.get('l')).toBe('0');
    expect(m.to).toBeUndefined();
    expect(parseNameAddr(m.headers.get('to') ?? '').ok).toBe(false);
  });

  it('mismatch02: an unknown method with a mismatched CSeq is a 400, not a 501', () => {
    const v = validateMessage(request('mismatch02'));
    expect(v?.status).toBe(400);
  });

  it('multi01: every single-instance header appears twice', () => {
    const m = request('multi01');
    for (const name of ['call-id', 'cseq', 'from', 'to', 'max-forwards']) expect(m.headers.count(name)).toBe(2);
  });

  it('mcl01: the partial message keeps both Content-Length values', () => {
    const r = parseMessage(load('mcl01'));
    if (r.ok || r.partial === undefined) throw new Error('expected a partial message');
    expect(r.partial.headers.getAll('content-length')).toEqual(['13', '5']);
  });
});

describe('RFC 4475 messages where leniency is allowed: handled without throwing', () => {
  it('baddate (3.1.2.12): the non-GMT Date is accepted and left raw (nothing interprets Date)', () => {
    const m = request('baddate');
    expect(validateMessage(m)).toBeUndefined();
    expect(m.headers.get('date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
  });

  it('badaspec (3.1.2.14): LWS inside <> is tolerated, the quoted commas do not split', () => {
    const m = request('badaspec');
    expect(validateMessage(m)).toBeUndefined();
    expect(m.to?.uri).toBe('sip:t.watson@example.org');
    expect(m.to?.displayName).toBe('Watson, Thomas');
    expect(m.from?.displayName).toBe('Bell, Alexander');
    expect(m.headers.getAll('to')).toHaveLength(1);
  });
});

describe('RFC 4475 fixture coverage', () => {
  it('every fixture file is in exactly one table above', () => {
    const tabled = [
      ...VALID.map((c) => c.file),
      ...APP_LAYER.map((c) => c.file),
      ...INVALID.map((c) => c.file),
      'regbadct',
      'baddate',
      'badaspec',
    ];
    const files = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.dat'))
      .map((f) => f.slice(0, -4));
    expect(files).toHaveLength(49);
    expect([...tabled].sort()).toEqual([...files].sort());
  });

  it('parseUri accepts every Request-URI of the valid requests', () => {
    for (const c of VALID) {
      if (!('method' in c.expected.start)) continue;
      expect(parseUri(c.expected.start.uri).ok, c.file).toBe(true);
    }
  });
});
