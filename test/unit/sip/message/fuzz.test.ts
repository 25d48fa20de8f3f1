/**
 * Property-based fuzzing of the message layer: a malformed packet must never
 * escape as an exception, whatever the bytes, and whatever is read from a
 * message that did parse.
 */
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type SipMessage,
  SipHeaders,
  StreamFramer,
  createResponse,
  formatUri,
  formatVia,
  nameAddrUri,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  serializeMessage,
  unescapeUriPart,
  validateMessage,
} from '../../../../src/sip/message/index.js';

const FIXTURE_DIR = new URL('../../../fixtures/rfc4475/', import.meta.url);
const FIXTURES: readonly Buffer[] = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.dat'))
  .sort()
  .map((f) => readFileSync(new URL(f, FIXTURE_DIR)));

/** Read everything a caller might read from a parsed message. Throws only if the message layer does. */
function exercise(m: SipMessage): void {
  validateMessage(m);
  void m.topVia;
  void m.topViaRaw;
  void m.cseq;
  void m.from;
  void m.to;
  void m.fromTag;
  void m.toTag;
  void m.callId;
  void m.contentType;
  void m.vias;
  m.optionTags('supported');
  for (const via of m.headers.getAll('via')) {
    const v = parseVia(via);
    if (v.ok) formatVia(v.via);
  }
  for (const name of ['contact', 'route', 'record-route']) {
    for (const value of m.headers.getAll(name)) {
      const a = parseNameAddr(value);
      if (a.ok) nameAddrUri(a.value);
    }
  }
  // relay every header by its wire name, as a B2BUA copying unknown headers would
  const relayed = new SipHeaders();
  for (let i = 0; i < m.headers.size; i++) relayed.append(m.headers.wireNames[i] ?? '', m.headers.values[i] ?? '');
  expect(relayed.names).toEqual(m.headers.names);
  if (m.isRequest) {
    const uri = m.requestUri;
    if (uri !== undefined) formatUri(uri);
    serializeMessage(createResponse(m, 400, undefined, 'tag'));
  }
  serializeMessage(m);
}

function parseAndExercise(buf: Buffer): void {
  for (const options of [undefined, { stream: true }, { maxHeaders: 8, maxMessageBytes: 512 }]) {
    const r = parseMessage(buf, options);
    if (r.ok) exercise(r.message);
    else {
      expect([400, 505, 513]).toContain(r.status);
      expect(r.reason.length).toBeGreaterThan(0);
      if (r.partial !== undefined) exercise(r.partial);
    }
  }
}

/** Pieces of SIP text, so that random input gets past the first checks. */
const SIP_PIECES = [
  'INVITE',
  'OPTIONS',
  'SIP/2.0',
  'sip/2.0',
  'SIP/2.0 200 OK',
  ' ',
  '  ',
  '\t',
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '\r\n ',
  ':',
  ';',
  ',',
  '=',
  '"',
  '\\',
  '<',
  '>',
  '[',
  ']',
  '@',
  '?',
  '%',
  '%00',
  '*',
  '\0',
  'sip:',
  'sips:',
  'tel:',
  'alice',
  'example.com',
  '192.0.2.1',
  '[2001:db8::1]',
  '5060',
  '99999',
  'Via: ',
  'v: ',
  'SIP/2.0/UDP ',
  'SIP / 2.0 / TCP ',
  'branch=',
  'z9hG4bK',
  'rport',
  'received=',
  'maddr=',
  'Call-ID: ',
  'CSeq: ',
  '1 INVITE',
  '2147483648',
  'From: ',
  'To: ',
  'tag=',
  'Contact: ',
  'Route: ',
  'Content-Length: ',
  'l: ',
  '0',
  '5',
  '-1',
  'Max-Forwards: ',
  'é',
  '\u00ff',
  'constructor: ',
  '__proto__: ',
];

const sipText = (maxLength: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...SIP_PIECES), { maxLength }).map((parts) => parts.join(''));

