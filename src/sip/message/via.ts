/**
 * Via header values (RFC 3261 §20.42, §18.2.1; RFC 3581 rport).
 */
import { Params, isTokenChar, isLws, parseBoundedInt, parseParams, skipLws } from './syntax.js';

/** RFC 3261 §8.1.1.7: branch ids of RFC 3261 elements begin with this. */
export const MAGIC_COOKIE = 'z9hG4bK';

export interface Via {
  /** `SIP/2.0` */
  protocol: string;
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS, WSS, or another token. */
  transport: string;
  /** sent-by host as written (IPv6 keeps brackets). */
  host: string;
  /** sent-by port, when written. */
  port: number | undefined;
  params: Params;
  branch: string | undefined;
  received: string | undefined;
  /** RFC 3581: `true` for a bare `;rport`, the number when it has a value. */
  rport: number | true | undefined;
  maddr: string | undefined;
}

export type ViaResult = { ok: true; via: Via } | { ok: false; reason: string };

function fail(reason: string): ViaResult {
  return { ok: false, reason };
}

function readToken(s: string, i: number, end: number): number {
  while (i < end && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

function upper(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return s.toUpperCase();
  }
  return s;
}

/** Parse a single via-parm (one element of a Via list). Never throws. */
export function parseVia(text: string): ViaResult {
  const n = text.length;
  let i = skipLws(text, 0, n);
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport (LWS allowed around SLASH)
  let j = readToken(text, i, n);
  if (j === i) return fail('Via has no protocol name');
  const name = text.slice(i, j);
  i = skipLws(text, j, n);
  if (text.charCodeAt(i) !== 0x2f) return fail('Via sent-protocol is missing "/"');
  i = skipLws(text, i + 1, n);
  j = readToken(text, i, n);
  if (j === i) return fail('Via has no protocol version');
  const version = text.slice(i, j);
  i = skipLws(text, j, n);
  if (text.charCodeAt(i) !== 0x2f) return fail('Via sent-protocol is missing the transport');
  i = skipLws(text, i + 1, n);
  j = readToken(text, i, n);
  if (j === i) return fail('Via has no transport');
  const transport = upper(text.slice(i, j));
  if (j >= n || !isLws(text.charCodeAt(j))) return fail('Via sent-protocol must be followed by whitespace');
  i = skipLws(text, j, n);
  // sent-by = host [ COLON port ]
  let host: string;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close === -1) return fail('Via has an unterminated IPv6 reference');
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    j = i;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f)) break;
      j++;
    }
    if (j === i) return fail('Via has no sent-by host');
    host = text.slice(i, j);
    i = j;
  }
  let port: number | undefined;
  i = skipLws(text, i, n);
  if (text.charCodeAt(i) === 0x3a) {
    i = skipLws(text, i + 1, n);
    j = i;
    while (j < n && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
    const p = parseBoundedInt(text.slice(i, j), 65535);
    if (p <= 0) return fail('Via sent-by port is not a number in 1-65535');
    port = p;
    i = j;
  }
  const params = new Params();
  const end = parseParams(text, i, n, params);
  if (end === -1) return fail('Via parameters are malformed');
  if (skipLws(text, end, n) !== n) return fail('unexpected characters in Via');
  const branch = params.get('branch');
  if (branch === null) return fail('Via branch parameter has no value');
  const received = params.get('received');
  if (received === null) return fail('Via received parameter has no value');
  const rportRaw = params.get('rport');
  let rport: number | true | undefined;
  if (rportRaw === null) rport = true;
  else if (rportRaw !== undefined) {
    const p = parseBoundedInt(rportRaw, 65535);
    if (p <= 0) return fail('Via rport is not a port number');
    rport = p;
  }
  const maddr = params.get('maddr');
  return {
    ok: true,
    via: {
      protocol: name === 'SIP' && version === '2.0' ? 'SIP/2.0' : upper(`${name}/${version}`),
      transport,
      host,
      port,
      params,
      branch: branch ?? undefined,
      received: received ?? undefined,
      rport,
      maddr: maddr ?? undefined,
    },
  };
}

/** Serialize a Via value. */
export function formatVia(via: Via): string {
  return `${via.protocol}/${via.transport} ${via.host}${via.port !== undefined ? ':' + via.port : ''}${via.params.toString()}`;
}

/** sent-by as a matching key: lower-case host and the port (default by transport, §18). */
export function sentByKey(via: Via): string {
  const port = via.port ?? (via.transport === 'TLS' || via.transport === 'WSS' ? 5061 : 5060);
  return via.host.toLowerCase() + ':' + port;
}

/** True for an RFC 3261 branch (magic cookie plus at least one more character, RFC 4475 §3.2.1). */
export function isRfc3261Branch(branch: string | undefined): branch is string {
  return branch !== undefined && branch.length > MAGIC_COOKIE.length && branch.startsWith(MAGIC_COOKIE);
}
