/**
 * name-addr / addr-spec with header parameters (RFC 3261 §20.10, §20.20,
 * §20.39, §25.1): the shape of From, To, Contact, Route, Record-Route,
 * P-Asserted-Identity and Remote-Party-ID values.
 */
import { type SipUri, parseUri } from './uri.js';
import { Params, isLws, isTokenChar, parseParams, skipLws, skipQuoted, trimEnd, unquote } from './syntax.js';

export interface NameAddr {
  /** Display name without quotes or escapes; undefined when absent. */
  displayName: string | undefined;
  /** The URI text (inside the angle brackets when there were any). */
  uri: string;
  /** Header parameters (lower-case names), e.g. `tag`, `expires`. */
  params: Params;
  /** True when the URI was written inside `<…>`. */
  angled: boolean;
  /** Contact `*` (RFC 3261 §10.2.2). */
  wildcard: boolean;
}

export type NameAddrResult = { ok: true; value: NameAddr } | { ok: false; reason: string };

function fail(reason: string): NameAddrResult {
  return { ok: false, reason };
}

/** Parse one name-addr or addr-spec element (not a comma list). Never throws. */
export function parseNameAddr(text: string): NameAddrResult {
  const n = text.length;
  let i = skipLws(text, 0, n);
  if (i >= n) return fail('empty address');
  let displayName: string | undefined;
  let c = text.charCodeAt(i);
  if (c === 0x2a && skipLws(text, i + 1, n) === n) {
    return { ok: true, value: { displayName: undefined, uri: '*', params: new Params(), angled: false, wildcard: true } };
  }
  if (c === 0x22) {
    const q = skipQuoted(text, i, n);
    if (q === -1) return fail('unterminated quoted display name');
    displayName = unquote(text.slice(i, q));
    i = skipLws(text, q, n);
    if (text.charCodeAt(i) !== 0x3c) return fail('quoted display name is not followed by <uri>');
  } else {
    const lt = text.indexOf('<', i);
    if (lt !== -1) {
      // Unquoted display name: tokens separated by LWS only (RFC 4475 §3.1.2.15).
      for (let k = i; k < lt; k++) {
        const ch = text.charCodeAt(k);
        if (!isTokenChar(ch) && !isLws(ch)) return fail('display name has characters that must be quoted');
      }
      const dn = text.slice(i, trimEnd(text, i, lt));
      displayName = dn.length > 0 ? dn : undefined;
      i = lt;
    }
  }
  c = text.charCodeAt(i);
  let uri: string;
  let angled = false;
  if (c === 0x3c) {
    const gt = text.indexOf('>', i + 1);
    if (gt === -1) return fail('unterminated <uri>');
    // Leniency (RFC 4475 §3.1.2.14): tolerate LWS just inside the brackets.
    uri = text.slice(skipLws(text, i + 1, gt), trimEnd(text, i + 1, gt));
    if (uri.length === 0) return fail('empty <uri>');
    angled = true;
    i = gt + 1;
  } else {
    // addr-spec: the URI runs to the first ';' (or LWS); it may not carry ',' or '?'.
    const start = i;
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (ch === 0x3b || isLws(ch)) break;
      if (ch === 0x2c || ch === 0x3f || ch === 0x3c || ch === 0x3e || ch === 0x22) {
        return fail('an address with a ",", "?" or "<" must be enclosed in <>');
      }
      i++;
    }
    uri = text.slice(start, i);
    if (uri.length === 0) return fail('empty address');
  }
  const params = new Params();
  const end = parseParams(text, i, n, params);
  if (end === -1) return fail('malformed header parameters');
  if (skipLws(text, end, n) !== n) return fail('unexpected characters after the address');
  return { ok: true, value: { displayName, uri, params, angled, wildcard: false } };
}

/** The address's URI, parsed. */
export function nameAddrUri(value: NameAddr): SipUri | undefined {
  const r = parseUri(value.uri);
  return r.ok ? r.uri : undefined;
}

/** Serialize a name-addr; the URI is always angle-bracketed. */
export function formatNameAddr(value: { displayName?: string | undefined; uri: string; params?: Params | undefined }): string {
  let out = '';
  if (value.displayName !== undefined && value.displayName.length > 0) {
    out += '"' + value.displayName.replace(/(["\\])/g, '\\$1') + '" ';
  }
  out += '<' + value.uri + '>';
  if (value.params !== undefined) out += value.params.toString();
  return out;
}

