/**
 * The Calls API's form parameters, read and checked into values, each
 * problem answered with the provider's code (research §1.2, §1.7): a missing
 * `To` 21201, a bad `To` 21211, a missing `From` 21213, a bad `From` 21212,
 * a bad URL 21205, a bad method 21209, a bad `Timeout` 21208, `Twiml` over
 * 4000 characters 32018, an `ApplicationSid` 21218 (trunkgate has no
 * applications), and the account's number rules (21210, 21215, 21216, 21219).
 */
import { isIP } from 'node:net';
import type { Config } from '../config/schema.js';
import { isE164, numberMatches } from '../numbers/number-patterns.js';
import { parseUri } from '../sip/message/uri.js';
import type { HttpMethod } from '../twiml/parse.js';
import { type ApiResult, providerError } from './provider-errors.js';
import type { VoiceAccount } from './voice-accounts.js';
import { CALL_STATUSES, type CallOptions, type CallStatus, type CallTarget, STATUS_CALLBACK_EVENTS, type StatusCallbackEvent, type TwimlSource } from './voice-call.js';

/** A form body or query string with repeated keys kept (`StatusCallbackEvent=a&StatusCallbackEvent=b`). */
export type FormParams = URLSearchParams;

export const MAX_TWIML_CHARS = 4000;
export const DEFAULT_TIMEOUT_SECONDS = 60;
export const MAX_TIMEOUT_SECONDS = 600;

function value(form: FormParams, name: string): string | undefined {
  const v = form.get(name);
  return v === null || v === '' ? undefined : v;
}

/** An absolute http(s) URL with a host name that has no underscore (research §1.2). */
export function validWebhookUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0 && !u.hostname.includes('_');
}

function method(form: FormParams, name: string): ApiResult<HttpMethod> {
  const v = value(form, name);
  if (v === undefined) return { ok: true, value: 'POST' };
  const m = v.toUpperCase();
  if (m === 'GET' || m === 'POST') return { ok: true, value: m };
  return { ok: false, error: providerError('METHOD_INVALID', `${name} must be GET or POST, not "${v}"`) };
}

function url(form: FormParams, name: string): ApiResult<string | undefined> {
  const v = value(form, name);
  if (v === undefined) return { ok: true, value: undefined };
  if (!validWebhookUrl(v)) return { ok: false, error: providerError('URL_INVALID', `${name} "${v}" is not a fully qualified http(s) URL`) };
  return { ok: true, value: v };
}

