/**
 * Unit tests of the message layer: framing (start line, header lines, folding,
 * body), header access, the header grammars (URI, name-addr, Via, CSeq),
 * validation, building responses and serialization.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_MESSAGE_BYTES,
  MAGIC_COOKIE,
  MAX_CSEQ,
  type ParseOptions,
  type SipMessage,
  SipHeaders,
  type SipRequest,
  type SipResponse,
  bareHost,
  canonicalHeaderName,
  createRequest,
  createResponse,
  displayHeaderName,
  formatNameAddr,
  formatUri,
  formatVia,
  isRfc3261Branch,
  nameAddrUri,
  newBranch,
  newCallId,
  newTag,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  sentByKey,
  serializeMessage,
  unescapeUriPart,
  validateMessage,
} from '../../../../src/sip/message/index.js';

// ---------------------------------------------------------------------------
// helpers

const BASE_HEADERS = [
  'Via: SIP/2.0/UDP pbx.example.com:5060;branch=z9hG4bK74bf9',
  'Max-Forwards: 70',
  'From: "Alice" <sip:alice@example.com>;tag=9fxced76sl',
  'To: <sip:bob@example.net>',
  'Call-ID: 3848276298220188511@pbx.example.com',
  'CSeq: 2 INVITE',
];

/** A message from lines joined by CRLF, an empty line, then the body. */
function wire(lines: readonly string[], body = '', eol = '\r\n'): Buffer {
  return Buffer.from(lines.join(eol) + eol + eol + body, 'utf8');
}

function invite(extra: readonly string[] = [], body = ''): Buffer {
  return wire(['INVITE sip:bob@example.net SIP/2.0', ...BASE_HEADERS, ...extra], body);
}

function ok(buf: Buffer, options?: ParseOptions): SipMessage {
  const r = parseMessage(buf, options);
  if (!r.ok) throw new Error(`expected a message, got: ${r.reason}`);
  return r.message;
}

function okRequest(buf: Buffer, options?: ParseOptions): SipRequest {
  const m = ok(buf, options);
  if (!m.isRequest) throw new Error('expected a request');
  return m;
}

function okResponse(buf: Buffer, options?: ParseOptions): SipResponse {
  const m = ok(buf, options);
  if (m.isRequest) throw new Error('expected a response');
  return m;
}

function failed(buf: Buffer, options?: ParseOptions): { reason: string; status: number; partial: SipMessage | undefined } {
  const r = parseMessage(buf, options);
  if (r.ok) throw new Error('expected a parse failure');
  return r;
}

// ---------------------------------------------------------------------------

describe('parseMessage: start line', () => {
  it('reads a request line', () => {
    const m = okRequest(invite());
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:bob@example.net');
    expect(m.isRequest).toBe(true);
  });

  it('reads a status line with a multi-word reason phrase', () => {
    const m = okResponse(wire(['SIP/2.0 486 Busy  Here', ...BASE_HEADERS]));
    expect(m.status).toBe(486);
    expect(m.reason).toBe('Busy  Here');
  });

  it('accepts the SIP-Version in any case (RFC 3261 §7.1)', () => {
    expect(okRequest(wire(['OPTIONS sip:a@b sip/2.0', ...BASE_HEADERS])).method).toBe('OPTIONS');
    expect(okResponse(wire(['sip/2.0 200 OK', ...BASE_HEADERS])).status).toBe(200);
  });

  it.each([
    ['SIP/2.0 2000 OK', 400, /three digits/],
    ['SIP/2.0 20 OK', 400, /three digits/],
    ['SIP/2.0 2x0 OK', 400, /three digits/],
    ['SIP/2.0 099 Early', 400, /out of range/],
    ['SIP/2.0 700 Late', 400, /out of range/],
    ['SIP/2.0 200', 400, /reason phrase separator/],
    ['SIP/2.0', 400, /no status code/],
    ['SIP/3.0 200 OK', 505, /unsupported SIP version SIP\/3\.0/],
    ['OPTIONS sip:a@b SIP/3.0', 505, /unsupported SIP version/],
    ['OPTIONS sip:a@b HTTP/1.1', 400, /does not end with the SIP version/],
    ['OPTIONS sip:a@b', 400, /Method SP Request-URI SP SIP-Version/],
    ['OPTIONS', 400, /Method SP Request-URI SP SIP-Version/],
    [' OPTIONS sip:a@b SIP/2.0', 400, /Method SP Request-URI/],
    ['OPT(IONS sip:a@b SIP/2.0', 400, /method is not a token/],
    ['OPTIONS  sip:a@b SIP/2.0', 400, /extra whitespace/],
    ['OPTIONS <sip:a@b> SIP/2.0', 400, /enclosed in <>/],
    ['OPTIONS sip:a@b SIP/2.0 ', 400, /after the version/],
    ['OPTIONS sip:a@b SIP/2.0\t', 400, /after the version/],
  ])('rejects %j with %i', (startLine, status, reason) => {
    const f = failed(wire([startLine, ...BASE_HEADERS]));
    expect(f.status).toBe(status);
    expect(f.reason).toMatch(reason);
  });

  it('a start-line fault keeps the header lines in the partial message', () => {
    const f = failed(wire(['OPTIONS sip:a@b SIP/3.0', ...BASE_HEADERS]));
    expect(f.partial?.topVia?.branch).toBe('z9hG4bK74bf9');
    expect(f.partial?.headers.size).toBe(BASE_HEADERS.length);
  });

  it('ignores CRLFs before the start line (RFC 3261 §7.5)', () => {
    const m = okRequest(Buffer.concat([Buffer.from('\r\n\r\n\n'), invite()]));
    expect(m.method).toBe('INVITE');
  });

  it('rejects an empty datagram and one of line ends only', () => {
    expect(failed(Buffer.alloc(0)).reason).toBe('empty message');
    expect(failed(Buffer.from('\r\n\r\n')).reason).toBe('empty message');
  });
});

