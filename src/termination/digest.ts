/**
 * Digest authentication of INVITEs (SPEC §4.2 checks 4 and 4b; RFC 3261
 * §22.3, RFC 2617 qop=auth, RFC 8760 SHA-256), hardened against online
 * password guessing (issue 12):
 *
 * - Nonces are stateless: `<issued ms, hex>.<random>.<hmac>`, the HMAC over
 *   the issue time, the random part and the address the challenge went to,
 *   so a nonce is good only from that address (a spoofed source cannot use
 *   someone else's).
 * - Everything about the nonce is checked before the password: its integrity,
 *   its age (an expired nonce gets a fresh 407 with stale=true, whatever the
 *   password, so it is no guessing oracle), and whether a failed attempt has
 *   already used it up (the next attempt needs a new challenge).
 * - The digest `uri` must be the Request-URI (RFC 2617 §3.2.2.5; unless
 *   `requireUriMatch` is off); the algorithm must be one offered.
 * - Each (nonce, nc) is accepted once (replays are refused).
 *
 * The verdict says whether a refusal was a password guess (an authentic,
 * fresh nonce issued to that address): those are what the ban counts
 * (digest-guard.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DigestAlgorithm } from '../config/schema.js';

export const DIGEST_REALM = 'sip.twilio.com';

export interface Credential {
  username: string;
  password: string;
}

export type DigestVerdict =
  | { ok: true; username: string }
  /** No credentials: challenge. */
  | { ok: false; kind: 'challenge' }
  /** The nonce expired: challenge again with stale=true. */
  | { ok: false; kind: 'stale' }
  /**
   * Wrong password, unknown user, forged or used-up nonce, replay, malformed
   * header. `guess` is set when the attempt used an authentic, fresh nonce
   * issued to its source: a password guess, with the username it named.
   */
  | { ok: false; kind: 'refused'; why: string; guess: { username: string } | undefined };

/** How answers are checked: the algorithms offered, and whether the digest `uri` must be the Request-URI. */
export interface DigestCheck {
  algorithms: readonly DigestAlgorithm[];
  /** RFC 2617 §3.2.2.5 (default in the config: true). SIPp 3.6 puts sip:<our IP>:<port> there unless given -auth_uri. */
  requireUriMatch: boolean;
}

/** What `verify` reads from the request. */
export interface DigestAttempt {
  /** Every Proxy-Authorization value of the request, in order. */
  authorizations: readonly string[];
  method: string;
  /** The Request-URI as it appeared on the request line. */
  requestUri: string;
  /** The source IP address (the nonce must have been issued to it). */
  source: string;
}

export interface DigestOptions {
  nonceTtlMs?: number;
  /** How many nonces' state (nonce count, or used up) to remember. */
  maxTrackedNonces?: number;
  now?: () => number;
}

const HEADER_PARAM = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;

/** Parse `Digest k="v", k=v, …` into lower-case keys. Undefined when not a Digest header. */
export function parseDigestHeader(value: string): Record<string, string> | undefined {
  const m = /^\s*Digest\s+/i.exec(value);
  if (m === null) return undefined;
  const out: Record<string, string> = {};
  HEADER_PARAM.lastIndex = m[0].length;
  for (let p = HEADER_PARAM.exec(value); p !== null; p = HEADER_PARAM.exec(value)) {
    out[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] as string);
  }
  return out;
}

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text)
    .digest('hex');
}

function algorithmOf(name: string | undefined): DigestAlgorithm | undefined {
  const upper = (name ?? 'MD5').toUpperCase();
  return upper === 'MD5' ? 'MD5' : upper === 'SHA-256' ? 'SHA-256' : undefined;
}

/** A nonce's state: the highest nonce count accepted, or USED_UP after a failed attempt. */
const USED_UP = -1;

export class DigestAuth {
  private readonly secret = randomBytes(32);
  readonly opaque = randomBytes(12).toString('hex');
  readonly nonceTtlMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;
  /** nonce → highest nc accepted, or USED_UP (insertion order = age, for eviction). */
  private readonly nonces = new Map<string, number>();