// ---------------------------------------------------------------------------
// mutations of the RFC 4475 messages

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: string }
  | { kind: 'duplicateLine'; line: number }
  | { kind: 'removeLine'; line: number };

const INSERTS = ['\r', '\n', '\0', ',', ';', ':', '<', '>', '"', ' ', '\\', '\r\n', '\r\n ', '\r\n\r\n', '%'];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.constantFrom(...INSERTS) }),
  fc.record({ kind: fc.constant('duplicateLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('removeLine' as const), line: fc.nat() }),
);

function mutate(buf: Buffer, m: Mutation): Buffer {
  if (buf.length === 0) return buf;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(buf);
      const at = m.at % out.length;
      out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return buf.subarray(0, m.at % buf.length);
    case 'insert': {
      const at = m.at % (buf.length + 1);
      return Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes, 'latin1'), buf.subarray(at)]);
    }
    case 'duplicateLine':
    case 'removeLine': {
      const lines = buf.toString('latin1').split('\r\n');
      const i = m.line % lines.length;
      if (m.kind === 'duplicateLine') lines.splice(i, 0, lines[i] ?? '');
      else lines.splice(i, 1);
      return Buffer.from(lines.join('\r\n'), 'latin1');
    }
  }
}

const mutatedFixture: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...FIXTURES), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([buf, ms]) => ms.reduce(mutate, buf));

// ---------------------------------------------------------------------------

