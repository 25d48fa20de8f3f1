/**
 * Admission: the provider's ordered checks (SPEC §4.2) turn a new INVITE into
 * a decision — drop, reject with the exact status, reason phrase and alert,
 * or admit with a lease. Expected outcomes are values; nothing here throws
 * for bad input.
 *
 *   1 trunk from the Request-URI host      (drop, or 403 with unknownDomain: reject)
 *   2 account active                        603 Decline + X-Twilio-Error       10001
 *   3 source IP in the trunk ACL            403 Forbidden                      32201
 *   4 digest credentials                    407 challenge / 403                32202
 *     (a banned source or username)         403 Forbidden                      32216
 *   5 Max-Forwards > 0                      483 Too Many Hops                  32006
 *   6 called number is E.164                400 Invalid Phone Number           32101
 *   7 caller ID is the account's            403 Invalid Caller ID              32204
 *   8 trial: called number verified         400 The number is unverified       32100
 *   9 geo permissions                       403 No International Authorization 32205
 *  10 blocklist                             403 Phone number is blocked …      32203
 *  11 secure trunking, SDP offer usable     403 / 488 / 415 / 400              32209/32208/32207/32102
 *  12 trunk CPS                             503 Trunk CPS limit exceeded       32001
 *  13 pooled account CPS                    503 Trunk CPS limit exceeded       32012
 *  14 concurrency                           503 Trunk concurrent call limit …  10004
 *     (ours) shared store unreachable,
 *     limits.onStoreFailure: closed          503 Service Unavailable            99101
 */
import type { AlertCode } from '../alerts/alert-codes.js';
import type { Region } from '../config/schema.js';
import type { CallLease } from '../limits/concurrency.js';
import type { LimitRequest, LimitResult, LimitStore } from '../limits/limit-store.js';
import { ACCEPTED_CODECS, SDP_CONTENT_TYPE, offersSrtp, pickCodec, readAudioOffer } from '../media/sdp.js';
import { isE164, numberMatches } from '../numbers/number-patterns.js';
import { type SipRequest, parseBoundedInt, parseNameAddr, parseUri, splitList } from '../sip/message/index.js';
import type { DigestGuard } from './digest-guard.js';
import { type CompiledTrunk, type Directory, type TrunkMatch, pooledCpsSettings, trunkCpsSettings } from './directory.js';
import { unsupportedRequired } from './extensions.js';