  constructor(options: DigestOptions = {}) {
    this.nonceTtlMs = options.nonceTtlMs ?? 300_000;
    this.maxTracked = options.maxTrackedNonces ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** A new nonce for a challenge sent to `source`: `<issued ms, hex>.<random>.<hmac>`. */
  newNonce(source: string): string {
    const issued = Math.floor(this.now()).toString(16);
    const salt = randomBytes(8).toString('hex');
    return `${issued}.${salt}.${this.mac(issued, salt, source)}`;
  }

  private mac(issued: string, salt: string, source: string): string {
    return createHmac('sha256', this.secret).update(`${issued}.${salt}.${source.toLowerCase()}`).digest('hex').slice(0, 32);
  }

  /**
   * The Proxy-Authenticate values of a 407 (SPEC §4.2 check 4): one per
   * algorithm, in the order given (RFC 8760 §2.4: the preferred first), all
   * with the same nonce, bound to `source`.
   */
  challenges(source: string, algorithms: readonly DigestAlgorithm[], stale = false): string[] {
    const nonce = this.newNonce(source);
    return algorithms.map((algorithm) => `Digest realm="${DIGEST_REALM}", qop="auth", nonce="${nonce}", opaque="${this.opaque}", algorithm=${algorithm}${stale ? ', stale=true' : ''}`);
  }

  /**
   * The Proxy-Authorization to check among several (a client may answer each
   * challenge): the first for our realm with an algorithm we offer, else the
   * first for our realm, else the first.
   */
  static pick(authorizations: readonly string[], algorithms: readonly DigestAlgorithm[]): string | undefined {
    let ours: string | undefined;
    for (const value of authorizations) {
      const p = parseDigestHeader(value);
      if (p === undefined || p['realm'] !== DIGEST_REALM) continue;
      const algorithm = algorithmOf(p['algorithm']);
      if (algorithm !== undefined && algorithms.includes(algorithm)) return value;
      ours ??= value;
    }
    return ours ?? authorizations[0];
  }

  /** Check the Proxy-Authorization of a request against the credentials. */
  verify(attempt: DigestAttempt, credentials: readonly Credential[], check: DigestCheck): DigestVerdict {
    const algorithms = check.algorithms;
    const authorization = DigestAuth.pick(attempt.authorizations, algorithms);
    if (authorization === undefined) return { ok: false, kind: 'challenge' };
    const p = parseDigestHeader(authorization);
    if (p === undefined) return refused('not a Digest Proxy-Authorization');
    const { username, realm, nonce, uri, response } = p;
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return refused('Proxy-Authorization lacks username, nonce, uri or response');
    }
    if (realm !== DIGEST_REALM) return refused(`realm "${realm ?? ''}" is not ${DIGEST_REALM}`);
    if (p['opaque'] !== undefined && p['opaque'] !== this.opaque) return refused('opaque does not match');
    // The nonce, before anything about the password: issued by us, to this address …
    const parts = nonce.split('.');
    if (parts.length !== 3 || !safeEqual(this.mac(parts[0] as string, parts[1] as string, attempt.source), parts[2] as string)) {
      return refused('nonce was not issued by this gateway to this address');
    }
    // … not expired (a fresh challenge, whatever the password: no oracle) …
    const issued = parseInt(parts[0] as string, 16);
    if (!Number.isFinite(issued) || this.now() - issued > this.nonceTtlMs) return { ok: false, kind: 'stale' };
    // … and not used up by a failed attempt. From here on a refusal is a password guess.
    const state = this.nonces.get(nonce);
    const guess = { username };
    if (state === USED_UP) return refused('nonce already used by a failed attempt: a new challenge is needed', guess);
    const fail = (why: string): DigestVerdict => {
      this.remember(nonce, USED_UP);
      return refused(why, guess);
    };
    if (check.requireUriMatch && !sameUri(uri, attempt.requestUri)) return fail('digest uri is not the Request-URI');
    const algorithm = algorithmOf(p['algorithm']);
    if (algorithm === undefined || !algorithms.includes(algorithm)) {
      return fail(`algorithm ${(p['algorithm'] ?? 'MD5').toUpperCase()} is not offered (offered: ${algorithms.join(', ')})`);
    }
    const qop = p['qop'];
    let nc = 0;
    let ncText = '';
    let cnonce = '';
    if (qop !== undefined) {
      if (qop.toLowerCase() !== 'auth') return fail(`qop ${qop} is not supported`);
      ncText = p['nc'] ?? '';
      cnonce = p['cnonce'] ?? '';
      if (cnonce === '' || !/^[0-9a-fA-F]{8}$/.test(ncText)) return fail('qop=auth needs nc and cnonce');
      nc = parseInt(ncText, 16);
    }
    const credential = credentials.find((c) => c.username === username);
    if (credential === undefined) return fail('unknown username');
    const ha1 = hash(algorithm, `${username}:${DIGEST_REALM}:${credential.password}`);
    const ha2 = hash(algorithm, `${attempt.method}:${uri}`);
    const expected = qop === undefined ? hash(algorithm, `${ha1}:${nonce}:${ha2}`) : hash(algorithm, `${ha1}:${nonce}:${ncText}:${cnonce}:${qop}:${ha2}`);
    if (!safeEqual(expected, response.toLowerCase())) return fail('wrong password');
    // Replay: each nonce count may be used once, and must grow (a right answer sent again: not a guess).
    if (state !== undefined && nc <= state) return refused('replayed nonce count');
    this.remember(nonce, nc);
    return { ok: true, username };
  }

  private remember(nonce: string, state: number): void {
    this.nonces.delete(nonce);
    this.nonces.set(nonce, state);
    if (this.nonces.size > this.maxTracked) {
      const oldest = this.nonces.keys().next().value;
      if (oldest !== undefined) this.nonces.delete(oldest);
    }
  }
}

function refused(why: string, guess?: { username: string }): DigestVerdict {
  return { ok: false, kind: 'refused', why, guess };
}

/** RFC 2617 §3.2.2.5: the digest-uri names the Request-URI (compared as written, scheme and host case-insensitively). */
function sameUri(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const at = (u: string): [string, string] => {
    const i = u.indexOf('@');
    return i === -1 ? ['', u.toLowerCase()] : [u.slice(0, i).replace(/^sips?:/i, (s) => s.toLowerCase()), u.slice(i).toLowerCase()];
  };
  const [a1, a2] = at(digestUri);
  const [b1, b2] = at(requestUri);
  return a1 === b1 && a2 === b2;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
