/**
 * The provider's REST API errors for the Calls resource (SPEC §10,
 * research/twilio-voice-facts.md §1.7): its codes and messages, and the HTTP
 * status each is served with, in the provider's JSON shape
 * `{code, message, more_info, status}`. These are provider-facing (the
 * official SDK turns them into `RestException`), so they live here and not in
 * src/errors.ts, which is trunkgate's own catalogue. Never add `type` or
 * `title` to the body: the SDK would throw a different exception class.
 *
 * Where the provider does not document an HTTP status (every 212xx, 22005),
 * 400 is used (SPEC §10 *(ours)*); 20003 is 401 as seen on the wire.
 */

export interface ProviderErrorEntry {
  code: number;
  status: number;
  /** For `trunkgate_voice_api_requests_total{outcome}` (a closed set). */
  outcome: ApiOutcome;
  message: (detail?: string) => string;
}

export type ApiOutcome = 'unauthorized' | 'invalid' | 'queue_full' | 'not_found' | 'invalid_state' | 'not_allowed';
export const API_OUTCOMES = ['success', 'unauthorized', 'invalid', 'queue_full', 'not_found', 'invalid_state', 'not_allowed'] as const;

function entry(code: number, status: number, outcome: ApiOutcome, text: string): ProviderErrorEntry {
  return { code, status, outcome, message: (detail) => (detail === undefined ? text : `${text}: ${detail}`) };
}

export const PROVIDER_ERRORS = {
  AUTHENTICATE: entry(20003, 401, 'unauthorized', 'Authenticate'),
  ACCOUNT_NOT_ACTIVE: entry(20005, 401, 'unauthorized', 'Account not active'),
  NOT_FOUND: { code: 20404, status: 404, outcome: 'not_found', message: (path?: string) => `The requested resource ${path ?? ''} was not found` } satisfies ProviderErrorEntry,
  METHOD_NOT_ALLOWED: entry(20004, 405, 'not_allowed', 'Method not allowed'),
  TO_MISSING: entry(21201, 400, 'invalid', "No 'To' number specified"),
  URL_INVALID: entry(21205, 400, 'invalid', 'Invalid URL'),
  TIMEOUT_INVALID: entry(21208, 400, 'invalid', 'Invalid Timeout'),
  METHOD_INVALID: entry(21209, 400, 'invalid', 'Invalid Method'),
  FROM_NOT_VERIFIED: entry(21210, 400, 'invalid', "'From' phone number not verified"),
  TO_INVALID: entry(21211, 400, 'invalid', "Invalid 'To' Phone Number"),
  FROM_INVALID: entry(21212, 400, 'invalid', 'Invalid From Number (caller ID)'),
  FROM_MISSING: entry(21213, 400, 'invalid', "'From' phone number is required"),
  GEO_PERMISSION: entry(21215, 400, 'invalid', 'Geo Permission configuration is not permitting call'),
  BLOCKED: entry(21216, 400, 'invalid', 'Call blocked by Twilio blocklist'),
  APPLICATION_SID_INVALID: entry(21218, 400, 'invalid', 'Invalid ApplicationSid'),
  TO_NOT_VERIFIED: entry(21219, 400, 'invalid', "'To' phone number not verified"),
  INVALID_CALL_STATE: entry(21220, 400, 'invalid_state', 'Invalid call state'),
  QUEUE_FULL: entry(22005, 400, 'queue_full', 'Call Queue Full'),
  /** A participant added to a conference that has ended (research §5.5; HTTP status ours). */
  CONFERENCE_OVER: entry(16022, 400, 'invalid_state', 'Conference does not exist or is completed'),
  TWIML_TOO_LONG: entry(32018, 400, 'invalid', 'Twiml size exceeded maximum allowed value of 4000 characters'),
  /** A parameter value trunkgate cannot read (the provider's generic 'Unknown parameters'; the message names it). */
  BAD_PARAMETER: entry(20001, 400, 'invalid', 'Unknown parameters'),
} as const;

export type ProviderErrorName = keyof typeof PROVIDER_ERRORS;

/** An API error as a value (STYLE: expected outcomes are values). */
export interface ProviderError {
  name: ProviderErrorName;
  code: number;
  status: number;
  outcome: ApiOutcome;
  message: string;
}

export function providerError(name: ProviderErrorName, detail?: string): ProviderError {
  const e = PROVIDER_ERRORS[name];
  return { name, code: e.code, status: e.status, outcome: e.outcome, message: e.message(detail) };
}

/** The JSON body the provider sends for an error. */
export function providerErrorBody(e: ProviderError): { code: number; message: string; more_info: string; status: number } {
  return { code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status };
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ProviderError };