describe('parseMessage: header lines', () => {
  it('stores canonical lower-case names and keeps the wire spelling', () => {
    const m = ok(wire(['OPTIONS sip:a@b SIP/2.0', 'vIA: SIP/2.0/UDP h;branch=z9hG4bK1', 'CALL-ID: abc', 'X-Custom-Thing: 1']));
    expect(m.headers.names).toEqual(['via', 'call-id', 'x-custom-thing']);
    expect(m.headers.wireNames).toEqual(['vIA', 'CALL-ID', 'X-Custom-Thing']);
  });

  it('looks header names up case-insensitively', () => {
    const m = ok(wire(['OPTIONS sip:a@b SIP/2.0', 'cAlL-iD: abc', 'x-CUSTOM: 7']));
    for (const name of ['call-id', 'Call-ID', 'CALL-ID', 'i', 'I']) expect(m.headers.get(name), name).toBe('abc');
    expect(m.headers.get('X-Custom')).toBe('7');
    expect(m.headers.has('x-custom')).toBe(true);
    expect(m.headers.has('x-other')).toBe(false);
    expect(m.callId).toBe('abc');
  });

  it.each([
    ['i', 'call-id', 'abc@host'],
    ['m', 'contact', '<sip:a@192.0.2.1>'],
    ['e', 'content-encoding', 'gzip'],
    ['l', 'content-length', '0'],
    ['f', 'from', '<sip:a@b>;tag=1'],
    ['t', 'to', '<sip:c@d>'],
    ['v', 'via', 'SIP/2.0/UDP h;branch=z9hG4bK1'],
    ['k', 'supported', 'timer'],
    ['c', 'content-type', 'application/sdp'],
    ['s', 'subject', 'hello'],
    ['o', 'event', 'presence'],
    ['u', 'allow-events', 'dialog'],
  ])('compact form %s is %s', (compact, full, value) => {
    for (const spelling of [compact, compact.toUpperCase()]) {
      const m = ok(wire(['OPTIONS sip:a@b SIP/2.0', `${spelling}: ${value}`]));
      expect(m.headers.names).toEqual([full]);
      expect(m.headers.get(full)).toBe(value);
      expect(m.headers.get(compact)).toBe(value);
      expect(m.headers.wireNames).toEqual([spelling]);
    }
    expect(canonicalHeaderName(compact)).toBe(full);
  });

  it('keeps whitespace between name and colon out of the name and trims the value', () => {
    const m = ok(wire(['OPTIONS sip:a@b SIP/2.0', 'Subject \t:  \t spaced out \t ']));
    expect(m.headers.wireNames).toEqual(['Subject']);
    expect(m.headers.get('subject')).toBe('spaced out');
  });

  it('keeps an empty value', () => {
    expect(ok(wire(['OPTIONS sip:a@b SIP/2.0', 'Subject:'])).headers.get('subject')).toBe('');
  });

  it('rejects a header line without a colon, reporting it after reading the rest', () => {
    const f = failed(wire(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'this is not a header', 'Call-ID: after']));
    expect(f.status).toBe(400);
    expect(f.reason).toBe('header line without ":"');
    expect(f.partial?.callId).toBe('after');
    expect(f.partial?.topVia?.host).toBe('h');
  });

  it('rejects a header name that is not a token', () => {
    const f = failed(wire(['OPTIONS sip:a@b SIP/2.0', 'Bad Name: x']));
    expect(f.reason).toMatch(/header name "Bad Name" is not a token/);
    expect(failed(wire(['OPTIONS sip:a@b SIP/2.0', ': x'])).reason).toMatch(/is not a token/);
  });

  it('a header called Constructor or __proto__ is an ordinary extension header', () => {
    const m = ok(wire(['OPTIONS sip:a@b SIP/2.0', 'Constructor: x', '__proto__: y', 'toString: z']));
    expect(m.headers.names).toEqual(['constructor', '__proto__', 'tostring']);
    expect(m.headers.get('constructor')).toBe('x');
    expect(m.headers.get('__proto__')).toBe('y');
    const h = new SipHeaders().append('constructor', '1').append('__proto__', '2').append('Has-Own-Property', '3');
    expect(h.wireNames).toEqual(['Constructor', '__proto__', 'Has-Own-Property']);
    expect(displayHeaderName('constructor')).toBe('Constructor');
    expect(canonicalHeaderName('__PROTO__')).toBe('__proto__');
  });
});

describe('parseMessage: folding (RFC 3261 §7.3.1)', () => {
  it('joins continuation lines with a single space, whatever their leading whitespace', () => {
    const m = ok(
      wire([
        'INVITE sip:bob@example.net SIP/2.0',
        'Via: SIP/2.0/UDP',
        ' \t  pbx.example.com',
        '\t;branch=z9hG4bK1',
        'Subject: one',
        '    two   ',
        '\tthree',
        'CSeq:',
        '   2',
        ' INVITE',
      ]),
    );
    expect(m.headers.get('via')).toBe('SIP/2.0/UDP pbx.example.com ;branch=z9hG4bK1');
    expect(m.topVia?.branch).toBe('z9hG4bK1');
    expect(m.headers.get('subject')).toBe('one two three');
    expect(m.cseq).toEqual({ seq: 2, method: 'INVITE' });
    expect(m.headers.size).toBe(3);
  });

  it('a whitespace-only continuation adds nothing', () => {
    expect(ok(wire(['OPTIONS sip:a@b SIP/2.0', 'Subject: a', '   ', 'Call-ID: x'])).headers.get('subject')).toBe('a');
  });

  it('rejects a continuation line with no header before it', () => {
    const f = failed(wire(['OPTIONS sip:a@b SIP/2.0', ' folded: nothing', 'Call-ID: x']));
    expect(f.reason).toBe('continuation line without a header');
  });
});

