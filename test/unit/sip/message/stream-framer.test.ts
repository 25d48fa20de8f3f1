/**
 * Framing SIP messages out of a TCP byte stream (RFC 3261 §18.3) and the
 * double-CRLF keep-alive (RFC 5626 §3.5.1).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type FramerLimits, type FramerSink, StreamFramer, parseMessage } from '../../../../src/sip/message/index.js';

/** A sink that records what the framer reports. */
class Recorder implements FramerSink {
  readonly messages: Buffer[] = [];
  pings = 0;
  readonly errors: { reason: string; status: 400 | 513; head: Buffer | undefined }[] = [];
  /** Everything reported, in order. */
  readonly events: string[] = [];

  message(buf: Buffer): void {
    // copy: the framer hands out views of buffers it may drop
    this.messages.push(Buffer.from(buf));
    this.events.push('message');
  }

  ping(): void {
    this.pings++;
    this.events.push('ping');
  }

  error(reason: string, status: 400 | 513, head: Buffer | undefined): void {
    this.errors.push({ reason, status, head: head === undefined ? undefined : Buffer.from(head) });
    this.events.push('error');
  }
}

const LIMITS: FramerLimits = { maxHeaderBytes: 4096, maxBodyBytes: 8192 };

function framer(limits: FramerLimits = LIMITS): { f: StreamFramer; rec: Recorder } {
  const rec = new Recorder();
  return { f: new StreamFramer(limits, rec), rec };
}

