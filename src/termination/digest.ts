/**
 * Digest authentication of INVITEs (SPEC §4.2 checks 4 and 4b; RFC 3261
 * §22.3, RFC 2617 qop=auth, RFC 8760 SHA-256). Nonces are stateless (an
 * HMAC over their issue time), expire after `nonceTtlMs` (a fresh 407 with
 * stale=true), and each (nonce, nc) is accepted once (replays are refused).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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
  /** Wrong password, unknown user, forged nonce, replay, malformed header. */
  | { ok: false; kind: 'refused'; why: string };

export interface DigestOptions {
  nonceTtlMs?: number;
  /** How many nonces' nonce-counts to remember for replay detection. */
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

function hash(algorithm: 'MD5' | 'SHA-256', text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text)
    .digest('hex');
}

export class DigestAuth {
  private readonly secret = randomBytes(32);
  readonly opaque = randomBytes(12).toString('hex');
  private readonly nonceTtlMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;
  /** nonce → highest nc accepted (insertion order = age, for eviction). */
  private readonly seen = new Map<string, number>();

  constructor(options: DigestOptions = {}) {
    this.nonceTtlMs = options.nonceTtlMs ?? 300_000;
    this.maxTracked = options.maxTrackedNonces ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** A new nonce: `<issued ms, hex>.<random>.<hmac>`. */
  newNonce(): string {
    const issued = Math.floor(this.now()).toString(16);
    const salt = randomBytes(8).toString('hex');
    return `${issued}.${salt}.${this.mac(`${issued}.${salt}`)}`;
  }

  private mac(text: string): string {
    return createHmac('sha256', this.secret).update(text).digest('hex').slice(0, 32);
  }

  /** The Proxy-Authenticate value of a 407 (SPEC §4.2 check 4). */
  challenge(stale = false): string {
    return `Digest realm="${DIGEST_REALM}", qop="auth", nonce="${this.newNonce()}", opaque="${this.opaque}", algorithm=MD5${stale ? ', stale=true' : ''}`;
  }

  /** Check the Proxy-Authorization of a request against the credentials. */
  verify(authorization: string | undefined, method: string, credentials: readonly Credential[]): DigestVerdict {
    if (authorization === undefined) return { ok: false, kind: 'challenge' };
    const p = parseDigestHeader(authorization);
    if (p === undefined) return { ok: false, kind: 'refused', why: 'not a Digest Proxy-Authorization' };
    const { username, realm, nonce, uri, response } = p;
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return { ok: false, kind: 'refused', why: 'Proxy-Authorization lacks username, nonce, uri or response' };
    }
    if (realm !== DIGEST_REALM) return { ok: false, kind: 'refused', why: `realm "${realm ?? ''}" is not ${DIGEST_REALM}` };
    if (p['opaque'] !== undefined && p['opaque'] !== this.opaque) return { ok: false, kind: 'refused', why: 'opaque does not match' };
    const parts = nonce.split('.');
    if (parts.length !== 3 || !safeEqual(this.mac(`${parts[0]}.${parts[1]}`), parts[2] as string)) {
      return { ok: false, kind: 'refused', why: 'nonce was not issued by this gateway' };
    }
    const algorithmName = (p['algorithm'] ?? 'MD5').toUpperCase();
    const algorithm = algorithmName === 'MD5' ? 'MD5' : algorithmName === 'SHA-256' ? 'SHA-256' : undefined;
    if (algorithm === undefined) return { ok: false, kind: 'refused', why: `algorithm ${algorithmName} is not supported` };
    const credential = credentials.find((c) => c.username === username);
    if (credential === undefined) return { ok: false, kind: 'refused', why: 'unknown username' };
    const ha1 = hash(algorithm, `${username}:${DIGEST_REALM}:${credential.password}`);
    const ha2 = hash(algorithm, `${method}:${uri}`);
    const qop = p['qop'];
    let expected: string;
    let nc = 0;
    if (qop === undefined) {
      expected = hash(algorithm, `${ha1}:${nonce}:${ha2}`);
    } else if (qop.toLowerCase() === 'auth') {
      const ncText = p['nc'];
      const cnonce = p['cnonce'];
      if (ncText === undefined || cnonce === undefined || !/^[0-9a-fA-F]{8}$/.test(ncText)) {
        return { ok: false, kind: 'refused', why: 'qop=auth needs nc and cnonce' };
      }
      nc = parseInt(ncText, 16);
      expected = hash(algorithm, `${ha1}:${nonce}:${ncText}:${cnonce}:${qop}:${ha2}`);
    } else {
      return { ok: false, kind: 'refused', why: `qop ${qop} is not supported` };
    }
    if (!safeEqual(expected, response.toLowerCase())) return { ok: false, kind: 'refused', why: 'wrong password' };
    // Stale only with a valid digest: the client knows the password and may just retry (RFC 2617 §3.2.1).
    const issued = parseInt(parts[0] as string, 16);
    if (!Number.isFinite(issued) || this.now() - issued > this.nonceTtlMs) return { ok: false, kind: 'stale' };
    // Replay: each nonce count may be used once, and must grow.
    const last = this.seen.get(nonce);
    if (last !== undefined && nc <= last) return { ok: false, kind: 'refused', why: 'replayed nonce count' };
    this.remember(nonce, nc);
    return { ok: true, username };
  }

  private remember(nonce: string, nc: number): void {
    this.seen.delete(nonce);
    this.seen.set(nonce, nc);
    if (this.seen.size > this.maxTracked) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