describe('parseMessage: multi-value headers', () => {
  it('several Via lines and comma lists come out in order from getAll', () => {
    const m = ok(
      wire([
        'INVITE sip:bob@example.net SIP/2.0',
        'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/TCP p2.example.com;branch=z9hG4bK2',
        'v: SIP/2.0/UDP p3.example.com;branch=z9hG4bK3',
        'Call-ID: x',
        'VIA: SIP/2.0/UDP p4.example.com;branch=z9hG4bK4 ,SIP/2.0/UDP p5.example.com;branch=z9hG4bK5',
      ]),
    );
    expect(m.headers.count('via')).toBe(3);
    expect(m.headers.getAll('via')).toEqual([
      'SIP/2.0/UDP p1.example.com;branch=z9hG4bK1',
      'SIP/2.0/TCP p2.example.com;branch=z9hG4bK2',
      'SIP/2.0/UDP p3.example.com;branch=z9hG4bK3',
      'SIP/2.0/UDP p4.example.com;branch=z9hG4bK4',
      'SIP/2.0/UDP p5.example.com;branch=z9hG4bK5',
    ]);
    expect(m.topViaRaw).toBe('SIP/2.0/UDP p1.example.com;branch=z9hG4bK1');
    expect(m.topVia?.host).toBe('p1.example.com');
    expect(m.vias.map((v) => v.branch)).toEqual(['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3', 'z9hG4bK4', 'z9hG4bK5']);
  });

  it('Contact: commas inside quoted strings (with escaped quotes) and inside <> do not split', () => {
    const m = ok(
      wire([
        'REGISTER sip:example.com SIP/2.0',
        'Contact: "Doe, John \\"JD, Jr\\"" <sip:jd@192.0.2.1>;q=0.5, <sip:x@192.0.2.2;foo=a,b?h=1,2>',
        'm: sip:plain@192.0.2.3;expires=60',
      ]),
    );
    expect(m.headers.getAll('contact')).toEqual([
      '"Doe, John \\"JD, Jr\\"" <sip:jd@192.0.2.1>;q=0.5',
      '<sip:x@192.0.2.2;foo=a,b?h=1,2>',
      'sip:plain@192.0.2.3;expires=60',
    ]);
    const first = parseNameAddr(m.headers.getAll('contact')[0] ?? '');
    expect(first.ok && first.value.displayName).toBe('Doe, John "JD, Jr"');
  });

  it('Route and Record-Route lists split on their commas', () => {
    const m = ok(
      wire([
        'INVITE sip:bob@example.net SIP/2.0',
        'Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>',
        'Route: <sip:p3.example.com;lr>',
        'Record-Route: <sip:rr1.example.com;lr>, <sip:rr2.example.com;lr>',
      ]),
    );
    expect(m.headers.getAll('route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>', '<sip:p3.example.com;lr>']);
    expect(m.headers.getAll('Record-Route')).toHaveLength(2);
  });

  it('headers that are not lists keep their commas', () => {
    const m = ok(
      wire([
        'INVITE sip:bob@example.net SIP/2.0',
        'Date: Sat, 13 Nov 2010 23:29:00 GMT',
        'Authorization: Digest username="bob", realm="example.com", nonce="a,b"',
        'Subject: lunch, maybe',
      ]),
    );
    expect(m.headers.getAll('date')).toEqual(['Sat, 13 Nov 2010 23:29:00 GMT']);
    expect(m.headers.getAll('authorization')).toHaveLength(1);
    expect(m.headers.getAll('subject')).toEqual(['lunch, maybe']);
  });

  it('empty list elements are kept so callers can refuse them', () => {
    const m = ok(wire(['OPTIONS sip:a@b SIP/2.0', 'Supported: timer, ,100rel,']));
    expect(m.headers.getAll('supported')).toEqual(['timer', '', '100rel', '']);
    expect(m.optionTags('supported')).toEqual(['timer', '100rel']);
  });
});

describe('parseMessage: body framing by Content-Length (RFC 3261 §18.3, §20.14)', () => {
  it('takes exactly Content-Length bytes and ignores the rest of a datagram', () => {
    const m = ok(invite(['Content-Length: 5'], 'hello, world'));
    expect(m.body.toString()).toBe('hello');
  });

  it('a body may contain an empty line', () => {
    const body = 'v=0\r\n\r\nx=1\r\n';
    const m = ok(invite([`Content-Length: ${body.length}`], body));
    expect(m.body.toString()).toBe(body);
  });

  it('counts bytes, not characters', () => {
    const body = 'Grüße';
    const m = ok(invite([`Content-Length: ${Buffer.byteLength(body)}`], body));
    expect(m.body.toString('utf8')).toBe(body);
    expect(m.body.length).toBe(7);
  });

  it('a Content-Length larger than the datagram is refused', () => {
    const f = failed(invite(['Content-Length: 20'], 'too short'));
    expect(f.status).toBe(400);
    expect(f.reason).toBe('Content-Length 20 is larger than the 9 body bytes received');
    expect(f.partial?.callId).toBe('3848276298220188511@pbx.example.com');
  });

  it('without Content-Length a datagram body is the rest of the datagram', () => {
    expect(ok(invite([], 'rest of it\r\n')).body.toString()).toBe('rest of it\r\n');
    expect(ok(invite([])).body.length).toBe(0);
  });

  it('without Content-Length a stream message has an empty body', () => {
    const m = ok(invite([], 'not a body'), { stream: true });
    expect(m.body.length).toBe(0);
  });

  it('with Content-Length a stream message is framed the same way', () => {
    expect(ok(invite(['l: 3'], 'abc'), { stream: true }).body.toString()).toBe('abc');
  });

  it('Content-Length 0 gives an empty body even with trailing bytes', () => {
    expect(ok(invite(['Content-Length: 0'], 'junk')).body.length).toBe(0);
  });

  it.each(['-1', 'abc', '1.5', '12345678901', '0x10', '5 5', ''])('refuses Content-Length %j', (value) => {
    const f = failed(invite([`Content-Length: ${value}`], 'hello'));
    expect(f.status).toBe(400);
    expect(f.reason).toBe('Content-Length is not a non-negative integer');
  });

  it('accepts repeated equal Content-Length values and refuses conflicting ones', () => {
    expect(ok(invite(['Content-Length: 2', 'l: 2'], 'abc')).body.toString()).toBe('ab');
    expect(failed(invite(['Content-Length: 2', 'l: 3'], 'abc')).reason).toBe('conflicting Content-Length headers');
  });

  it('a datagram ending right after its last header line has no body', () => {
    const buf = Buffer.from(['OPTIONS sip:a@b SIP/2.0', ...BASE_HEADERS].join('\r\n') + '\r\n');
    const m = ok(buf);
    expect(m.body.length).toBe(0);
    expect(m.headers.size).toBe(BASE_HEADERS.length);
  });

  it('a message whose header section is cut off mid-line is refused', () => {
    const buf = Buffer.from(['OPTIONS sip:a@b SIP/2.0', ...BASE_HEADERS].join('\r\n'));
    expect(failed(buf).reason).toBe('message has no empty line after the headers');
    const crlfEnded = Buffer.from(['OPTIONS sip:a@b SIP/2.0', ...BASE_HEADERS].join('\r\n') + '\r\n');
    expect(failed(crlfEnded, { stream: true }).reason).toBe('message has no empty line after the headers');
  });

  it('the body is a view of the received buffer', () => {
    const buf = invite(['Content-Length: 5'], 'hello');
    const m = ok(buf);
    expect(m.body.buffer).toBe(buf.buffer);
  });
});

