import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DIGEST_REALM, DigestAuth, parseDigestHeader, type Credential } from '../../../src/termination/digest.js';
import { type DigestAnswer, challengeParams, proxyAuthorization } from '../../support/digest-client.js';

const CREDENTIALS: readonly Credential[] = [
  { username: 'pbx', password: 'Secret-pass-123' },
  { username: 'other', password: 'another-Pass-456' },
];
const URI = 'sip:+14155550123@acme.pstn.twilio.com';
const T0 = 1_700_000_000_000;

function setup(options: { nonceTtlMs?: number; maxTrackedNonces?: number } = {}) {
  let now = T0;
  const digest = new DigestAuth({ ...options, now: () => now });
  const { nonce, opaque } = challengeParams(digest.challenge());
  const answer = (over: Partial<DigestAnswer> = {}): string =>
    proxyAuthorization({
      username: 'pbx',
      password: 'Secret-pass-123',
      realm: DIGEST_REALM,
      method: 'INVITE',
      uri: URI,
      nonce,
      opaque,
      qop: 'auth',
      nc: 1,
      ...over,
    });
  return {
    digest,
    nonce,
    opaque,
    answer,
    advance: (ms: number) => {
      now += ms;
    },
    verify: (header: string | undefined, method = 'INVITE') => digest.verify(header, method, CREDENTIALS),
  };
}

describe('parseDigestHeader', () => {
  it('reads quoted and unquoted values into lower-case keys', () => {
    expect(
      parseDigestHeader(
        'Digest username="pbx", realm="sip.twilio.com", nonce="abc.def", uri="sip:+1@x", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz"',
      ),
    ).toEqual({
      username: 'pbx',
      realm: 'sip.twilio.com',
      nonce: 'abc.def',
      uri: 'sip:+1@x',
      response: '0123',
      algorithm: 'MD5',
      qop: 'auth',
      nc: '00000001',
      cnonce: 'xyz',
    });
  });

  it('keeps commas and equals signs inside quotes, and undoes backslash escapes', () => {
    expect(parseDigestHeader('Digest username="a, b=c", realm="say \\"hi\\"", cnonce="back\\\\slash", opaque="x"')).toEqual({
      username: 'a, b=c',
      realm: 'say "hi"',
      cnonce: 'back\\slash',
      opaque: 'x',
    });
  });

  it('treats the scheme and the keys case-insensitively, and tolerates spaces around =', () => {
    expect(parseDigestHeader('DIGEST UserName="pbx",REALM = "r" ,  Nc = 0000000a')).toEqual({
      username: 'pbx',
      realm: 'r',
      nc: '0000000a',
    });
    expect(parseDigestHeader('  digest username="pbx"')).toEqual({ username: 'pbx' });
  });

  it('returns undefined for other schemes', () => {
    expect(parseDigestHeader('Basic cGJ4OnNlY3JldA==')).toBeUndefined();
    expect(parseDigestHeader('Digestusername="pbx"')).toBeUndefined();
    expect(parseDigestHeader('')).toBeUndefined();
  });
});

