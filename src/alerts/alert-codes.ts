/**
 * The provider's alert (debugger event) codes that trunkgate raises, with
 * their texts (SPEC §4.2, §4.4, §10), and trunkgate's own (99xxx: situations the
 * provider has no code for, SPEC §12).
 */
export const ALERTS = {
  10001: 'Account is not active',
  10004: 'Trunk concurrent call limit exceeded',
  11200: 'HTTP retrieval failure',
  11205: 'HTTP connection failure',
  11750: 'TwiML response body too large',
  12100: 'Document parse failure',
  12200: 'Schema validation warning',
  13910: 'Pause: Invalid length value',
  15003: 'Call Progress: Warning Response to Callback URL',
  16020: 'Conference is full',
  16022: 'Conference does not exist or is completed',
  21251: 'Trunking CPS change not allowed',
  31480: 'Temporarily Unavailable',
  31486: 'Busy Here',
  32001: 'Trunk CPS limit exceeded',
  32006: 'Max-Forwards reached zero',
  32010: 'No valid Origination URIs configured',
  32011: 'Error communicating with your SIP communications infrastructure',
  32012: 'Pooled account CPS limit exceeded',
  32015: 'Maximum call duration reached',
  32019: 'Twiml and Voice URL are both set. Using Voice URL.',
  32022: 'No ACK received for the 200 OK',
  32100: 'Called number is not verified (trial account)',
  32101: 'Invalid phone number',
  32102: 'Bad SDP',
  32200: 'Trunk has no ACL or credentials: it takes no traffic',
  32201: 'Source IP address not in the trunk ACL',
  32202: 'Digest authentication failed',
  32203: 'Phone number is blocked',
  32204: 'Invalid caller ID',
  32205: 'No international authorization',
  32207: 'Secure media not accepted',
  32208: 'Secure media required',
  32209: 'Secure transport required',
  32216: 'Address blacklisted: too many failed digest attempts',
  32218: 'SIP: Transfer not allowed',
  // trunkgate's own (SPEC §12): the shared limit store (limits.store: redis)
  99101: 'Shared limit store unavailable',
  99102: 'Leases of a stopped instance expired',
} as const;

export type AlertCode = keyof typeof ALERTS;

export function alertText(code: AlertCode): string {
  return ALERTS[code];
}
