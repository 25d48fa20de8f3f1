/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966). Other schemes parse to
 * their scheme and opaque remainder so that a message carrying them can still
 * be handled (RFC 4475 §3.3.2–3.3.4).
 */
import { Params, parseBoundedInt, parseParams } from './syntax.js';

export interface SipUri {
  /** Lower-case scheme: `sip`, `sips`, `tel`, or any other. */
  scheme: string;
  user: string | undefined;
  password: string | undefined;
  /** Host as written; IPv6 references keep their brackets. Empty for tel and opaque URIs. */
  host: string;
  port: number | undefined;
  /** uri-parameters (lower-case names). */
  params: Params;
  /** The `?` headers component, raw, or undefined. */
  headers: string | undefined;
  /** For schemes other than sip/sips/tel: everything after the colon. */
  opaque: string | undefined;
}

export type UriResult = { ok: true; uri: SipUri } | { ok: false; reason: string };

function fail(reason: string): UriResult {
  return { ok: false, reason };
}

/** Parse a URI. Never throws. */
export function parseUri(text: string): UriResult {
  const colon = text.indexOf(':');
  if (colon <= 0) return fail('URI has no scheme');
  const scheme = text.slice(0, colon).toLowerCase();
  for (let i = 0; i < scheme.length; i++) {
    const c = scheme.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e));
    if (!ok) return fail('URI scheme is not valid');
  }
  const rest = text.slice(colon + 1);
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(scheme, rest);
  if (scheme === 'tel') return parseTelUri(rest);
  if (rest.length === 0) return fail('URI is empty after the scheme');
  if (/[\s<>"]/.test(rest)) return fail('URI contains whitespace or delimiters');
  return {
    ok: true,
    uri: { scheme, user: undefined, password: undefined, host: '', port: undefined, params: new Params(), headers: undefined, opaque: rest },
  };
}

function parseSipUri(scheme: string, s: string): UriResult {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c >= 0x7f) return fail('SIP URI contains a character that must be escaped');
  }
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = 0;
  const at = s.indexOf('@');
  if (at !== -1) {
    const userinfo = s.slice(0, at);
    const pc = userinfo.indexOf(':');
    if (pc === -1) user = userinfo;
    else {
      user = userinfo.slice(0, pc);
      password = userinfo.slice(pc + 1);
    }
    if (user.length === 0) return fail('SIP URI has an empty user part');
    hostStart = at + 1;
  }
  let i = hostStart;
  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close === -1) return fail('SIP URI has an unterminated IPv6 reference');
    host = s.slice(i, close + 1);
    i = close + 1;
  } else {
    while (i < n) {
      const c = s.charCodeAt(i);
      const hostChar = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f;
      if (!hostChar) break;
      i++;
    }
    host = s.slice(hostStart, i);
  }
  if (host.length === 0) return fail('SIP URI has no host');
  let port: number | undefined;
  if (s.charCodeAt(i) === 0x3a) {
    const portStart = ++i;
    while (i < n && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    const p = parseBoundedInt(s.slice(portStart, i), 65535);
    if (p <= 0) return fail('SIP URI port is not a number in 1-65535');
    port = p;
  }
  const params = new Params();
  if (i < n && s.charCodeAt(i) === 0x3b) {
    const q = s.indexOf('?', i);
    const end = q === -1 ? n : q;
    const j = parseParams(s, i, end, params);
    if (j !== end) return fail('SIP URI parameters are malformed');
    i = end;
  }
  let headers: string | undefined;
  if (i < n) {
    if (s.charCodeAt(i) !== 0x3f) return fail('SIP URI has unexpected characters after the host');
    headers = s.slice(i + 1);
  }
  return { ok: true, uri: { scheme, user, password, host, port, params, headers, opaque: undefined } };
}

function parseTelUri(s: string): UriResult {
  const semi = s.indexOf(';');
  const number = semi === -1 ? s : s.slice(0, semi);
  if (number.length === 0 || /[\s<>"]/.test(s)) return fail('tel URI is malformed');
  const params = new Params();
  if (semi !== -1 && parseParams(s, semi, s.length, params) !== s.length) return fail('tel URI parameters are malformed');
  return { ok: true, uri: { scheme: 'tel', user: number, password: undefined, host: '', port: undefined, params, headers: undefined, opaque: undefined } };
}

/** Serialize a URI object. */
export function formatUri(uri: SipUri): string {
  if (uri.opaque !== undefined) return `${uri.scheme}:${uri.opaque}`;
  if (uri.scheme === 'tel') return `tel:${uri.user ?? ''}${uri.params.toString()}`;
  let out = uri.scheme + ':';
  if (uri.user !== undefined) out += uri.password !== undefined ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
  out += uri.host;
  if (uri.port !== undefined) out += ':' + uri.port;
  out += uri.params.toString();
  if (uri.headers !== undefined) out += '?' + uri.headers;
  return out;
}

/** Decode `%xx` escapes (RFC 3261 §19.1.2); invalid escapes are left as they are. */
export function unescapeUriPart(s: string): string {
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** Host without IPv6 brackets, lower-cased. */
export function bareHost(host: string): string {
  const h = host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host;
  return h.toLowerCase();
}