describe('DigestAuth', () => {
  describe('the challenge (SPEC §4.2 check 4)', () => {
    it('has exactly the provider shape, with this instance’s opaque', () => {
      const { digest } = setup();
      const challenge = digest.challenge();
      expect(challenge).toMatch(
        /^Digest realm="sip\.twilio\.com", qop="auth", nonce="[0-9a-f]+\.[0-9a-f]{16}\.[0-9a-f]{32}", opaque="[0-9a-f]{24}", algorithm=MD5$/,
      );
      expect(challengeParams(challenge).opaque).toBe(digest.opaque);
    });

    it('appends stale=true when asked', () => {
      const { digest } = setup();
      expect(digest.challenge(true)).toMatch(
        /^Digest realm="sip\.twilio\.com", qop="auth", nonce="[^"]+", opaque="[0-9a-f]{24}", algorithm=MD5, stale=true$/,
      );
    });

    it('issues a fresh nonce every time, stamped with the issue time', () => {
      const { digest } = setup();
      const a = challengeParams(digest.challenge()).nonce;
      const b = challengeParams(digest.challenge()).nonce;
      expect(a).not.toBe(b);
      expect(parseInt(a.split('.')[0] as string, 16)).toBe(T0);
    });
  });

  describe('accepts', () => {
    it('an MD5 qop=auth answer computed per RFC 2617', () => {
      const s = setup();
      // Independent of the helper too: spell the RFC 2617 §3.2.2.1 computation out once.
      const md5 = (t: string) => createHash('md5').update(t).digest('hex');
      const ha1 = md5(`pbx:${DIGEST_REALM}:Secret-pass-123`);
      const ha2 = md5(`INVITE:${URI}`);
      const response = md5(`${ha1}:${s.nonce}:00000001:c0ffee:auth:${ha2}`);
      const header = `Digest username="pbx", realm="sip.twilio.com", nonce="${s.nonce}", uri="${URI}", response="${response}", algorithm=MD5, opaque="${s.opaque}", qop=auth, nc=00000001, cnonce="c0ffee"`;
      expect(s.verify(header)).toEqual({ ok: true, username: 'pbx' });
    });

    it('SHA-256 (RFC 8760)', () => {
      const s = setup();
      expect(s.verify(s.answer({ algorithm: 'SHA-256' }))).toEqual({ ok: true, username: 'pbx' });
    });

    it('no qop (RFC 2069 style)', () => {
      const s = setup();
      expect(s.verify(s.answer({ qop: undefined }))).toEqual({ ok: true, username: 'pbx' });
    });

    it('a quoted qop, an upper-case response, no opaque, and the second user of the list', () => {
      const s = setup();
      const header = s.answer({ username: 'other', password: 'another-Pass-456', opaque: undefined });
      const variant = header
        .replace('qop=auth', 'qop="auth"')
        .replace(/response="([0-9a-f]+)"/, (_m, r: string) => `response="${r.toUpperCase()}"`);
      expect(variant).toContain('qop="auth"');
      expect(s.verify(variant)).toEqual({ ok: true, username: 'other' });
    });

    it('a nonce up to nonceTtlMs old', () => {
      const s = setup({ nonceTtlMs: 60_000 });
      s.advance(60_000);
      expect(s.verify(s.answer())).toEqual({ ok: true, username: 'pbx' });
    });
  });

  describe('refuses, with a reason', () => {
    it.each<[string, (s: ReturnType<typeof setup>) => string, RegExp]>([
      ['a wrong password', (s) => s.answer({ password: 'secret-pass-123' }), /wrong password/],
      ['an unknown user', (s) => s.answer({ username: 'mallory' }), /unknown username/],
      ['a wrong realm', (s) => s.answer({ realm: 'example.com' }), /realm "example.com" is not sip\.twilio\.com/],
      [
        'a tampered nonce MAC',
        (s) => s.answer({ nonce: s.nonce.slice(0, -1) + (s.nonce.endsWith('0') ? '1' : '0') }),
        /nonce was not issued/,
      ],
      [
        'a nonce with a rewritten issue time',
        (s) => {
          const [, salt, mac] = s.nonce.split('.');
          return s.answer({ nonce: `${(T0 + 3_600_000).toString(16)}.${salt}.${mac}` });
        },
        /nonce was not issued/,
      ],
      [
        'a nonce of another gateway',
        (s) => s.answer({ nonce: challengeParams(new DigestAuth({ now: () => T0 }).challenge()).nonce }),
        /nonce was not issued/,
      ],
      ['a nonce of the wrong shape', (s) => s.answer({ nonce: 'abc' }), /nonce was not issued/],
      ['a foreign opaque', (s) => s.answer({ opaque: '00112233445566778899aabb' }), /opaque does not match/],
      [
        'an unsupported algorithm',
        (s) => s.answer().replace('response=', 'algorithm=MD5-sess, response='),
        /algorithm MD5-SESS is not supported/,
      ],
      ['an unsupported qop', (s) => s.answer().replace('qop=auth', 'qop=auth-int'), /qop auth-int is not supported/],
      ['qop=auth without nc', (s) => s.answer().replace(/, nc=[0-9a-f]+/, ''), /qop=auth needs nc and cnonce/],
      ['a malformed nc', (s) => s.answer().replace(/nc=[0-9a-f]+/, 'nc=1'), /qop=auth needs nc and cnonce/],
      ['a missing response', (s) => s.answer().replace(/response="[0-9a-f]+", /, ''), /lacks username, nonce, uri or response/],
      ['a Basic header', () => 'Basic cGJ4OlNlY3JldC1wYXNzLTEyMw==', /not a Digest/],
      ['an answer for another method', (s) => s.answer({ method: 'REGISTER' }), /wrong password/],
    ])('%s', (_name, make, why) => {
      const s = setup();
      const header = make(s);
      const verdict = s.verify(header);
      expect(verdict).toEqual({ ok: false, kind: 'refused', why: expect.stringMatching(why) });
    });

    it('challenges when there is no header at all', () => {
      expect(setup().verify(undefined)).toEqual({ ok: false, kind: 'challenge' });
    });
  });

  describe('stale nonces', () => {
    it('a valid answer with a nonce older than nonceTtlMs is stale (a fresh 407 with stale=true)', () => {
      const s = setup({ nonceTtlMs: 60_000 });
      s.advance(60_001);
      expect(s.verify(s.answer())).toEqual({ ok: false, kind: 'stale' });
    });

    it('the default TTL is 5 minutes', () => {
      const s = setup();
      s.advance(300_000);
      const fresh = s.verify(s.answer({ nc: 1 }));
      s.advance(1);
      expect([fresh.ok, s.verify(s.answer({ nc: 2 }))]).toEqual([true, { ok: false, kind: 'stale' }]);
    });

    it('an old nonce with a wrong password is refused, not stale (RFC 2617 §3.2.1: stale only with a valid digest)', () => {
      const s = setup({ nonceTtlMs: 60_000 });
      s.advance(120_000);
      expect(s.verify(s.answer({ password: 'guess' }))).toEqual({ ok: false, kind: 'refused', why: 'wrong password' });
    });
  });

  describe('replays', () => {
    it('the same (nonce, nc) twice is refused; a higher nc is accepted; a lower one is refused', () => {
      const s = setup();
      expect(s.verify(s.answer({ nc: 1 }))).toEqual({ ok: true, username: 'pbx' });
      expect(s.verify(s.answer({ nc: 1 }))).toEqual({ ok: false, kind: 'refused', why: 'replayed nonce count' });
      expect(s.verify(s.answer({ nc: 2, cnonce: 'another' }))).toEqual({ ok: true, username: 'pbx' });
      expect(s.verify(s.answer({ nc: 5 }))).toEqual({ ok: true, username: 'pbx' });
      expect(s.verify(s.answer({ nc: 3 }))).toEqual({ ok: false, kind: 'refused', why: 'replayed nonce count' });
    });

    it('a no-qop answer is good once per nonce', () => {
      const s = setup();
      expect(s.verify(s.answer({ qop: undefined })).ok).toBe(true);
      expect(s.verify(s.answer({ qop: undefined }))).toEqual({ ok: false, kind: 'refused', why: 'replayed nonce count' });
    });

    it('a refused attempt does not use up its nonce count', () => {
      const s = setup();
      expect(s.verify(s.answer({ nc: 1, password: 'wrong' })).ok).toBe(false);
      expect(s.verify(s.answer({ nc: 1 }))).toEqual({ ok: true, username: 'pbx' });
    });

    it('nonce counts are tracked per nonce', () => {
      const s = setup();
      const second = challengeParams(s.digest.challenge()).nonce;
      expect(s.verify(s.answer({ nc: 1 })).ok).toBe(true);
      expect(s.verify(s.answer({ nc: 1, nonce: second })).ok).toBe(true);
      expect(s.verify(s.answer({ nc: 1, nonce: second })).ok).toBe(false);
    });

    it('the most recently used nonces stay tracked when the table is full', () => {
      const s = setup({ maxTrackedNonces: 2 });
      const nonces = [s.nonce, challengeParams(s.digest.challenge()).nonce, challengeParams(s.digest.challenge()).nonce];
      for (const nonce of nonces) expect(s.verify(s.answer({ nonce })).ok).toBe(true);
      expect(s.verify(s.answer({ nonce: nonces[1] as string }))).toEqual({ ok: false, kind: 'refused', why: 'replayed nonce count' });
      expect(s.verify(s.answer({ nonce: nonces[2] as string }))).toEqual({ ok: false, kind: 'refused', why: 'replayed nonce count' });
    });
  });
});