function sipMessage(callId: string, body = '', clHeader = 'Content-Length'): Buffer {
  return Buffer.from(
    [
      'OPTIONS sip:bob@example.net SIP/2.0',
      'Via: SIP/2.0/TCP pbx.example.com;branch=z9hG4bK' + callId,
      'From: <sip:alice@example.com>;tag=1',
      'To: <sip:bob@example.net>',
      `Call-ID: ${callId}`,
      'CSeq: 1 OPTIONS',
      `${clHeader}: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}

const A = sipMessage('first', 'v=0\r\n\r\nbody with an empty line\r\n');
const B = sipMessage('second');

describe('StreamFramer: messages', () => {
  it('frames one message pushed whole', () => {
    const { f, rec } = framer();
    f.push(A);
    expect(rec.messages).toEqual([A]);
    expect(f.bufferedBytes).toBe(0);
  });

  it('frames several messages in one chunk, bodies by Content-Length', () => {
    const { f, rec } = framer();
    f.push(Buffer.concat([A, B, A]));
    expect(rec.messages).toEqual([A, B, A]);
    expect(rec.pings).toBe(0);
    expect(rec.errors).toEqual([]);
  });

  it('frames a two-message stream split at every possible point', () => {
    const stream = Buffer.concat([A, B]);
    for (let at = 0; at <= stream.length; at++) {
      const { f, rec } = framer();
      f.push(stream.subarray(0, at));
      f.push(stream.subarray(at));
      expect(rec.messages, `split at ${at}`).toEqual([A, B]);
      expect(rec.pings + rec.errors.length, `split at ${at}`).toBe(0);
      expect(f.bufferedBytes).toBe(0);
    }
  });

  it('frames a stream fed one byte at a time', () => {
    const stream = Buffer.concat([A, Buffer.from('\r\n\r\n'), B]);
    const { f, rec } = framer();
    for (let i = 0; i < stream.length; i++) f.push(stream.subarray(i, i + 1));
    expect(rec.messages).toEqual([A, B]);
    expect(rec.pings).toBe(1);
  });

  it('holds an incomplete message and reports how much is buffered', () => {
    const { f, rec } = framer();
    f.push(A.subarray(0, 40));
    expect(rec.messages).toHaveLength(0);
    expect(f.bufferedBytes).toBe(40);
    f.push(A.subarray(40, A.length - 1));
    expect(rec.messages).toHaveLength(0);
    expect(f.bufferedBytes).toBe(A.length - 1);
    f.push(A.subarray(A.length - 1));
    expect(rec.messages).toEqual([A]);
    expect(f.bufferedBytes).toBe(0);
  });

  it('reads the compact "l:" and any capitalization of Content-Length', () => {
    for (const name of ['l', 'L', 'content-length', 'CONTENT-LENGTH', 'Content-Length ']) {
      const m = sipMessage('c', 'hello', name);
      const { f, rec } = framer();
      f.push(Buffer.concat([m, B]));
      expect(rec.messages, name).toEqual([m, B]);
    }
  });

  it('a message without Content-Length has an empty body', () => {
    const noCl = Buffer.from('OPTIONS sip:bob@example.net SIP/2.0\r\nCall-ID: x\r\n\r\n');
    const { f, rec } = framer();
    f.push(Buffer.concat([noCl, B]));
    expect(rec.messages).toEqual([noCl, B]);
  });

  it('framed messages parse as stream messages', () => {
    const { f, rec } = framer();
    f.push(Buffer.concat([A, B]));
    const parsed = rec.messages.map((m) => parseMessage(m, { stream: true }));
    expect(parsed.map((p) => p.ok && p.message.callId)).toEqual(['first', 'second']);
    expect(parsed.map((p) => p.ok && p.message.body.toString())).toEqual(['v=0\r\n\r\nbody with an empty line\r\n', '']);
  });

  it('RFC 4475 clerr over a stream: waits for the body instead of failing', () => {
    const clerr = readFileSync(new URL('../../../fixtures/rfc4475/clerr.dat', import.meta.url));
    const { f, rec } = framer({ maxHeaderBytes: 4096, maxBodyBytes: 65535 });
    f.push(clerr);
    expect(rec.messages).toHaveLength(0);
    expect(rec.errors).toHaveLength(0);
    expect(f.bufferedBytes).toBe(clerr.length);
    const headerLength = clerr.indexOf('\r\n\r\n') + 4;
    f.push(Buffer.alloc(headerLength + 9999 - clerr.length, 0x20));
    expect(rec.messages).toHaveLength(1);
    expect(rec.messages[0]?.length).toBe(headerLength + 9999);
  });
});

describe('StreamFramer: keep-alives (RFC 5626 §3.5.1)', () => {
  it('a double CRLF between messages is one ping, reported in order', () => {
    const { f, rec } = framer();
    f.push(Buffer.concat([A, Buffer.from('\r\n\r\n'), B]));
    expect(rec.pings).toBe(1);
    expect(rec.events).toEqual(['message', 'ping', 'message']);
    expect(rec.messages).toEqual([A, B]);
  });

  it('a double CRLF on an idle connection is a ping; two are two', () => {
    const { f, rec } = framer();
    f.push(Buffer.from('\r\n\r\n'));
    expect(rec.pings).toBe(1);
    f.push(Buffer.from('\r\n\r\n\r\n\r\n'));
    expect(rec.pings).toBe(3);
    expect(rec.messages).toHaveLength(0);
    expect(f.bufferedBytes).toBe(0);
  });

  it('a single CRLF between messages is skipped without a ping', () => {
    const { f, rec } = framer();
    f.push(Buffer.concat([A, Buffer.from('\r\n'), B, Buffer.from('\r\n')]));
    expect(rec.messages).toEqual([A, B]);
    expect(rec.pings).toBe(0);
    f.push(B);
    expect(rec.messages).toEqual([A, B, B]);
    expect(rec.pings).toBe(0);
  });

  it.each([1, 2, 3])('a ping split after byte %i across chunks is still one ping', (at) => {
    const ping = Buffer.from('\r\n\r\n');
    const { f, rec } = framer();
    f.push(ping.subarray(0, at));
    expect(rec.pings).toBe(0);
    f.push(ping.subarray(at));
    expect(rec.pings).toBe(1);
    f.push(B);
    expect(rec.messages).toEqual([B]);
  });

  it('a ping split across three chunks after a message', () => {
    const { f, rec } = framer();
    f.push(Buffer.concat([A, Buffer.from('\r')]));
    f.push(Buffer.from('\n\r'));
    f.push(Buffer.concat([Buffer.from('\n'), B]));
    expect(rec.events).toEqual(['message', 'ping', 'message']);
  });
});

describe('StreamFramer: faults close the stream', () => {
  it('a Content-Length over maxBodyBytes: error 513 with the header section', () => {
    const big = sipMessage('big', 'x'.repeat(100));
    const { f, rec } = framer({ maxHeaderBytes: 4096, maxBodyBytes: 99 });
    f.push(Buffer.concat([B, big]));
    expect(rec.messages).toEqual([B]);
    expect(rec.errors).toHaveLength(1);
    const e = rec.errors[0];
    expect(e?.status).toBe(513);
    expect(e?.reason).toBe('Content-Length 100 exceeds 99');
    expect(e?.head).toEqual(big.subarray(0, big.indexOf('\r\n\r\n') + 4));
    // the head alone announces a body it lacks; its partial message is what a 513 is built from
    const head = parseMessage(e?.head ?? Buffer.alloc(0), { stream: true });
    expect(head.ok).toBe(false);
    expect(head.ok ? undefined : head.partial?.callId).toBe('big');
    expect(f.bufferedBytes).toBe(0);
  });

  it('after an error, further data is ignored', () => {
    const { f, rec } = framer({ maxHeaderBytes: 4096, maxBodyBytes: 1 });
    f.push(sipMessage('big', 'xx'));
    f.push(B);
    f.push(Buffer.from('\r\n\r\n'));
    expect(rec.errors).toHaveLength(1);
    expect(rec.messages).toHaveLength(0);
    expect(rec.pings).toBe(0);
  });

  it('an unterminated header section over maxHeaderBytes: error 400', () => {
    const { f, rec } = framer({ maxHeaderBytes: 100, maxBodyBytes: 100 });
    f.push(Buffer.from('OPTIONS sip:bob@example.net SIP/2.0\r\n'));
    expect(rec.errors).toHaveLength(0);
    f.push(Buffer.from('X-Filler: ' + 'y'.repeat(80) + '\r\n'));
    expect(rec.errors).toEqual([{ reason: 'header section exceeds 100 bytes', status: 400, head: undefined }]);
  });

  it('a terminated header section over maxHeaderBytes: error 400', () => {
    const { f, rec } = framer({ maxHeaderBytes: 100, maxBodyBytes: 100 });
    f.push(B);
    expect(rec.errors.map((e) => [e.status, e.reason])).toEqual([[400, 'header section exceeds 100 bytes']]);
    expect(rec.messages).toHaveLength(0);
  });

  it('conflicting Content-Length values: error 400', () => {
    const m = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\nl: 3\r\n\r\nabc');
    const { f, rec } = framer();
    f.push(m);
    expect(rec.errors.map((e) => [e.status, e.reason])).toEqual([[400, 'conflicting Content-Length headers']]);
    expect(rec.messages).toHaveLength(0);
  });

  it('equal repeated Content-Length values frame normally', () => {
    const m = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\nl: 2\r\n\r\nab');
    const { f, rec } = framer();
    f.push(m);
    expect(rec.messages).toEqual([m]);
  });

  it.each(['-1', 'abc', '12345678901', ''])('a Content-Length of %j: error 400', (value) => {
    const { f, rec } = framer();
    f.push(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nContent-Length: ${value}\r\n\r\n`));
    expect(rec.errors.map((e) => [e.status, e.reason])).toEqual([[400, 'Content-Length is not a non-negative integer']]);
  });
});
