/** What crosses between legs (issue 12): no control characters, capped lengths, a safe user part. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DISPLAY_NAME_CHARS, MAX_HEADER_VALUE_CHARS, cleanDisplayName, cleanHeaderText, cleanUser } from '../../../src/b2bua/relay-text.js';

// eslint-disable-next-line no-control-regex -- control characters are what this test looks for
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe('relay text', () => {
  it('removes CR, LF, NUL and other control characters; tabs become spaces', () => {
    expect(cleanDisplayName('Evil\r\nVia: SIP/2.0/UDP 6.6.6.6\u0000\u0007\u001b[31m\u0085\u2028 Name\tX')).toBe('EvilVia: SIP/2.0/UDP 6.6.6.6[31m Name X');
    expect(cleanHeaderText('SIP;cause=16;text="ok"\r\nX-Injected: 1')).toBe('SIP;cause=16;text="ok"X-Injected: 1');
  });

  it('caps the length, in whole characters', () => {
    expect(cleanDisplayName('a'.repeat(500))).toHaveLength(MAX_DISPLAY_NAME_CHARS);
    expect(cleanHeaderText('b'.repeat(5000))).toHaveLength(MAX_HEADER_VALUE_CHARS);
    const emoji = '😀'.repeat(100);
    expect(Array.from(cleanDisplayName(emoji) ?? '')).toHaveLength(MAX_DISPLAY_NAME_CHARS);
    expect(cleanDisplayName(emoji)).not.toMatch(/[\ud800-\udbff]$/);
  });

  it('a display name of control characters only is dropped', () => {
    expect(cleanDisplayName('\r\n\u0000')).toBeUndefined();
    expect(cleanDisplayName(undefined)).toBeUndefined();
  });

  it('a user part keeps numbers and RFC 3261 user characters; anything else is percent-encoded', () => {
    expect(cleanUser('+14155550100')).toBe('+14155550100');
    expect(cleanUser('alice.smith-1')).toBe('alice.smith-1');
    expect(cleanUser('a>b;c?d@e f\r\n')).toBe('a%3Eb%3Bc%3Fd%40e%20f%0D%0A');
    expect(cleanUser('100%25')).toBe('100%25');
    expect(cleanUser('100%')).toBe('100%25');
  });

  it('property: whatever comes in, nothing relayed has a control character or exceeds its cap', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (s) => {
        const d = cleanDisplayName(s);
        const h = cleanHeaderText(s);
        const u = cleanUser(s);
        return (
          (d === undefined || (!CONTROL.test(d) && Array.from(d).length <= MAX_DISPLAY_NAME_CHARS)) &&
          !CONTROL.test(h) &&
          Array.from(h).length <= MAX_HEADER_VALUE_CHARS &&
          /^[A-Za-z0-9\-_.!~*'()&=+$,/%]*$/.test(u)
        );
      }),
    );
  });
});