/** `To`: E.164 → the PSTN emulator; `sip:` → an INVITE to that URI (IP address or localhost); `client:NAME`. */
export function readTarget(to: string): ApiResult<CallTarget> {
  if (isE164(to)) return { ok: true, value: { kind: 'pstn', number: to } };
  if (to.startsWith('client:')) {
    const identity = to.slice('client:'.length);
    if (identity.length === 0 || identity.length > 256 || /[\s<>"#%{}|\\^[\]`]/.test(identity)) {
      return { ok: false, error: providerError('TO_INVALID', `"${to}" is not a valid client identity`) };
    }
    return { ok: true, value: { kind: 'client', identity } };
  }
  if (/^sips?:/i.test(to)) return readSipTarget(to);
  return { ok: false, error: providerError('TO_INVALID', `"${to}" is neither an E.164 number (+14155550100), a sip: URI nor client:NAME`) };
}

export function readSipTarget(to: string): ApiResult<CallTarget> {
  const bad = (why: string): ApiResult<CallTarget> => ({ ok: false, error: providerError('TO_INVALID', `${to}: ${why}`) });
  const parsed = parseUri(to);
  if (!parsed.ok) return bad(parsed.reason);
  const uri = parsed.uri;
  if (uri.scheme !== 'sip') return bad('only sip: URIs can be dialled (trunkgate has no TLS transport)');
  const host = uri.host.replace(/^\[|\]$/g, '');
  const address = host.toLowerCase() === 'localhost' ? '127.0.0.1' : host;
  if (isIP(address) === 0) return bad('trunkgate dials sip: URIs by IP address (or localhost); it resolves no host names');
  const transport = (uri.params.get('transport') ?? 'udp').toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp') return bad(`transport=${transport} is not available; use udp or tcp`);
  return { ok: true, value: { kind: 'sip', uri: to, user: uri.user, address, port: uri.port ?? 5060, transport } };
}

/** `From`: an E.164 number, `client:NAME`, or (for sip: calls) a SIP user name. */
function readFrom(from: string, target: CallTarget): boolean {
  if (isE164(from)) return true;
  if (target.kind === 'pstn') return false;
  if (from.startsWith('client:')) return from.length > 'client:'.length;
  return /^[A-Za-z0-9+._~-]{1,128}$/.test(from);
}

function statusCallbackEvents(form: FormParams): ApiResult<Set<StatusCallbackEvent>> {
  const values = form.getAll('StatusCallbackEvent').flatMap((v) => v.split(/[\s,]+/)).filter((v) => v.length > 0);
  if (values.length === 0) return { ok: true, value: new Set(['completed']) };
  const out = new Set<StatusCallbackEvent>();
  for (const v of values) {
    const e = v.toLowerCase();
    if (!(STATUS_CALLBACK_EVENTS as readonly string[]).includes(e)) {
      return { ok: false, error: providerError('BAD_PARAMETER', `StatusCallbackEvent "${v}" (expected ${STATUS_CALLBACK_EVENTS.join(', ')})`) };
    }
    out.add(e as StatusCallbackEvent);
  }
  return { ok: true, value: out };
}

function seconds(form: FormParams, name: string, fallback: number, max: number): ApiResult<number> {
  const v = value(form, name);
  if (v === undefined) return { ok: true, value: fallback };
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    return { ok: false, error: name === 'Timeout' ? providerError('TIMEOUT_INVALID', `Timeout "${v}" is not a whole number of seconds above 0`) : providerError('BAD_PARAMETER', `${name} "${v}" is not a whole number of seconds above 0`) };
  }
  return { ok: true, value: Math.min(max, Number(v)) };
}

export interface CreateRequest {
  to: string;
  from: string;
  target: CallTarget;
  options: CallOptions;
  /** Both Url and Twiml were sent: Url is used (warning 32019). */
  twimlIgnored: boolean;
}

/** Read a create request (POST …/Calls.json) for `account`. */
export function readCreate(form: FormParams, account: VoiceAccount, config: Config, defaultTimeLimitSeconds: number): ApiResult<CreateRequest> {
  const to = value(form, 'To');
  if (to === undefined) return { ok: false, error: providerError('TO_MISSING') };
  const target = readTarget(to);
  if (!target.ok) return target;
  const from = value(form, 'From');
  if (from === undefined) return { ok: false, error: providerError('FROM_MISSING') };
  if (!readFrom(from, target.value)) {
    return { ok: false, error: providerError('FROM_INVALID', target.value.kind === 'pstn' ? `"${from}": calling a phone number needs a phone number (E.164) in From` : `"${from}"`) };
  }
  const a = account.config;
  if (target.value.kind === 'pstn') {
    const number = target.value.number;
    if (a.callerIds !== undefined && !a.callerIds.includes(from)) return { ok: false, error: providerError('FROM_NOT_VERIFIED', `${from} is not one of the account's numbers or verified caller IDs (accounts[].callerIds)`) };
    if (a.type === 'trial' && !a.verifiedNumbers.includes(number)) return { ok: false, error: providerError('TO_NOT_VERIFIED', `a trial account may call only its verified numbers (accounts[].verifiedNumbers); ${number} is not one`) };
    if (!a.geoPermissions.some((code) => number.slice(1).startsWith(code))) return { ok: false, error: providerError('GEO_PERMISSION', `${number}: its country code is not in accounts[].geoPermissions`) };
    if (config.blocklist.some((p) => numberMatches(p, number))) return { ok: false, error: providerError('BLOCKED', number) };
  }
  if (value(form, 'ApplicationSid') !== undefined) return { ok: false, error: providerError('APPLICATION_SID_INVALID', 'trunkgate has no applications; send Url or Twiml') };
  const source = readSource(form, true);
  if (!source.ok) return source;
  if (source.value === undefined) return { ok: false, error: providerError('URL_INVALID', 'one of Url, Twiml or ApplicationSid is required') };
  const rest = readOptions(form, { statusCallbackEvents: true });
  if (!rest.ok) return rest;
  const timeout = seconds(form, 'Timeout', DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS);
  if (!timeout.ok) return timeout;
  const timeLimit = seconds(form, 'TimeLimit', defaultTimeLimitSeconds, defaultTimeLimitSeconds);
  if (!timeLimit.ok) return timeLimit;
  return {
    ok: true,
    value: {
      to,
      from,
      target: target.value,
      twimlIgnored: source.value.kind === 'url' && value(form, 'Twiml') !== undefined,
      options: {
        source: source.value,
        fallbackUrl: rest.value.fallbackUrl,
        fallbackMethod: rest.value.fallbackMethod ?? 'POST',
        statusCallback: rest.value.statusCallback,
        statusCallbackMethod: rest.value.statusCallbackMethod ?? 'POST',
        statusCallbackEvents: rest.value.statusCallbackEvents ?? new Set(['completed']),
        timeoutSeconds: timeout.value,
        timeLimitSeconds: timeLimit.value,
      },
    },
  };
}

