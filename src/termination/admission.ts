/**
 * Admission: the provider's ordered checks (SPEC §4.2) turn a new INVITE into
 * a decision — drop, reject with an exact status and reason, or admit with a
 * lease. Expected outcomes are values; nothing here throws for bad input.
 */
import type { AlertCode } from '../alerts/alert-codes.js';
import type { CallInfo } from '../b2bua/call.js';
import type { ConcurrencyTracker } from '../limits/concurrency.js';
import type { SipRequest } from '../sip/message/index.js';
import type { Directory, TrunkMatch } from './directory.js';

/** Outcome label of `trunkgate_call_attempts_total`. */
export type AttemptOutcome =
  | 'admitted'
  | 'cps_limited'
  | 'pooled_cps_limited'
  | 'concurrency_limited'
  | 'unauthorized'
  | 'invalid_number'
  | 'forbidden'
  | 'unsupported_media'
  | 'draining'
  | 'inactive'
  | 'too_many_hops'
  | 'bad_extension'
  | 'bad_request';

export type AdmissionDecision =
  | { kind: 'drop' }
  | {
      kind: 'reject';
      status: number;
      reason: string;
      headers: Array<readonly [string, string]>;
      alert: AlertCode | undefined;
      outcome: AttemptOutcome;
      match: TrunkMatch | undefined;
    }
  | { kind: 'admit'; info: CallInfo; match: TrunkMatch };

export interface AdmissionContext {
  directory: Directory;
  tracker: ConcurrencyTracker;
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
    return { kind: 'reject', status: 403, reason: 'Forbidden', headers: [], alert: undefined, outcome: 'forbidden', match: undefined };
  }
  return { kind: 'drop' };
}

/**
 * Checks 2-14 for an identified trunk. Until the admission issue lands this
 * is the stand-in that admits every call, holding a lease on the trunk and
 * the account (no caps yet).
 */
export function admit(_req: SipRequest, match: TrunkMatch, ctx: AdmissionContext): AdmissionDecision {
  const trunk = match.trunk;
  const acquired = ctx.tracker.tryAcquire(trunk.leaseScopes);
  if (!acquired.ok) {
    return { kind: 'reject', status: 503, reason: 'Trunk concurrent call limit exceeded', headers: [], alert: 10004, outcome: 'concurrency_limited', match };
  }
  return {
    kind: 'admit',
    match,
    info: {
      trunk: trunk.name,
      account: trunk.account.name,
      region: match.region,
      edge: match.edge,
      route: trunk.config.route,
      lease: acquired.lease,
      maxDurationMs: trunk.maxDurationMs,
    },
  };
}
