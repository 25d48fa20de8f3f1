/** SIP text at trace: digest responses redacted, every other byte as it was; nothing subscribed below trace. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SipTrace, redactSipText } from '../../../src/observability/sip-trace.js';
import { wireCallId } from '../../../src/sip/message/index.js';

const WITH_AUTH = [
  'INVITE sip:+14155550123@demo.pstn.twilio.com SIP/2.0',
  'Proxy-Authorization: Digest username="pbx", realm="sip.twilio.com", nonce="abc", uri="sip:+14155550123@demo.pstn.twilio.com", response="6629fae49393a05397450978507c4ef1", algorithm=MD5',
  'authorization: Digest username="pbx",response=0123abcd,nonce="n"',
  'X-Note: response="keep me"',
  'Call-ID: a@b',
  '',
  '',
].join('\r\n');

describe('redactSipText', () => {
  it('blanks the digest response of (Proxy-)Authorization only', () => {
    const out = redactSipText(WITH_AUTH);
    expect(out).not.toContain('6629fae49393a05397450978507c4ef1');
    expect(out).not.toContain('0123abcd');
    expect(out).toContain('response="<redacted>", algorithm=MD5');
    expect(out).toContain('username="pbx"');
    expect(out).toContain('X-Note: response="keep me"');
    expect(out.length).toBeLessThan(WITH_AUTH.length);
  });
});

describe('SipTrace', () => {
  it('is enabled only at trace; a line has the direction, ends, Call-ID and the redacted text', () => {
    expect(new SipTrace(pino({ level: 'debug' })).enabled).toBe(false);
    const lines: Array<Record<string, unknown>> = [];
    const trace = new SipTrace(pino({ level: 'trace' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) }));
    expect(trace.enabled).toBe(true);
    trace.write({ direction: 'in', transport: 'tcp', source: { address: '::1', port: 5062 }, destination: { address: '::1', port: 5060 }, bytes: Buffer.from(WITH_AUTH), callId: 'a@b', message: undefined });
    expect(lines[0]).toMatchObject({ level: 10, direction: 'in', transport: 'tcp', source: '[::1]:5062', destination: '[::1]:5060', callId: 'a@b', msg: 'received INVITE sip:+14155550123@demo.pstn.twilio.com SIP/2.0 (tcp [::1]:5062 -> [::1]:5060)' });
    expect(lines[0]?.['sip']).toBe(redactSipText(WITH_AUTH));
  });
});

describe('wireCallId', () => {
  it.each([
    ['Call-ID: a@b', 'a@b'],
    ['call-id:   spaced@x  ', 'spaced@x'],
    ['i: compact-1', 'compact-1'],
    ['X-Call-ID: not-this', ''],
  ])('%j', (line, id) => {
    expect(wireCallId(Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n${line}\r\nContent-Length: 0\r\n\r\n`))).toBe(id);
  });

  it('reads the header section only, not the body', () => {
    expect(wireCallId(Buffer.from('INFO sip:x SIP/2.0\r\nContent-Length: 15\r\n\r\nCall-ID: body\r\n'))).toBe('');
  });
});
