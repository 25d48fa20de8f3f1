/**
 * Header name tables: canonical (lower-case) names, the compact forms of
 * RFC 3261 §7.3.3 (and later RFCs), and the display spelling used when
 * serializing.
 */

/** Compact form → canonical lower-case name (RFC 3261 §7.3.3, RFC 3265, RFC 3515, RFC 4028, …). */
export const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/** Canonical lower-case name → the spelling we put on the wire. */
const DISPLAY_NAMES: Readonly<Record<string, string>> = {
  'accept': 'Accept',
  'accept-contact': 'Accept-Contact',
  'accept-encoding': 'Accept-Encoding',
  'accept-language': 'Accept-Language',
  'alert-info': 'Alert-Info',
  'allow': 'Allow',
  'allow-events': 'Allow-Events',
  'authentication-info': 'Authentication-Info',
  'authorization': 'Authorization',
  'call-id': 'Call-ID',
  'call-info': 'Call-Info',
  'contact': 'Contact',
  'content-disposition': 'Content-Disposition',
  'content-encoding': 'Content-Encoding',
  'content-language': 'Content-Language',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  'cseq': 'CSeq',
  'date': 'Date',
  'error-info': 'Error-Info',
  'event': 'Event',
  'expires': 'Expires',
  'from': 'From',
  'identity': 'Identity',
  'identity-info': 'Identity-Info',
  'in-reply-to': 'In-Reply-To',
  'max-forwards': 'Max-Forwards',
  'min-expires': 'Min-Expires',
  'min-se': 'Min-SE',
  'mime-version': 'MIME-Version',
  'organization': 'Organization',
  'p-asserted-identity': 'P-Asserted-Identity',
  'p-preferred-identity': 'P-Preferred-Identity',
  'priority': 'Priority',
  'privacy': 'Privacy',
  'proxy-authenticate': 'Proxy-Authenticate',
  'proxy-authorization': 'Proxy-Authorization',
  'proxy-require': 'Proxy-Require',
  'rack': 'RAck',
  'reason': 'Reason',
  'record-route': 'Record-Route',
  'refer-sub': 'Refer-Sub',
  'refer-to': 'Refer-To',
  'referred-by': 'Referred-By',
  'reject-contact': 'Reject-Contact',
  'remote-party-id': 'Remote-Party-ID',
  'reply-to': 'Reply-To',
  'request-disposition': 'Request-Disposition',
  'require': 'Require',
  'retry-after': 'Retry-After',
  'route': 'Route',
  'rseq': 'RSeq',
  'server': 'Server',
  'session-expires': 'Session-Expires',
  'subject': 'Subject',
  'subscription-state': 'Subscription-State',
  'supported': 'Supported',
  'timestamp': 'Timestamp',
  'to': 'To',
  'unsupported': 'Unsupported',
  'user-agent': 'User-Agent',
  'via': 'Via',
  'warning': 'Warning',
  'www-authenticate': 'WWW-Authenticate',
  // the provider's own, spelt as on its wire (inbound calls' INVITEs)
  'x-twilio-accountsid': 'X-Twilio-AccountSid',
  'x-twilio-apiversion': 'X-Twilio-ApiVersion',
  'x-twilio-callsid': 'X-Twilio-CallSid',
};

/**
 * Headers whose value is a comma-separated list (RFC 3261 §7.3.1). Only these
 * are split by `getAll`; others (Authorization, Date, …) may contain commas.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-contact',
  'accept-encoding',
  'accept-language',
  'alert-info',
  'allow',
  'allow-events',
  'call-info',
  'contact',
  'content-encoding',
  'content-language',
  'error-info',
  'in-reply-to',
  'p-asserted-identity',
  'p-preferred-identity',
  'privacy',
  'proxy-require',
  'record-route',
  'reject-contact',
  'remote-party-id',
  'require',
  'route',
  'supported',
  'unsupported',
  'via',
  'warning',
]);

/**
 * Cache from a header name as seen on the wire to its canonical form. Seeded
 * with the usual spellings so the hot path is one Map lookup; grows (bounded)
 * with unusual spellings.
 */
const CANONICAL_CACHE = new Map<string, string>();
const CANONICAL_CACHE_MAX = 4096;

for (const [lower, display] of Object.entries(DISPLAY_NAMES)) {
  CANONICAL_CACHE.set(lower, lower);
  CANONICAL_CACHE.set(display, lower);
}
for (const [compact, full] of Object.entries(COMPACT_FORMS)) {
  CANONICAL_CACHE.set(compact, full);
  CANONICAL_CACHE.set(compact.toUpperCase(), full);
}
CANONICAL_CACHE.set('Call-Id', 'call-id');
CANONICAL_CACHE.set('Cseq', 'cseq');
CANONICAL_CACHE.set('CSEQ', 'cseq');
CANONICAL_CACHE.set('Www-Authenticate', 'www-authenticate');

/** The canonical name when this exact spelling has been seen before; undefined otherwise. */
export function knownCanonical(name: string): string | undefined {
  return CANONICAL_CACHE.get(name);
}

/** The canonical lower-case name for a header name as it appeared on the wire. */
export function canonicalHeaderName(name: string): string {
  const hit = CANONICAL_CACHE.get(name);
  if (hit !== undefined) return hit;
  const lower = name.toLowerCase();
  // Compact forms are single letters; a longer name must not reach the plain
  // object (a header called `Constructor` would pick up Object.prototype's).
  const canonical = (lower.length === 1 ? COMPACT_FORMS[lower] : undefined) ?? lower;
  if (CANONICAL_CACHE.size < CANONICAL_CACHE_MAX) CANONICAL_CACHE.set(name, canonical);
  return canonical;
}

/** The display spelling of a canonical name (unknown names are title-cased per dash). */
export function displayHeaderName(canonical: string): string {
  const known = Object.hasOwn(DISPLAY_NAMES, canonical) ? DISPLAY_NAMES[canonical] : undefined;
  if (known !== undefined) return known;
  return canonical.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
