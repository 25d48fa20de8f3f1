import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DigestAlgorithm } from '../../../src/config/schema.js';
import { DIGEST_REALM, DigestAuth, parseDigestHeader, type Credential } from '../../../src/termination/digest.js';
import { type DigestAnswer, challengeParams, proxyAuthorization } from '../../support/digest-client.js';

const CREDENTIALS: readonly Credential[] = [
  { username: 'pbx', password: 'Secret-pass-123' },
  { username: 'other', password: 'another-Pass-456' },
];
const URI = 'sip:+14155550123@acme.pstn.twilio.com';
const T0 = 1_700_000_000_000;
const SOURCE = '192.0.2.10';
const MD5_ONLY: readonly DigestAlgorithm[] = ['MD5'];
const BOTH: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

function setup(options: { nonceTtlMs?: number; maxTrackedNonces?: number; algorithms?: readonly DigestAlgorithm[]; requireUriMatch?: boolean } = {}) {
  let now = T0;
  const algorithms = options.algorithms ?? BOTH;
  const check = { algorithms, requireUriMatch: options.requireUriMatch ?? true };
  const digest = new DigestAuth({ ...options, now: () => now });
  const challenge = (source = SOURCE): string => digest.challenges(source, algorithms)[0] as string;
  const { nonce, opaque } = challengeParams(challenge());
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
    challenge,
    advance: (ms: number) => {
      now += ms;
    },
    verify: (header: string | string[] | undefined, method = 'INVITE', source = SOURCE, requestUri = URI) =>
      digest.verify({ authorizations: header === undefined ? [] : [header].flat(), method, requestUri, source }, CREDENTIALS, check),
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
  describe('the challenge (SPEC §4.2 check 4, RFC 8760)', () => {
    it('has exactly the provider shape, with this instance’s opaque', () => {
      const { digest } = setup();
      const [challenge] = digest.challenges(SOURCE, MD5_ONLY);
      expect(challenge).toMatch(
        /^Digest realm="sip\.twilio\.com", qop="auth", nonce="[0-9a-f]+\.[0-9a-f]{16}\.[0-9a-f]{32}", opaque="[0-9a-f]{24}", algorithm=MD5$/,
      );
      expect(challengeParams(challenge as string).opaque).toBe(digest.opaque);
    });

    it('one challenge per algorithm offered, in the order given (SHA-256 first), with one nonce', () => {
      const { digest } = setup();
      const challenges = digest.challenges(SOURCE, BOTH);
      expect(challenges.map((c) => /algorithm=([A-Z0-9-]+)/.exec(c)?.[1])).toEqual(['SHA-256', 'MD5']);
      expect(new Set(challenges.map((c) => challengeParams(c).nonce)).size).toBe(1);
    });

    it('appends stale=true when asked', () => {
      const { digest } = setup();
      expect(digest.challenges(SOURCE, MD5_ONLY, true)[0]).toMatch(
        /^Digest realm="sip\.twilio\.com", qop="auth", nonce="[^"]+", opaque="[0-9a-f]{24}", algorithm=MD5, stale=true$/,
      );
    });

    it('issues a fresh nonce every time, stamped with the issue time', () => {
      const s = setup();
      const a = challengeParams(s.challenge()).nonce;
      const b = challengeParams(s.challenge()).nonce;
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

    it('SHA-256 (RFC 8760) when offered', () => {
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

    it('a digest uri that differs from the Request-URI only in the case of scheme and host', () => {
      const s = setup();
      expect(s.verify(s.answer({ uri: 'SIP:+14155550123@ACME.pstn.twilio.com' }))).toEqual({ ok: true, username: 'pbx' });
    });

    it('among several Proxy-Authorization headers (one per challenge), the first with an offered algorithm', () => {
      const s = setup({ algorithms: MD5_ONLY });
      const foreign = s.answer({ realm: 'other.example', password: 'x' });
      const sha = s.answer({ algorithm: 'SHA-256' });
      expect(s.verify([foreign, sha, s.answer({ algorithm: 'MD5', cnonce: 'abc' })])).toEqual({ ok: true, username: 'pbx' });
    });
  });

  describe('refuses, with a reason and whether it was a password guess', () => {
    it.each<[string, (s: ReturnType<typeof setup>) => string, RegExp, boolean]>([
      ['a wrong password', (s) => s.answer({ password: 'secret-pass-123' }), /wrong password/, true],
      ['an unknown user', (s) => s.answer({ username: 'mallory' }), /unknown username/, true],
      ['a wrong realm', (s) => s.answer({ realm: 'example.com' }), /realm "example.com" is not sip\.twilio\.com/, false],
      [
        'a tampered nonce MAC',
        (s) => s.answer({ nonce: s.nonce.slice(0, -1) + (s.nonce.endsWith('0') ? '1' : '0') }),
        /nonce was not issued/,
        false,
      ],
      [
        'a nonce with a rewritten issue time',
        (s) => {
          const [, salt, mac] = s.nonce.split('.');
          return s.answer({ nonce: `${(T0 + 3_600_000).toString(16)}.${salt}.${mac}` });
        },
        /nonce was not issued/,
        false,
      ],
      [
        'a nonce of another gateway',
        (s) => s.answer({ nonce: challengeParams(new DigestAuth({ now: () => T0 }).challenges(SOURCE, MD5_ONLY)[0] as string).nonce }),
        /nonce was not issued/,
        false,
      ],
      ['a nonce issued to another address', (s) => s.answer({ nonce: challengeParams(s.challenge('198.51.100.7')).nonce }), /nonce was not issued by this gateway to this address/, false],
      ['a nonce of the wrong shape', (s) => s.answer({ nonce: 'abc' }), /nonce was not issued/, false],
      ['a foreign opaque', (s) => s.answer({ opaque: '00112233445566778899aabb' }), /opaque does not match/, false],
      ['a digest uri that is not the Request-URI', (s) => s.answer({ uri: 'sip:+14155550199@acme.pstn.twilio.com' }), /digest uri is not the Request-URI/, true],
      [
        'an unsupported algorithm',
        (s) => s.answer().replace('response=', 'algorithm=MD5-sess, response='),
        /algorithm MD5-SESS is not offered/,
        true,
      ],
      ['an unsupported qop', (s) => s.answer().replace('qop=auth', 'qop=auth-int'), /qop auth-int is not supported/, true],
      ['qop=auth without nc', (s) => s.answer().replace(/, nc=[0-9a-f]+/, ''), /qop=auth needs nc and cnonce/, true],
      ['a malformed nc', (s) => s.answer().replace(/nc=[0-9a-f]+/, 'nc=1'), /qop=auth needs nc and cnonce/, true],
      ['a missing response', (s) => s.answer().replace(/response="[0-9a-f]+", /, ''), /lacks username, nonce, uri or response/, false],
      ['a Basic header', () => 'Basic cGJ4OlNlY3JldC1wYXNzLTEyMw==', /not a Digest/, false],
      ['an answer for another method', (s) => s.answer({ method: 'REGISTER' }), /wrong password/, true],
    ])('%s', (_name, make, why, guess) => {
      const s = setup();
      const verdict = s.verify(make(s));
      expect(verdict).toEqual({ ok: false, kind: 'refused', why: expect.stringMatching(why), guess: guess ? { username: expect.any(String) } : undefined });
    });

    it('with requireUriMatch off, a digest uri naming the gateway (SIPp 3.6 without -auth_uri) is taken', () => {
      const s = setup({ requireUriMatch: false });
      expect(s.verify(s.answer({ uri: 'sip:127.0.0.1:5060' }))).toEqual({ ok: true, username: 'pbx' });
    });

    it('an algorithm that was not offered (SHA-256 when only MD5 is)', () => {
      const s = setup({ algorithms: MD5_ONLY });
      expect(s.verify(s.answer({ algorithm: 'SHA-256' }))).toEqual({
        ok: false,
        kind: 'refused',
        why: 'algorithm SHA-256 is not offered (offered: MD5)',
        guess: { username: 'pbx' },
      });
    });

    it('challenges when there is no header at all', () => {
      expect(setup().verify(undefined)).toEqual({ ok: false, kind: 'challenge' });
    });
  });

  describe('a failed response uses up its nonce (no guessing against one challenge)', () => {
    it('after a wrong password, even the right one is refused with that nonce: a new challenge is needed', () => {
      const s = setup();
      expect(s.verify(s.answer({ password: 'guess-1' }))).toMatchObject({ ok: false, kind: 'refused', why: 'wrong password' });
      expect(s.verify(s.answer({ nc: 2 }))).toEqual({
        ok: false,
        kind: 'refused',
        why: 'nonce already used by a failed attempt: a new challenge is needed',
        guess: { username: 'pbx' },
      });
      const fresh = challengeParams(s.challenge()).nonce;
      expect(s.verify(s.answer({ nonce: fresh }))).toEqual({ ok: true, username: 'pbx' });
    });

    it('1,500 guesses against one nonce: only the first gets its password checked', () => {
      const s = setup();
      const whys = new Map<string, number>();
      for (let i = 0; i < 1500; i++) {
        const v = s.verify(s.answer({ password: i === 1499 ? 'Secret-pass-123' : `guess-${i}`, nc: i + 1 }));
        const why = v.ok ? 'admitted' : v.kind === 'refused' ? v.why : v.kind;
        whys.set(why, (whys.get(why) ?? 0) + 1);
      }
      expect(Object.fromEntries(whys)).toEqual({ 'wrong password': 1, 'nonce already used by a failed attempt: a new challenge is needed': 1499 });
    });
  });

  describe('the nonce is checked before the password', () => {
    it('an expired nonce is stale whatever the password (no oracle): the right one and a wrong one get the same answer', () => {
      const s = setup({ nonceTtlMs: 60_000 });
      s.advance(60_001);
      expect(s.verify(s.answer())).toEqual({ ok: false, kind: 'stale' });
      expect(s.verify(s.answer({ password: 'guess' }))).toEqual({ ok: false, kind: 'stale' });
    });

    it('the default TTL is 5 minutes', () => {
      const s = setup();
      s.advance(300_000);
      const fresh = s.verify(s.answer({ nc: 1 }));
      s.advance(1);
      expect([fresh.ok, s.verify(s.answer({ nc: 2 }))]).toEqual([true, { ok: false, kind: 'stale' }]);
    });

    it('a forged nonce is refused before the password is looked at (a right password does not help)', () => {
      const s = setup();
      const forged = s.nonce.slice(0, -1) + (s.nonce.endsWith('0') ? '1' : '0');
      expect(s.verify(s.answer({ nonce: forged }))).toMatchObject({ why: 'nonce was not issued by this gateway to this address', guess: undefined });
    });
  });

  describe('replays', () => {
    it('the same (nonce, nc) twice is refused; a higher nc is accepted; a lower one is refused', () => {
      const s = setup();
      const replay = { ok: false, kind: 'refused', why: 'replayed nonce count', guess: undefined };
      expect(s.verify(s.answer({ nc: 1 }))).toEqual({ ok: true, username: 'pbx' });
      expect(s.verify(s.answer({ nc: 1 }))).toEqual(replay);
      expect(s.verify(s.answer({ nc: 2, cnonce: 'another' }))).toEqual({ ok: true, username: 'pbx' });
      expect(s.verify(s.answer({ nc: 5 }))).toEqual({ ok: true, username: 'pbx' });
      expect(s.verify(s.answer({ nc: 3 }))).toEqual(replay);
    });

    it('a no-qop answer is good once per nonce', () => {
      const s = setup();
      expect(s.verify(s.answer({ qop: undefined })).ok).toBe(true);
      expect(s.verify(s.answer({ qop: undefined }))).toMatchObject({ ok: false, kind: 'refused', why: 'replayed nonce count' });
    });

    it('nonce counts are tracked per nonce', () => {
      const s = setup();
      const second = challengeParams(s.challenge()).nonce;
      expect(s.verify(s.answer({ nc: 1 })).ok).toBe(true);
      expect(s.verify(s.answer({ nc: 1, nonce: second })).ok).toBe(true);
      expect(s.verify(s.answer({ nc: 1, nonce: second })).ok).toBe(false);
    });

    it('the most recently used nonces stay tracked when the table is full', () => {
      const s = setup({ maxTrackedNonces: 2 });
      const nonces = [s.nonce, challengeParams(s.challenge()).nonce, challengeParams(s.challenge()).nonce];
      for (const nonce of nonces) expect(s.verify(s.answer({ nonce })).ok).toBe(true);
      expect(s.verify(s.answer({ nonce: nonces[1] as string }))).toMatchObject({ ok: false, kind: 'refused', why: 'replayed nonce count' });
      expect(s.verify(s.answer({ nonce: nonces[2] as string }))).toMatchObject({ ok: false, kind: 'refused', why: 'replayed nonce count' });
    });
  });
});