describe('parseMessage: LF-only line endings', () => {
  it('parses a message that uses bare LF throughout', () => {
    const m = okRequest(
      wire(['INVITE sip:bob@example.net SIP/2.0', ...BASE_HEADERS, 'Content-Length: 4', 'Subject: a', ' b'], 'body', '\n'),
    );
    expect(m.method).toBe('INVITE');
    expect(m.callId).toBe('3848276298220188511@pbx.example.com');
    expect(m.headers.get('subject')).toBe('a b');
    expect(m.body.toString()).toBe('body');
    expect(m.topVia?.port).toBe(5060);
  });

  it('parses a status line ended by a bare LF', () => {
    expect(okResponse(wire(['SIP/2.0 180 Ringing', ...BASE_HEADERS], '', '\n')).reason).toBe('Ringing');
  });
});

describe('parseMessage: limits', () => {
  it('exports the documented defaults', () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(65535);
    expect(DEFAULT_MAX_HEADERS).toBe(256);
  });

  it('a message over maxMessageBytes is refused with 513 and a partial to answer', () => {
    const buf = invite(['Content-Length: 100'], 'x'.repeat(100));
    const f = failed(buf, { maxMessageBytes: buf.length - 1 });
    expect(f.status).toBe(513);
    expect(f.reason).toBe(`message is larger than ${buf.length - 1} bytes`);
    expect(f.partial?.topVia?.branch).toBe('z9hG4bK74bf9');
    expect(ok(buf, { maxMessageBytes: buf.length }).body.length).toBe(100);
  });

  it('the default maxMessageBytes is 65535', () => {
    const big = invite(['Content-Length: 65535'], 'x'.repeat(65535));
    expect(failed(big).status).toBe(513);
  });

  it('maxHeaders allows exactly that many header lines', () => {
    const lines = Array.from({ length: 10 }, (_, i) => `X-H${i}: ${i}`);
    expect(ok(wire(['OPTIONS sip:a@b SIP/2.0', ...lines]), { maxHeaders: 10 }).headers.size).toBe(10);
    const f = failed(wire(['OPTIONS sip:a@b SIP/2.0', ...lines, 'X-One-More: 1']), { maxHeaders: 10 });
    expect(f.status).toBe(400);
    expect(f.reason).toBe('more than 10 header lines');
  });

  it('the default maxHeaders is 256; continuation lines do not count', () => {
    const lines = Array.from({ length: 256 }, (_, i) => `X-H${i}: ${i}\r\n folded`);
    expect(ok(wire(['OPTIONS sip:a@b SIP/2.0', ...lines])).headers.size).toBe(256);
    expect(failed(wire(['OPTIONS sip:a@b SIP/2.0', ...lines, 'X-Last: 1'])).reason).toBe('more than 256 header lines');
  });
});

describe('lazy header parsing', () => {
  it('a malformed Contact does not stop the message from parsing; only parseNameAddr of it fails', () => {
    const m = ok(invite(['Contact: sip:a@b?x=y, "unterminated <sip:c@d>']));
    expect(validateMessage(m)).toBeUndefined();
    const contacts = m.headers.getAll('contact');
    expect(contacts.map((c) => parseNameAddr(c).ok)).toEqual([false, false]);
  });

  it('a malformed From parses; it is seen only when read', () => {
    const buf = Buffer.from(
      invite().toString().replace('From: "Alice" <sip:alice@example.com>;tag=9fxced76sl', 'From: "Alice <sip:alice@example.com>'),
    );
    const m = ok(buf);
    expect(m.from).toBeUndefined();
    expect(m.fromTag).toBeUndefined();
    expect(validateMessage(m)).toEqual({ status: 400, reason: 'Malformed From: unterminated quoted display name' });
  });

  it('a parsed header is cached until the header changes, then parsed again', () => {
    const m = ok(invite());
    const via1 = m.topVia;
    expect(via1?.branch).toBe('z9hG4bK74bf9');
    expect(m.topVia).toBe(via1);
    m.headers.set('via', 'SIP/2.0/TCP other.example.com;branch=z9hG4bKnew');
    const via2 = m.topVia;
    expect(via2).not.toBe(via1);
    expect(via2?.branch).toBe('z9hG4bKnew');
    expect(via2?.transport).toBe('TCP');
    m.headers.set('via', 'garbage');
    expect(m.topVia).toBeUndefined();
  });

  it('CSeq, From, To and the Request-URI follow changes too', () => {
    const m = okRequest(invite());
    expect(m.cseq?.seq).toBe(2);
    expect(m.toTag).toBeUndefined();
    expect(m.requestUri?.user).toBe('bob');
    m.headers.set('cseq', '3 BYE');
    m.headers.set('to', '<sip:bob@example.net>;tag=abc');
    m.headers.set('from', 'sip:carol@example.com;tag=zz');
    m.uri = 'sip:dave@example.org';
    expect(m.cseq).toEqual({ seq: 3, method: 'BYE' });
    expect(m.toTag).toBe('abc');
    expect(m.fromTag).toBe('zz');
    expect(m.requestUri?.user).toBe('dave');
  });

  it('prepending a Via changes the top Via', () => {
    const m = ok(invite());
    expect(m.topVia?.host).toBe('pbx.example.com');
    m.headers.prepend('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp');
    expect(m.topVia?.host).toBe('proxy.example.com');
    expect(m.vias.map((v) => v.host)).toEqual(['proxy.example.com', 'pbx.example.com']);
  });
});