/** Url (with Method) or Twiml; Url wins when both are sent. */
function readSource(form: FormParams, _create: boolean): ApiResult<TwimlSource | undefined> {
  const u = url(form, 'Url');
  if (!u.ok) return u;
  const m = method(form, 'Method');
  if (!m.ok) return m;
  if (u.value !== undefined) return { ok: true, value: { kind: 'url', url: u.value, method: m.value } };
  const twiml = value(form, 'Twiml');
  if (twiml === undefined) return { ok: true, value: undefined };
  if (twiml.length > MAX_TWIML_CHARS) return { ok: false, error: providerError('TWIML_TOO_LONG', `${twiml.length} characters`) };
  return { ok: true, value: { kind: 'inline', twiml } };
}

interface OptionalOptions {
  fallbackUrl: string | undefined;
  fallbackMethod: HttpMethod | undefined;
  statusCallback: string | undefined;
  statusCallbackMethod: HttpMethod | undefined;
  statusCallbackEvents: Set<StatusCallbackEvent> | undefined;
}

function readOptions(form: FormParams, which: { statusCallbackEvents: boolean }): ApiResult<OptionalOptions> {
  const fallbackUrl = url(form, 'FallbackUrl');
  if (!fallbackUrl.ok) return fallbackUrl;
  const fallbackMethod = method(form, 'FallbackMethod');
  if (!fallbackMethod.ok) return fallbackMethod;
  const statusCallback = url(form, 'StatusCallback');
  if (!statusCallback.ok) return statusCallback;
  const statusCallbackMethod = method(form, 'StatusCallbackMethod');
  if (!statusCallbackMethod.ok) return statusCallbackMethod;
  let events: Set<StatusCallbackEvent> | undefined;
  if (which.statusCallbackEvents) {
    const e = statusCallbackEvents(form);
    if (!e.ok) return e;
    events = e.value;
  }
  return {
    ok: true,
    value: {
      fallbackUrl: fallbackUrl.value,
      fallbackMethod: value(form, 'FallbackMethod') === undefined ? undefined : fallbackMethod.value,
      statusCallback: statusCallback.value,
      statusCallbackMethod: value(form, 'StatusCallbackMethod') === undefined ? undefined : statusCallbackMethod.value,
      statusCallbackEvents: events,
    },
  };
}

export interface UpdateRequest {
  status: 'canceled' | 'completed' | undefined;
  source: TwimlSource | undefined;
  twimlIgnored: boolean;
  options: OptionalOptions;
  timeLimitSeconds: number | undefined;
}

