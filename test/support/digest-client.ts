/**
 * The client side of SIP digest authentication (RFC 2617 §3.2.2, RFC 8760),
 * computed here independently of src/termination/digest.ts so tests check it
 * against the RFC rather than against itself.
 */
import { createHash } from 'node:crypto';

export interface DigestAnswer {
  username: string;
  password: string;
  realm: string;
  method: string;
  uri: string;
  nonce: string;
  opaque?: string | undefined;
  algorithm?: 'MD5' | 'SHA-256';
  /** `auth` (RFC 2617) or undefined (RFC 2069 style: no qop, nc or cnonce). */
  qop?: 'auth' | undefined;
  nc?: number;
  cnonce?: string;
}

function h(algorithm: 'MD5' | 'SHA-256', text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text)
    .digest('hex');
}

/** The 8-hex-digit nonce count. */
export function ncText(nc: number): string {
  return nc.toString(16).padStart(8, '0');
}

/** request-digest of RFC 2617 §3.2.2.1. */
export function digestResponse(a: DigestAnswer): string {
  const algorithm = a.algorithm ?? 'MD5';
  const ha1 = h(algorithm, `${a.username}:${a.realm}:${a.password}`);
  const ha2 = h(algorithm, `${a.method}:${a.uri}`);
  if (a.qop === undefined) return h(algorithm, `${ha1}:${a.nonce}:${ha2}`);
  return h(algorithm, `${ha1}:${a.nonce}:${ncText(a.nc ?? 1)}:${a.cnonce ?? '0a4f113b'}:${a.qop}:${ha2}`);
}

/** A `Proxy-Authorization` value answering a challenge. */
export function proxyAuthorization(a: DigestAnswer): string {
  const parts = [
    `Digest username="${a.username}"`,
    `realm="${a.realm}"`,
    `nonce="${a.nonce}"`,
    `uri="${a.uri}"`,
    `response="${digestResponse(a)}"`,
  ];
  if (a.algorithm !== undefined) parts.push(`algorithm=${a.algorithm}`);
  if (a.opaque !== undefined) parts.push(`opaque="${a.opaque}"`);
  if (a.qop !== undefined) parts.push(`qop=${a.qop}`, `nc=${ncText(a.nc ?? 1)}`, `cnonce="${a.cnonce ?? '0a4f113b'}"`);
  return parts.join(', ');
}

/** The nonce and opaque of a `Proxy-Authenticate` challenge. */
export function challengeParams(challenge: string): { nonce: string; opaque: string } {
  const nonce = /nonce="([^"]*)"/.exec(challenge)?.[1];
  const opaque = /opaque="([^"]*)"/.exec(challenge)?.[1];
  if (nonce === undefined || opaque === undefined) throw new Error(`not a digest challenge: ${challenge}`);
  return { nonce, opaque };
}