/** Outcome label of `trunkgate_call_attempts_total` (a closed set). */
export const ATTEMPT_OUTCOMES = [
  'admitted',
  'cps_limited',
  'pooled_cps_limited',
  'concurrency_limited',
  'challenged',
  'unauthorized',
  'invalid_number',
  'forbidden',
  'unsupported_media',
  'draining',
  'inactive',
  'too_many_hops',
  'unverified',
  'bad_extension',
  'banned',
  'store_unavailable',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export interface Rejection {
  status: number;
  reason: string;
  headers: Array<readonly [string, string]>;
  alert: AlertCode | undefined;
  outcome: AttemptOutcome;
}

export type AdmissionDecision =
  | { kind: 'drop' }
  /**
   * `beforeAuthentication`: refused before the sender was authenticated (an
   * unknown trunk, an inactive account, the ACL, the credentials, a ban): the
   * refusal is sent once, without a 100 Trying or retransmissions, so that a
   * spoofed source gets at most one datagram per datagram (issue 12).
   */
  | ({ kind: 'reject'; match: TrunkMatch | undefined; beforeAuthentication: boolean } & Rejection)
  /** Admitted: the call holds `lease` until it ends. */
  | { kind: 'admit'; match: TrunkMatch; lease: CallLease };

export interface AdmissionContext {
  directory: Directory;
  /** Where checks 12-14 take their tokens and leases (memory, or shared through Redis). */
  limits: LimitStore;
  /** Digest authentication with its ban on password guessing. */
  auth: DigestGuard;
  /** The CPS in force for (trunk, region): the Console API's setting, else the config's. */
  cpsFor(trunk: CompiledTrunk, region: Region): number;
}

/** Check 1 (SPEC §4.2): the Request-URI host names a known trunk. */
export function identify(req: SipRequest, directory: Directory): TrunkMatch | undefined {
  const uri = req.requestUri;
  if (uri === undefined || (uri.scheme !== 'sip' && uri.scheme !== 'sips')) return undefined;
  return directory.match(uri.host);
}

/** The unknown-domain answer: silence (the provider's), or 403 with `unknownDomain: reject`. */
export function unknownDomain(directory: Directory): AdmissionDecision {
  if (directory.config.sip.unknownDomain === 'reject') {
    return { kind: 'reject', match: undefined, beforeAuthentication: true, status: 403, reason: 'Forbidden', headers: [], alert: undefined, outcome: 'forbidden' };
  }
  return { kind: 'drop' };
}

function reject(status: number, reason: string, outcome: AttemptOutcome, alert?: AlertCode, headers: Array<readonly [string, string]> = []): Rejection {
  return { status, reason, headers, alert, outcome };
}

interface CheckInput {
  req: SipRequest;
  match: TrunkMatch;
  trunk: CompiledTrunk;
  ctx: AdmissionContext;
  /** The called number (Request-URI user). */
  called: string;
}

type Check = (c: CheckInput) => Rejection | undefined;

/** Check 2: the account is active. */
const accountActive: Check = ({ trunk }) =>
  trunk.account.config.active ? undefined : reject(603, 'Decline', 'inactive', 10001, [['X-Twilio-Error', '10001 Account is not active']]);

/**
 * Checks 3 and 4: IP ACL and digest credentials; both when both are
 * configured; a trunk with neither takes no traffic (403, alert 32200).
 */
const ipAclAndCredentials: Check = ({ req, trunk, ctx }) => {
  const acl = trunk.aclAllows;
  const credentials = trunk.config.auth.credentials;
  if (acl === undefined && credentials.length === 0) return reject(403, 'Forbidden', 'forbidden', 32200);
  if (acl !== undefined && !acl(req.source?.address ?? '')) return reject(403, 'Forbidden', 'forbidden', 32201);
  if (credentials.length === 0) return undefined;
  const verdict = ctx.auth.authenticate(req, credentials, ctx.directory.config.security.digest, trunk.name);
  if (verdict.ok) return undefined;
  switch (verdict.kind) {
    case 'challenge':
      // RFC 8760: one Proxy-Authenticate per algorithm offered, the preferred first
      return reject(
        407,
        'Proxy Authentication Required',
        'challenged',
        undefined,
        verdict.challenges.map((c) => ['Proxy-Authenticate', c] as const),
      );
    case 'refused':
      return reject(403, 'Forbidden', 'unauthorized', 32202);
    case 'banned':
      return reject(403, 'Forbidden', 'banned', 32216);
  }
};

/**
 * Protocol check after authentication (ours: the SPEC's table has no row for
 * it): a `Require` we do not support gets 420 Bad Extension listing it in
 * Unsupported (RFC 3261 §8.2.2.3). trunkgate supports no extensions (no
 * 100rel, no session timers), so any Require is refused. It runs after the ACL
 * and digest checks so that an unknown source learns nothing more than 403.
 */
const requireSupported: Check = ({ req }) => {
  const unsupported = unsupportedRequired(req.optionTags('require'));
  return unsupported.length === 0 ? undefined : reject(420, 'Bad Extension', 'bad_extension', undefined, [['Unsupported', unsupported.join(', ')]]);
};

/** Check 5: Max-Forwards, when present, is above 0 (a request without one is taken as 70, RFC 3261 §16.6). */
const maxForwards: Check = ({ req }) => {
  const value = req.headers.get('max-forwards');
  if (value === undefined) return undefined;
  return parseBoundedInt(value.trim(), 255) > 0 ? undefined : reject(483, 'Too Many Hops', 'too_many_hops', 32006);
};

/** Check 6: the called number is E.164. */
const calledNumberE164: Check = ({ called }) => (isE164(called) ? undefined : reject(400, 'Invalid Phone Number', 'invalid_number', 32101));

/** The user part of the first address in a header value, or undefined. */
function addressUser(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first: string[] = [];
  splitList(value, first);
  const na = parseNameAddr(first[0] ?? '');
  if (!na.ok) return undefined;
  const uri = parseUri(na.value.uri);
  return uri.ok ? uri.uri.user : undefined;
}

/**
 * The caller ID: the From user if it is a phone number, else the
 * P-Asserted-Identity's, else the Remote-Party-ID's (SPEC §4.2 check 7).
 */
export function callerId(req: SipRequest): string | undefined {
  for (const candidate of [addressUser(req.headers.get('from')), addressUser(req.headers.get('p-asserted-identity')), addressUser(req.headers.get('remote-party-id'))]) {
    if (candidate !== undefined && isE164(candidate)) return candidate;
  }
  return undefined;
}

/** Check 7: the caller ID is one of the account's numbers or verified caller IDs (only when configured). */
const callerIdAllowed: Check = ({ req, trunk }) => {
  const allowed = trunk.account.config.callerIds;
  if (allowed === undefined) return undefined;
  const id = callerId(req);
  return id !== undefined && allowed.includes(id) ? undefined : reject(403, 'Invalid Caller ID', 'forbidden', 32204);
};

/** Check 8: a trial account calls verified numbers only. */
const trialVerified: Check = ({ trunk, called }) =>
  trunk.account.config.type !== 'trial' || trunk.account.config.verifiedNumbers.includes(called) ? undefined : reject(400, 'The number is unverified', 'unverified', 32100);

/** Check 9: the destination's country code is in the account's geo permissions. */
const geoPermitted: Check = ({ trunk, called }) => {
  const digits = called.slice(1);
  return trunk.account.config.geoPermissions.some((code) => digits.startsWith(code)) ? undefined : reject(403, 'No International Authorization', 'forbidden', 32205);
};

/** Check 10: the destination is not on the blocklist. */
const notBlocked: Check = ({ ctx, called }) =>
  ctx.directory.config.blocklist.some((p) => numberMatches(p, called)) ? reject(403, 'Phone number is blocked for verification', 'forbidden', 32203) : undefined;

/**
 * Check 11: the media. Secure trunking first (SPEC §9, transport before
 * media): a `secure` trunk takes INVITEs over TLS only (403, 32209) with SRTP
 * offered (488, 32208); a trunk that is not secure refuses an SRTP offer (488,
 * 32207). Then an SDP offer, if any, parses and offers PCMU or PCMA; no body
 * is a late offer, allowed.
 */
const usableOffer: Check = ({ req, trunk }) => {
  const secure = trunk.config.secure;
  if (secure && req.source?.transport !== 'tls') return reject(403, 'Forbidden', 'forbidden', 32209);
  if (req.body.length === 0) return undefined;
  const type = req.contentType;
  if (type !== undefined && type !== SDP_CONTENT_TYPE) return reject(415, 'Unsupported Media Type', 'unsupported_media', undefined, [['Accept', SDP_CONTENT_TYPE]]);
  const offer = readAudioOffer(req.body.toString('utf8'));
  if (!offer.ok) return reject(400, 'Bad Request', 'unsupported_media', 32102);
  const srtp = offersSrtp(offer.offer);
  if (secure && !srtp) return reject(488, 'Not Acceptable Here', 'unsupported_media', 32208);
  if (!secure && srtp) return reject(488, 'Not Acceptable Here', 'unsupported_media', 32207);
  return pickCodec(offer.offer, ACCEPTED_CODECS) === undefined ? reject(415, 'Unsupported Media Type', 'unsupported_media') : undefined;
};

/** Checks 2-4: the ones before the sender is authenticated (their refusals are sent once). */
export const AUTHENTICATION_CHECKS: ReadonlyArray<readonly [string, Check]> = [
  ['account-active', accountActive],
  ['ip-acl-and-credentials', ipAclAndCredentials],
];

/** Checks 2-11, in the provider's order (with our 420 after the credentials). */
export const ORDERED_CHECKS: ReadonlyArray<readonly [string, Check]> = [
  ...AUTHENTICATION_CHECKS,
  ['require', requireSupported],
  ['max-forwards', maxForwards],
  ['called-number-e164', calledNumberE164],
  ['caller-id', callerIdAllowed],
  ['trial-verified', trialVerified],
  ['geo-permissions', geoPermitted],
  ['blocklist', notBlocked],
  ['sdp-offer', usableOffer],
];

/** Steps 12-14 for an identified trunk: the scopes and the settings in force. */
function limitRequest(trunk: CompiledTrunk, region: Region, ctx: AdmissionContext): LimitRequest {
  const trunkCps = trunk.cps.get(region);
  if (trunkCps === undefined) throw new Error(`trunk ${trunk.name} has no CPS scope for ${region}`);
  const config = ctx.directory.config;
  const pooled = trunk.account.config.pooledCps?.[region];
  const pooledCps = pooled === undefined ? undefined : trunk.account.pooledCps.get(region);
  return {
    trunkCps,
    trunkSettings: trunkCpsSettings(config, trunk, ctx.cpsFor(trunk, region)),
    pooledCps,
    pooledSettings: pooledCps === undefined || pooled === undefined ? undefined : pooledCpsSettings(config, pooled),
    leaseScopes: trunk.leaseScopes,
  };
}

const TRUNK_CPS_REFUSAL = reject(503, 'Trunk CPS limit exceeded', 'cps_limited', 32001);
const POOLED_CPS_REFUSAL = reject(503, 'Trunk CPS limit exceeded', 'pooled_cps_limited', 32012);
const CONCURRENCY_REFUSAL = reject(503, 'Trunk concurrent call limit exceeded', 'concurrency_limited', 10004);
/**
 * ours: the shared limit store (limits.store: redis) cannot be reached and
 * limits.onStoreFailure is closed. No Retry-After: the store may be back in
 * a moment, and every instance shares it.
 */
const STORE_REFUSAL = reject(503, 'Service Unavailable', 'store_unavailable', 99101);

/** The decision for what the limit store answered (checks 12-14). */
export function limitDecision(match: TrunkMatch, result: LimitResult): AdmissionDecision {
  if (result.ok) return { kind: 'admit', match, lease: result.lease };
  switch (result.refused) {
    case 'trunk-cps':
      return { kind: 'reject', match, beforeAuthentication: false, ...TRUNK_CPS_REFUSAL, headers: [] };
    case 'pooled-cps':
      return { kind: 'reject', match, beforeAuthentication: false, ...POOLED_CPS_REFUSAL, headers: [] };
    case 'concurrency':
      return { kind: 'reject', match, beforeAuthentication: false, ...CONCURRENCY_REFUSAL, headers: [] };
    case 'store-unavailable':
      return { kind: 'reject', match, beforeAuthentication: false, ...STORE_REFUSAL, headers: [] };
  }
}

/**
 * Checks 2-14 for an identified trunk: 2-11 here, 12-14 in the limit store,
 * which takes the CPS tokens and the lease together or gives back what it
 * took (SPEC §4.2): a rejected INVITE keeps neither a token nor a lease.
 * Synchronous with the memory store; a promise with a shared (Redis) one.
 */
export function admit(req: SipRequest, match: TrunkMatch, ctx: AdmissionContext): AdmissionDecision | Promise<AdmissionDecision> {
  const trunk = match.trunk;
  const uri = req.requestUri;
  const input: CheckInput = { req, match, trunk, ctx, called: uri?.user ?? '' };
  for (let i = 0; i < ORDERED_CHECKS.length; i++) {
    const rejection = (ORDERED_CHECKS[i] as readonly [string, Check])[1](input);
    if (rejection !== undefined) return { kind: 'reject', match, beforeAuthentication: i < AUTHENTICATION_CHECKS.length, ...rejection };
  }
  const taken = ctx.limits.take(limitRequest(trunk, match.region, ctx));
  return taken instanceof Promise ? taken.then((result) => limitDecision(match, result)) : limitDecision(match, taken);
}