/** Read an update request (POST …/Calls/{Sid}.json). */
export function readUpdate(form: FormParams, maxTimeLimitSeconds: number): ApiResult<UpdateRequest> {
  const statusText = value(form, 'Status');
  if (statusText !== undefined && statusText !== 'canceled' && statusText !== 'completed') {
    return { ok: false, error: providerError('BAD_PARAMETER', `Status "${statusText}" (expected canceled or completed)`) };
  }
  const source = readSource(form, false);
  if (!source.ok) return source;
  const rest = readOptions(form, { statusCallbackEvents: false });
  if (!rest.ok) return rest;
  let timeLimitSeconds: number | undefined;
  if (value(form, 'TimeLimit') !== undefined) {
    const t = seconds(form, 'TimeLimit', maxTimeLimitSeconds, maxTimeLimitSeconds);
    if (!t.ok) return t;
    timeLimitSeconds = t.value;
  }
  return {
    ok: true,
    value: {
      status: statusText,
      source: source.value,
      twimlIgnored: source.value?.kind === 'url' && value(form, 'Twiml') !== undefined,
      options: rest.value,
      timeLimitSeconds,
    },
  };
}

export interface ListRequest {
  to: string | undefined;
  from: string | undefined;
  parentCallSid: string | undefined;
  status: CallStatus | undefined;
  startTime: { after?: number; before?: number };
  endTime: { after?: number; before?: number };
  pageSize: number;
  page: number;
  /** `PA` + the SID of the last call of the previous page. */
  pageToken: string | undefined;
}

/** `YYYY-MM-DD` (the whole UTC day) or `YYYY-MM-DDTHH:mm:ssZ`: [start, end) in ms. */
function dayOrTime(v: string): { start: number; end: number } | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const start = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(start) ? undefined : { start, end: start + 86_400_000 };
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : { start: t, end: t + 1000 };
}

export function timeFilter(form: FormParams, name: string): ApiResult<{ after?: number; before?: number }> {
  const out: { after?: number; before?: number } = {};
  for (const [suffix, apply] of [
    ['', (r: { start: number; end: number }) => ((out.after = r.start), (out.before = r.end))],
    ['>', (r: { start: number; end: number }) => (out.after = r.start)],
    ['<', (r: { start: number; end: number }) => (out.before = r.end)],
  ] as const) {
    const v = value(form, name + suffix);
    if (v === undefined) continue;
    const r = dayOrTime(v);
    if (r === undefined) return { ok: false, error: providerError('BAD_PARAMETER', `${name}${suffix} "${v}" (expected YYYY-MM-DD or YYYY-MM-DDTHH:mm:ssZ)`) };
    apply(r);
  }
  return { ok: true, value: out };
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export function readList(form: FormParams): ApiResult<ListRequest> {
  const status = value(form, 'Status');
  if (status !== undefined && !(CALL_STATUSES as readonly string[]).includes(status)) {
    return { ok: false, error: providerError('BAD_PARAMETER', `Status "${status}" (expected ${CALL_STATUSES.join(', ')})`) };
  }
  const startTime = timeFilter(form, 'StartTime');
  if (!startTime.ok) return startTime;
  const endTime = timeFilter(form, 'EndTime');
  if (!endTime.ok) return endTime;
  const size = value(form, 'PageSize');
  if (size !== undefined && (!/^\d+$/.test(size) || Number(size) < 1)) return { ok: false, error: providerError('BAD_PARAMETER', `PageSize "${size}" (expected 1-${MAX_PAGE_SIZE})`) };
  const page = value(form, 'Page');
  if (page !== undefined && !/^\d+$/.test(page)) return { ok: false, error: providerError('BAD_PARAMETER', `Page "${page}" (expected a whole number)`) };
  return {
    ok: true,
    value: {
      to: value(form, 'To'),
      from: value(form, 'From'),
      parentCallSid: value(form, 'ParentCallSid'),
      status: status as CallStatus | undefined,
      startTime: startTime.value,
      endTime: endTime.value,
      pageSize: Math.min(MAX_PAGE_SIZE, size === undefined ? DEFAULT_PAGE_SIZE : Number(size)),
      page: page === undefined ? 0 : Number(page),
      pageToken: value(form, 'PageToken'),
    },
  };
}