describe('SipHeaders', () => {
  it('set replaces every occurrence at the first position, keeping its wire spelling', () => {
    const h = new SipHeaders().append('Via', 'a').append('To', 't').append('v', 'b');
    h.set('via', 'c');
    expect(h.names).toEqual(['via', 'to']);
    expect(h.values).toEqual(['c', 't']);
    expect(h.set('Subject', 's').names).toEqual(['via', 'to', 'subject']);
  });

  it('append and prepend use the display spelling; remove counts', () => {
    const h = new SipHeaders().append('call-id', 'x').append('x-my-header', '1');
    h.prepend('cseq', '1 INVITE');
    expect(h.wireNames).toEqual(['CSeq', 'Call-ID', 'X-My-Header']);
    h.append('X-MY-HEADER', '2');
    expect(h.remove('x-my-header')).toBe(2);
    expect(h.remove('x-my-header')).toBe(0);
    expect(h.size).toBe(2);
  });

  it('clone is independent', () => {
    const h = new SipHeaders().append('To', 'a');
    const c = h.clone();
    c.set('to', 'b');
    expect(h.get('to')).toBe('a');
    expect(c.get('to')).toBe('b');
  });
});

describe('parseUri', () => {
  it.each([
    [
      'sip:alice@example.com',
      { scheme: 'sip', user: 'alice', password: undefined, host: 'example.com', port: undefined, headers: undefined },
    ],
    [
      'SIP:Alice@Example.COM',
      { scheme: 'sip', user: 'Alice', password: undefined, host: 'Example.COM', port: undefined, headers: undefined },
    ],
    [
      'sips:bob:secret@example.com:5061;transport=tcp?subject=hi&x=1',
      { scheme: 'sips', user: 'bob', password: 'secret', host: 'example.com', port: 5061, headers: 'subject=hi&x=1' },
    ],
    [
      'sip:[2001:db8::1]:5070',
      { scheme: 'sip', user: undefined, password: undefined, host: '[2001:db8::1]', port: 5070, headers: undefined },
    ],
    [
      'sip:carol@[2001:db8::1]',
      { scheme: 'sip', user: 'carol', password: undefined, host: '[2001:db8::1]', port: undefined, headers: undefined },
    ],
    ['sip:192.0.2.4:65535', { scheme: 'sip', user: undefined, password: undefined, host: '192.0.2.4', port: 65535, headers: undefined }],
    [
      'sip:+15551234567@gw.example.com;user=phone',
      { scheme: 'sip', user: '+15551234567', password: undefined, host: 'gw.example.com', port: undefined, headers: undefined },
    ],
  ])('%s', (text, expected) => {
    const r = parseUri(text);
    if (!r.ok) throw new Error(r.reason);
    expect({
      scheme: r.uri.scheme,
      user: r.uri.user,
      password: r.uri.password,
      host: r.uri.host,
      port: r.uri.port,
      headers: r.uri.headers,
    }).toEqual(expected);
    expect(r.uri.opaque).toBeUndefined();
  });

  it('reads URI parameters in order, lower-casing names, with flags as null', () => {
    const r = parseUri('sip:alice@example.com;Transport=TCP;lr;maddr=[2001:db8::2];ttl=15');
    if (!r.ok) throw new Error(r.reason);
    expect(r.uri.params.names).toEqual(['transport', 'lr', 'maddr', 'ttl']);
    expect(r.uri.params.values).toEqual(['TCP', null, '[2001:db8::2]', '15']);
    expect(r.uri.params.get('lr')).toBeNull();
    expect(r.uri.params.get('absent')).toBeUndefined();
  });

  it('parses tel URIs (RFC 3966)', () => {
    const r = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    if (!r.ok) throw new Error(r.reason);
    expect(r.uri.scheme).toBe('tel');
    expect(r.uri.user).toBe('+1-201-555-0123');
    expect(r.uri.params.get('phone-context')).toBe('example.com');
  });

  it('keeps other schemes opaque', () => {
    const r = parseUri('urn:service:sos');
    if (!r.ok) throw new Error(r.reason);
    expect(r.uri).toMatchObject({ scheme: 'urn', opaque: 'service:sos', host: '' });
  });

  it.each([
    ['sip:host:0', /port/],
    ['sip:host:65536', /port/],
    ['sip:host:abc', /port/],
    ['sip:host:', /port/],
    ['sip:', /no host/],
    ['sip:@host', /empty user/],
    ['sip:alice@', /no host/],
    ['sip:alice@example.com:5060x', /unexpected characters/],
    ['sip:a b@host', /must be escaped/],
    ['sip:a@host>', /must be escaped/],
    ['sip:[2001:db8::1', /unterminated IPv6/],
    ['sip:host;=x', /parameters are malformed/],
    ['sip:host;a=', /parameters are malformed/],
    ['no-scheme', /no scheme/],
    [':nothing', /no scheme/],
    ['1sip:host', /scheme is not valid/],
    ['tel:', /tel URI is malformed/],
    ['tel:+1 555', /tel URI is malformed/],
    ['urn:', /empty after the scheme/],
    ['urn:a<b', /whitespace or delimiters/],
  ])('refuses %j', (text, reason) => {
    const r = parseUri(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('formatUri writes back what parseUri read', () => {
    for (const text of [
      'sips:bob:secret@example.com:5061;transport=tcp;lr?subject=hi',
      'sip:[2001:db8::1]:5070',
      'tel:+15551234567;ext=12',
      'urn:service:sos',
    ]) {
      const r = parseUri(text);
      if (!r.ok) throw new Error(r.reason);
      expect(formatUri(r.uri)).toBe(text);
    }
  });

  it('unescapeUriPart decodes valid escapes and leaves invalid ones', () => {
    expect(unescapeUriPart('al%69ce')).toBe('alice');
    expect(unescapeUriPart('plain')).toBe('plain');
    expect(unescapeUriPart('%ZZ%41%4')).toBe('%ZZA%4');
    expect(unescapeUriPart('%C3%A9')).toBe('é');
  });

  it('bareHost strips IPv6 brackets and lower-cases', () => {
    expect(bareHost('[2001:DB8::1]')).toBe('2001:db8::1');
    expect(bareHost('Example.COM')).toBe('example.com');
  });
});

describe('parseNameAddr', () => {
  it('a quoted display name with escaped quotes and backslashes', () => {
    const r = parseNameAddr('"A \\"quoted\\" name \\\\ here" <sip:a@example.com>;tag=1');
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.displayName).toBe('A "quoted" name \\ here');
    expect(r.value.uri).toBe('sip:a@example.com');
    expect(r.value.params.get('tag')).toBe('1');
    expect(r.value.angled).toBe(true);
    expect(r.value.wildcard).toBe(false);
  });

  it('an unquoted display name of tokens', () => {
    const r = parseNameAddr('Alice  Smith <sip:alice@example.com>');
    expect(r.ok && r.value.displayName).toBe('Alice  Smith');
  });

  it('no display name', () => {
    const r = parseNameAddr('  <sip:alice@example.com>  ');
    expect(r.ok && r.value.displayName).toBeUndefined();
  });

  it('an addr-spec: the parameters after the URI belong to the header', () => {
    const r = parseNameAddr('sip:alice@example.com;transport=tcp;tag=abc');
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.uri).toBe('sip:alice@example.com');
    expect(r.value.angled).toBe(false);
    expect(r.value.params.names).toEqual(['transport', 'tag']);
  });

  it('in <>, URI parameters stay in the URI and header parameters follow', () => {
    const r = parseNameAddr('<sip:alice@example.com;transport=tcp>;expires=3600;+sip.instance="<urn:uuid:1>"');
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.uri).toBe('sip:alice@example.com;transport=tcp');
    expect(r.value.params.get('expires')).toBe('3600');
    expect(r.value.params.get('+sip.instance')).toBe('"<urn:uuid:1>"');
  });

  it('Contact: * is the wildcard', () => {
    for (const text of ['*', ' * ']) {
      const r = parseNameAddr(text);
      expect(r.ok && r.value.wildcard).toBe(true);
    }
    // only a lone STAR is the wildcard; anything else is an address whose URI is checked when read
    const starred = parseNameAddr('*;expires=0');
    expect(starred.ok && starred.value.wildcard).toBe(false);
    expect(starred.ok && nameAddrUri(starred.value)).toBeUndefined();
  });

  it.each([
    ['', /empty address/],
    ['   ', /empty address/],
    ['"unterminated <sip:a@b>', /unterminated quoted display name/],
    ['"Joe" sip:a@b', /not followed by <uri>/],
    ['<sip:a@b', /unterminated <uri>/],
    ['<>', /empty <uri>/],
    ['Bell, Alexander <sip:a@b>', /must be quoted/],
    ['sip:a@b?subject=x', /must be enclosed in <>/],
    ['sip:a@b,sip:c@d', /must be enclosed in <>/],
    ['<sip:a@b>;;', /malformed header parameters/],
    ['<sip:a@b>;tag=', /malformed header parameters/],
    ['<sip:a@b> junk', /unexpected characters/],
  ])('refuses %j', (text, reason) => {
    const r = parseNameAddr(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('formatNameAddr escapes the display name so that it parses back', () => {
    const text = formatNameAddr({ displayName: 'Say "hi" \\o/', uri: 'sip:a@b' });
    expect(text).toBe('"Say \\"hi\\" \\\\o/" <sip:a@b>');
    const r = parseNameAddr(text);
    expect(r.ok && r.value.displayName).toBe('Say "hi" \\o/');
  });
});

describe('parseVia', () => {
  it('reads protocol, transport, sent-by and branch', () => {
    const r = parseVia('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds');
    if (!r.ok) throw new Error(r.reason);
    expect(r.via).toMatchObject({
      protocol: 'SIP/2.0',
      transport: 'UDP',
      host: '192.0.2.1',
      port: 5060,
      branch: 'z9hG4bK776asdhds',
      received: undefined,
      rport: undefined,
      maddr: undefined,
    });
  });

  it('received and rport with a value', () => {
    const r = parseVia('SIP/2.0/UDP pc33.example.com;branch=z9hG4bKx;received=192.0.2.9;rport=5066');
    if (!r.ok) throw new Error(r.reason);
    expect(r.via.received).toBe('192.0.2.9');
    expect(r.via.rport).toBe(5066);
  });

  it('rport without a value is true (RFC 3581)', () => {
    const r = parseVia('SIP/2.0/UDP pc33.example.com;rport;branch=z9hG4bKx');
    expect(r.ok && r.via.rport).toBe(true);
  });

  it('maddr and other parameters', () => {
    const r = parseVia('SIP/2.0/UDP pc33.example.com;maddr=224.2.0.1;ttl=16;branch=z9hG4bKx;hidden');
    if (!r.ok) throw new Error(r.reason);
    expect(r.via.maddr).toBe('224.2.0.1');
    expect(r.via.params.get('ttl')).toBe('16');
    expect(r.via.params.get('hidden')).toBeNull();
  });

  it('an IPv6 sent-by and an IPv6 received', () => {
    const r = parseVia('SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKa;received=[2001:db8::10]');
    if (!r.ok) throw new Error(r.reason);
    expect(r.via.host).toBe('[2001:db8::9]');
    expect(r.via.port).toBe(5070);
    expect(r.via.received).toBe('[2001:db8::10]');
  });

  it('LWS around "/", ":", ";" and "=" (RFC 3261 §25.1), lower-case protocol', () => {
    const r = parseVia('sip / 2.0 / tcp  host.example.com : 5080 ; branch = z9hG4bKb ;\trport');
    if (!r.ok) throw new Error(r.reason);
    expect(r.via).toMatchObject({
      protocol: 'SIP/2.0',
      transport: 'TCP',
      host: 'host.example.com',
      port: 5080,
      branch: 'z9hG4bKb',
      rport: true,
    });
  });

  it.each([
    ['', /no protocol name/],
    ['SIP 2.0/UDP h', /missing "\/"/],
    ['SIP/2.0 h', /missing the transport/],
    ['SIP/2.0/UDP', /followed by whitespace/],
    ['SIP/2.0/UDPh', /followed by whitespace/],
    ['SIP/2.0/UDP ;branch=z9hG4bKx', /no sent-by host/],
    ['SIP/2.0/UDP h:0', /port/],
    ['SIP/2.0/UDP h:70000', /port/],
    ['SIP/2.0/UDP [2001:db8::1', /unterminated IPv6/],
    ['SIP/2.0/UDP h;branch', /branch parameter has no value/],
    ['SIP/2.0/UDP h;received', /received parameter has no value/],
    ['SIP/2.0/UDP h;rport=0', /rport/],
    ['SIP/2.0/UDP h;rport=x', /rport/],
    ['SIP/2.0/UDP h;;', /parameters are malformed/],
    ['SIP/2.0/UDP h junk', /unexpected characters/],
  ])('refuses %j', (text, reason) => {
    const r = parseVia(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('formatVia writes back a Via that parses to the same fields', () => {
    const r = parseVia('SIP / 2.0 / udp [2001:db8::9]:5070 ;branch=z9hG4bKa;rport=5');
    if (!r.ok) throw new Error(r.reason);
    const text = formatVia(r.via);
    expect(text).toBe('SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKa;rport=5');
    const again = parseVia(text);
    expect(again.ok && again.via).toEqual(r.via);
  });

  it('sentByKey fills in the default port by transport', () => {
    const key = (text: string): string => {
      const r = parseVia(text);
      if (!r.ok) throw new Error(r.reason);
      return sentByKey(r.via);
    };
    expect(key('SIP/2.0/UDP Host.Example.com')).toBe('host.example.com:5060');
    expect(key('SIP/2.0/TLS host.example.com')).toBe('host.example.com:5061');
    expect(key('SIP/2.0/TCP host.example.com:5080')).toBe('host.example.com:5080');
  });

  it('isRfc3261Branch wants the magic cookie and something after it', () => {
    expect(isRfc3261Branch('z9hG4bK1')).toBe(true);
    expect(isRfc3261Branch(MAGIC_COOKIE)).toBe(false);
    expect(isRfc3261Branch('z9hg4bk1')).toBe(false);
    expect(isRfc3261Branch('123')).toBe(false);
    expect(isRfc3261Branch(undefined)).toBe(false);
  });
});

describe('parseCSeq', () => {
  it.each([
    ['1 INVITE', 1, 'INVITE'],
    ['0 OPTIONS', 0, 'OPTIONS'],
    [`${MAX_CSEQ} ACK`, 2 ** 31 - 1, 'ACK'],
    ['  42\tBYE  ', 42, 'BYE'],
    ['007 NEWMETHOD', 7, 'NEWMETHOD'],
  ])('%j', (text, seq, method) => {
    expect(parseCSeq(text)).toEqual({ ok: true, cseq: { seq, method } });
  });

  it.each([
    ['2147483648 ACK', /below 2\*\*31/],
    ['99999999999999999999999 ACK', /below 2\*\*31/],
    ['-1 INVITE', /below 2\*\*31/],
    ['1.5 INVITE', /below 2\*\*31/],
    ['INVITE', /below 2\*\*31/],
    ['', /below 2\*\*31/],
    ['1', /no method/],
    ['1 ', /not a token/],
    ['1 IN VITE', /not a token/],
    ['1 INV@ITE', /not a token/],
  ])('refuses %j', (text, reason) => {
    const r = parseCSeq(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('validateMessage', () => {
  const valid = (): SipRequest => okRequest(invite(['Contact: <sip:alice@192.0.2.1>']));

  it('accepts a well-formed request and response', () => {
    expect(validateMessage(valid())).toBeUndefined();
    expect(validateMessage(okResponse(wire(['SIP/2.0 200 OK', ...BASE_HEADERS])))).toBeUndefined();
  });

  it.each<[string, (m: SipRequest) => void, number, RegExp]>([
    ['no Via', (m) => m.headers.remove('via'), 400, /^Missing Via$/],
    ['a malformed Via', (m) => m.headers.set('via', 'SIP/2.0/UDP'), 400, /followed by whitespace/],
    ['an empty first Via element', (m) => m.headers.set('via', ', SIP/2.0/UDP h'), 400, /no protocol name/],
    ['no Call-ID', (m) => m.headers.remove('call-id'), 400, /^Missing Call-ID$/],
    ['an empty Call-ID', (m) => m.headers.set('call-id', ''), 400, /^Missing Call-ID$/],
    ['two To headers', (m) => m.headers.append('t', '<sip:x@y>'), 400, /^Multiple to headers$/],
    ['two Call-ID headers', (m) => m.headers.append('i', 'other'), 400, /^Multiple call-id headers$/],
    ['no CSeq', (m) => m.headers.remove('cseq'), 400, /^Missing CSeq$/],
    ['a CSeq over 2**31-1', (m) => m.headers.set('cseq', '2147483648 INVITE'), 400, /^Malformed CSeq$/],
    ['no From', (m) => m.headers.remove('from'), 400, /^Missing From$/],
    ['a malformed From', (m) => m.headers.set('from', '<sip:a@b'), 400, /^Malformed From: unterminated <uri>$/],
    ['no To', (m) => m.headers.remove('to'), 400, /^Missing To$/],
    ['a malformed To', (m) => m.headers.set('to', 'sip:a@b junk'), 400, /^Malformed To: /],
    ['a CSeq method other than the request method', (m) => m.headers.set('cseq', '2 BYE'), 400, /does not match/],
    ['a CSeq method differing only in case', (m) => m.headers.set('cseq', '2 invite'), 400, /does not match/],
    ['Max-Forwards 256', (m) => m.headers.set('max-forwards', '256'), 400, /Max-Forwards/],
    ['Max-Forwards -1', (m) => m.headers.set('max-forwards', '-1'), 400, /Max-Forwards/],
    ['a malformed Request-URI', (m) => (m.uri = 'sip:'), 400, /^Malformed Request-URI$/],
    ['an unknown Request-URI scheme', (m) => (m.uri = 'http://example.com/'), 416, /^Unsupported URI Scheme$/],
    ['headers in the Request-URI', (m) => (m.uri = 'sip:bob@example.net?subject=x'), 400, /must not carry headers/],
  ])('refuses a request with %s', (_what, mutate, status, reason) => {
    const m = valid();
    mutate(m);
    const v = validateMessage(m);
    expect(v?.status).toBe(status);
    expect(v?.reason).toMatch(reason);
  });

  it('accepts Max-Forwards 0 and 255, no Max-Forwards, sips: and tel: Request-URIs', () => {
    for (const mutate of [
      (m: SipRequest) => m.headers.set('max-forwards', '0'),
      (m: SipRequest) => m.headers.set('max-forwards', '255'),
      (m: SipRequest) => m.headers.remove('max-forwards'),
      (m: SipRequest) => (m.uri = 'sips:bob@example.net'),
      (m: SipRequest) => (m.uri = 'tel:+15551234567'),
    ]) {
      const m = valid();
      mutate(m);
      expect(validateMessage(m)).toBeUndefined();
    }
  });

  it('does not compare the CSeq method of a response with anything', () => {
    const m = okResponse(wire(['SIP/2.0 200 OK', ...BASE_HEADERS.map((h) => (h.startsWith('CSeq') ? 'CSeq: 2 BYE' : h))]));
    expect(validateMessage(m)).toBeUndefined();
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  const request = (): SipRequest =>
    okRequest(
      wire(
        [
          'INVITE sip:bob@example.net SIP/2.0',
          'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp, SIP/2.0/UDP pbx.example.com;branch=z9hG4bK1;received=192.0.2.1',
          'Record-Route: <sip:proxy.example.com;lr>',
          'v: SIP/2.0/TCP origin.example.com;branch=z9hG4bK0',
          'Max-Forwards: 69',
          'f: "Alice" <sip:alice@example.com>;tag=9fxced76sl',
          'To: <sip:bob@example.net>',
          'i: 3848276298220188511@pbx.example.com',
          'CSeq: 2 INVITE',
          'Contact: <sip:alice@192.0.2.1>',
          'Content-Type: application/sdp',
          'Content-Length: 3',
        ],
        'v=0',
      ),
    );

  it('copies every Via in order, From, To, Call-ID and CSeq, and nothing else', () => {
    const req = request();
    const res = createResponse(req, 180);
    expect(res.headers.names).toEqual(['via', 'via', 'from', 'to', 'call-id', 'cseq']);
    expect(res.headers.getAll('via')).toEqual(req.headers.getAll('via'));
    expect(res.headers.get('from')).toBe(req.headers.get('from'));
    expect(res.headers.get('call-id')).toBe('3848276298220188511@pbx.example.com');
    expect(res.headers.get('cseq')).toBe('2 INVITE');
    expect(res.headers.wireNames).toEqual(['Via', 'v', 'f', 'To', 'i', 'CSeq']);
    expect(res.body.length).toBe(0);
    expect(res.status).toBe(180);
    expect(res.reason).toBe('Ringing');
  });

  it('adds the To tag only when the request has none', () => {
    expect(createResponse(request(), 200, undefined, 'totag1').toTag).toBe('totag1');
    const inDialog = request();
    inDialog.headers.set('to', '<sip:bob@example.net>;tag=existing');
    const res = createResponse(inDialog, 200, undefined, 'totag2');
    expect(res.headers.get('to')).toBe('<sip:bob@example.net>;tag=existing');
    expect(res.toTag).toBe('existing');
    expect(createResponse(request(), 100).toTag).toBeUndefined();
  });

  it('uses the given reason phrase, or the standard one', () => {
    expect(createResponse(request(), 486).reason).toBe('Busy Here');
    expect(createResponse(request(), 503, 'Overloaded').reason).toBe('Overloaded');
    expect(createResponse(request(), 499).reason).toBe('Client Error');
  });

  it('the response validates and serializes to something that parses back', () => {
    const res = createResponse(request(), 200, undefined, newTag());
    expect(validateMessage(res)).toBeUndefined();
    const again = okResponse(serializeMessage(res));
    expect(again.status).toBe(200);
    expect(again.toTag).toBe(res.toTag);
    expect(again.vias).toHaveLength(3);
  });
});

describe('identifiers', () => {
  it('newBranch starts with the magic cookie and carries at least 64 random bits', () => {
    const b = newBranch();
    expect(b.startsWith('z9hG4bK')).toBe(true);
    expect(b.slice(MAGIC_COOKIE.length)).toMatch(/^[0-9a-f]{16,}$/);
    expect(isRfc3261Branch(b)).toBe(true);
  });

  it('newBranch is unique over 10,000 draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(newBranch());
    expect(seen.size).toBe(10_000);
  });

  it('newTag has at least 32 random bits (RFC 3261 §19.3) and newCallId appends the host', () => {
    expect(newTag()).toMatch(/^[0-9a-f]{8,}$/);
    expect(newTag()).not.toBe(newTag());
    expect(newCallId()).toMatch(/^[0-9a-f]{32}$/);
    expect(newCallId('gw.example.com')).toMatch(/^[0-9a-f]{32}@gw\.example\.com$/);
  });
});

describe('serializeMessage', () => {
  it('round-trips a request: parse(serialize(m)) gives the same fields', () => {
    const body = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n';
    const m = okRequest(
      invite(['Contact: <sip:alice@192.0.2.1>', 'Content-Type: application/sdp', `l: ${body.length}`, 'Subject: folded', ' line'], body),
    );
    const again = okRequest(serializeMessage(m));
    expect(again.method).toBe(m.method);
    expect(again.uri).toBe(m.uri);
    expect(again.callId).toBe(m.callId);
    expect(again.cseq).toEqual(m.cseq);
    expect(again.topVia).toEqual(m.topVia);
    expect(again.from).toEqual(m.from);
    expect(again.to).toEqual(m.to);
    expect(again.headers.get('subject')).toBe('folded line');
    expect(again.body.toString()).toBe(body);
    expect(again.headers.names.filter((n) => n !== 'content-length')).toEqual(m.headers.names.filter((n) => n !== 'content-length'));
  });

  it('round-trips a response with its reason phrase', () => {
    const m = okResponse(wire(['SIP/2.0 183 Session Progress', ...BASE_HEADERS]));
    const text = serializeMessage(m).toString();
    expect(text.startsWith('SIP/2.0 183 Session Progress\r\n')).toBe(true);
    expect(okResponse(Buffer.from(text)).reason).toBe('Session Progress');
  });

  it('always writes one Content-Length, from the body, last', () => {
    const m = ok(invite(['Content-Length: 999', 'l: 999'], 'x'.repeat(999)));
    m.body = Buffer.from('abc');
    const text = serializeMessage(m).toString();
    expect(text.match(/^(content-length|l)\s*:/gim)).toEqual(['Content-Length:']);
    expect(text.endsWith('Content-Length: 3\r\n\r\nabc')).toBe(true);
    m.body = Buffer.alloc(0);
    expect(serializeMessage(m).toString().endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
  });

  it('copies a binary body byte for byte and counts UTF-8 header bytes', () => {
    const req = createRequest('MESSAGE', 'sip:bob@example.net', [['Subject', 'Grüße']], Buffer.from([0, 255, 13, 10, 13, 10, 1]));
    const out = serializeMessage(req);
    const again = ok(out);
    expect([...again.body]).toEqual([0, 255, 13, 10, 13, 10, 1]);
    expect(again.headers.get('subject')).toBe('Grüße');
    expect(out.subarray(-7)).toEqual(Buffer.from([0, 255, 13, 10, 13, 10, 1]));
  });
});