describe('parseMessage never throws', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (bytes) => {
        parseAndExercise(Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('on arbitrary sequences of SIP fragments', () => {
    fc.assert(
      fc.property(sipText(120), (text) => {
        parseAndExercise(Buffer.from(text, 'utf8'));
      }),
      { numRuns: 5000 },
    );
  });

  it('on mutated RFC 4475 messages (byte flips, truncations, duplicated and removed lines, inserted CR/LF/NUL/,;:<>")', () => {
    fc.assert(
      fc.property(mutatedFixture, (buf) => {
        parseAndExercise(buf);
      }),
      { numRuns: 5000 },
    );
  });

  it('on huge header counts; the default refuses more than 256 header lines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4000 }),
        fc.constantFrom(
          'Via: SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP i',
          'v: x',
          'Contact: <sip:a@b>, *',
          'X-H: 1',
          'Route: <sip:r;lr>',
        ),
        (count, line) => {
          const buf = Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${`${line}\r\n`.repeat(count)}\r\n`);
          const byDefault = parseMessage(buf, { maxMessageBytes: 1 << 20 });
          expect(byDefault.ok).toBe(count <= 256);
          const unlimited = parseMessage(buf, { maxMessageBytes: 1 << 20, maxHeaders: 10_000 });
          if (!unlimited.ok) throw new Error(unlimited.reason);
          expect(unlimited.message.headers.size).toBe(count);
          exercise(unlimited.message);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('serializeMessage is stable', () => {
  it('whatever parses, serialized and parsed again, has the same start line, headers and body', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutatedFixture,
          sipText(120).map((t) => Buffer.from(t, 'utf8')),
        ),
        (buf) => {
          const first = parseMessage(buf);
          if (!first.ok) return;
          const m = first.message;
          const again = parseMessage(serializeMessage(m), { maxMessageBytes: 1 << 20 });
          if (!again.ok) throw new Error(`re-parse failed: ${again.reason}`);
          const n = again.message;
          if (m.isRequest) expect(n.isRequest && [n.method, n.uri]).toEqual([m.method, m.uri]);
          else expect(!n.isRequest && [n.status, n.reason]).toEqual([m.status, m.reason]);
          const withoutLength = (x: SipMessage): [string, string | undefined][] =>
            x.headers.names
              .map((name, i): [string, string | undefined] => [name, x.headers.values[i]])
              .filter(([name]) => name !== 'content-length');
          expect(withoutLength(n)).toEqual(withoutLength(m));
          expect(Buffer.compare(n.body, m.body)).toBe(0);
        },
      ),
      { numRuns: 4000 },
    );
  });
});

describe('StreamFramer.push never throws', () => {
  const sink = { message: (): void => {}, ping: (): void => {}, error: (): void => {} };

  it('on random chunks of random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.integer({ min: 1, max: 2000 }), (chunks, limit) => {
        const framer = new StreamFramer({ maxHeaderBytes: limit, maxBodyBytes: limit }, sink);
        for (const c of chunks) framer.push(Buffer.from(c));
      }),
      { numRuns: 1000 },
    );
  });

  it('on random chunks of SIP fragments and mutated messages', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            mutatedFixture,
            sipText(40).map((t) => Buffer.from(t)),
          ),
          { maxLength: 8 },
        ),
        (chunks) => {
          const framer = new StreamFramer({ maxHeaderBytes: 4096, maxBodyBytes: 4096 }, sink);
          for (const c of chunks) framer.push(c);
        },
      ),
      { numRuns: 800 },
    );
  });

  it('frames well-formed messages and pings the same way whatever the chunking', () => {
    // Well-framed copies of the parseable fixtures: serialization writes the right Content-Length.
    const wellFramed = FIXTURES.flatMap((buf) => {
      const r = parseMessage(buf);
      return r.ok ? [serializeMessage(r.message)] : [];
    });
    const item = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...wellFramed) },
      { weight: 1, arbitrary: fc.constant(Buffer.from('\r\n\r\n')) },
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (items, cuts) => {
        const stream = Buffer.concat(items);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const messages: Buffer[] = [];
        let pings = 0;
        const framer = new StreamFramer(
          { maxHeaderBytes: 65535, maxBodyBytes: 65535 },
          {
            message: (b) => messages.push(Buffer.from(b)),
            ping: () => pings++,
            error: (reason) => {
              throw new Error(`unexpected framing error: ${reason}`);
            },
          },
        );
        let from = 0;
        for (const p of [...points, stream.length]) {
          framer.push(stream.subarray(from, p));
          from = p;
        }
        const expectedMessages = items.filter((b) => b.length !== 4 || b.toString() !== '\r\n\r\n');
        expect(messages).toEqual(expectedMessages);
        expect(pings).toBe(items.length - expectedMessages.length);
        expect(framer.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('header grammars never throw', () => {
  const inputs = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), sipText(40));

  it.each([
    [
      'parseUri',
      (s: string) => {
        const r = parseUri(s);
        if (r.ok) formatUri(r.uri);
      },
    ],
    [
      'parseNameAddr',
      (s: string) => {
        const r = parseNameAddr(s);
        if (r.ok) nameAddrUri(r.value);
      },
    ],
    [
      'parseVia',
      (s: string) => {
        const r = parseVia(s);
        if (r.ok) formatVia(r.via);
      },
    ],
    [
      'parseCSeq',
      (s: string) => {
        const r = parseCSeq(s);
        if (r.ok) {
          expect(r.cseq.seq).toBeGreaterThanOrEqual(0);
          expect(r.cseq.seq).toBeLessThanOrEqual(2 ** 31 - 1);
        }
      },
    ],
    ['unescapeUriPart', (s: string) => void unescapeUriPart(s)],
  ])('%s on arbitrary strings', (_name, run) => {
    fc.assert(
      fc.property(inputs, (s) => {
        run(s);
      }),
      { numRuns: 3000 },
    );
  });

  it('a parsed URI formats to text that parses to the same URI', () => {
    fc.assert(
      fc.property(inputs, (s) => {
        const r = parseUri(s);
        if (!r.ok) return;
        const again = parseUri(formatUri(r.uri));
        if (!again.ok) throw new Error(`formatUri(${JSON.stringify(s)}) did not parse: ${again.reason}`);
        expect(again.uri).toEqual(r.uri);
      }),
      { numRuns: 3000 },
    );
  });
});
