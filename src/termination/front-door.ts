/**
 * The provider's front door: the application on top of the UA core. New
 * INVITEs go through admission (SPEC §4) and, when admitted, to the calls
 * layer; OPTIONS pings get 200, REGISTER gets 405 (SPEC §2.1, §5).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import { SDP_CONTENT_TYPE } from '../media/sdp.js';
import type { UserAgentApplication } from '../sip/dialog/index.js';
import { type SipRequest, type SipResponse, createResponse, isStandardMethod, newTag } from '../sip/message/index.js';
import { InviteServerTransaction, type ServerTransaction } from '../sip/transaction/index.js';
import { type AdmissionContext, type AdmissionDecision, admit, identify, unknownDomain } from './admission.js';
import type { TrunkMatch } from './directory.js';
import { ALLOW } from './extensions.js';
import type { CallLease } from '../limits/concurrency.js';

/** Where admitted calls go (the B2BUA). */
export interface CallStarter {
  start(tx: InviteServerTransaction, admitted: { match: TrunkMatch; lease: CallLease }): void;
  /** A CANCEL for an INVITE not yet answered; false when no call matches. */
  cancel(tx: InviteServerTransaction): boolean;
}

export interface FrontDoorEventMap {
  /** Every decision on a new INVITE (metrics, logs). */
  decision: [decision: AdmissionDecision, req: SipRequest];
}

export interface FrontDoorOptions {
  calls: CallStarter;
  alerts: AlertLog;
  /** The current admission context (swapped whole on reload). */
  context: () => AdmissionContext;
  /** Reason phrase of the 100 (SPEC §4.1). */
  tryingReason: string;
  /** True while shutting down: new INVITEs get 503 with Retry-After (SPEC §7.1). */
  draining: () => boolean;
  logger: Logger;
}

/** The provider's reason phrase for 100 (SPEC §4.1, seen on the wire). */
export const PROVIDER_TRYING_REASON = 'trying -- your call is important to us';

/** Seconds a PBX is asked to wait before retrying while the gateway drains. */
export const DRAIN_RETRY_AFTER_SECONDS = 30;

function withHeaders(res: SipResponse, headers: ReadonlyArray<readonly [string, string]>): SipResponse {
  for (const [name, value] of headers) res.headers.append(name, value);
  return res;
}

export class FrontDoor implements UserAgentApplication {
  /**
   * `refusedOnce`: refusals before authentication, sent once (of `rejected`);
   * `pending`: INVITEs whose checks 12-14 a shared store is deciding right now;
   * `abandoned`: those whose transaction ended (CANCEL, transport failure)
   * before the decision came: their lease, if admitted, was released at once.
   */
  readonly stats = { dropped: 0, rejected: 0, refusedOnce: 0, admitted: 0, pending: 0, abandoned: 0 };
  readonly events = new EventEmitter<FrontDoorEventMap>();

  constructor(private readonly options: FrontDoorOptions) {}

  onRequest(req: SipRequest, tx: ServerTransaction): void {
    if (tx instanceof InviteServerTransaction) {
      this.onInvite(req, tx);
      return;
    }
    const res = this.statelessReply(req);
    tx.respond(res);
  }

  /**
   * Requests outside a call are answered without keeping any state (RFC 3261
   * §8.2.7), so a flood of OPTIONS or REGISTER from a scanner costs no memory:
   * OPTIONS pings get 200, REGISTER 405 (a PBX must not register to a trunk,
   * SPEC §2.1), stray BYE/UPDATE/INFO/REFER 481, the rest 405 or 501.
   */
  statelessReply(req: SipRequest): SipResponse {
    const tag = newTag();
    switch (req.method) {
      case 'OPTIONS':
        return withHeaders(createResponse(req, 200, undefined, tag), [['Allow', ALLOW], ['Accept', SDP_CONTENT_TYPE]]);
      case 'REGISTER':
        return withHeaders(createResponse(req, 405, undefined, tag), [['Allow', ALLOW]]);
      case 'BYE':
      case 'UPDATE':
      case 'INFO':
      case 'REFER':
        return createResponse(req, 481, undefined, tag);
      default:
        return withHeaders(createResponse(req, isStandardMethod(req.method) ? 405 : 501, undefined, tag), [['Allow', ALLOW]]);
    }
  }

  onCancel(invite: InviteServerTransaction): void {
    this.options.calls.cancel(invite);
  }

  private onInvite(req: SipRequest, tx: InviteServerTransaction): void {
    const ctx = this.options.context();
    const match = identify(req, ctx.directory);
    if (match === undefined) {
      this.settle(unknownDomain(ctx.directory), req, tx);
      return;
    }
    if (this.options.draining()) {
      this.settle(
        {
          kind: 'reject',
          status: 503,
          reason: 'Service Unavailable',
          headers: [['Retry-After', String(DRAIN_RETRY_AFTER_SECONDS)]],
          alert: undefined,
          outcome: 'draining',
          match,
          beforeAuthentication: true,
        },
        req,
        tx,
      );
      return;
    }
    const decision = admit(req, match, ctx);
    if (!(decision instanceof Promise)) {
      // The trunk is known, so 100 Trying goes out at once (admission here was synchronous,
      // microseconds), with the provider's phrase; but a refusal before authentication goes alone
      // and once (issue 12: at most one datagram out per datagram in).
      if (decision.kind !== 'reject' || !decision.beforeAuthentication) tx.reply(100, this.options.tryingReason);
      this.settle(decision, req, tx);
      return;
    }
    // A shared store decides checks 12-14 (after authentication): 100 Trying first, so the
    // transaction absorbs retransmissions and answers a CANCEL (487) while we wait.
    tx.reply(100, this.options.tryingReason);
    this.stats.pending++;
    decision.then(
      (d) => {
        this.stats.pending--;
        this.settleLater(d, req, tx);
      },
      (err: unknown) => {
        // a bug (the stores answer failures as values): refuse rather than leave the INVITE hanging
        this.stats.pending--;
        this.options.logger.error({ err }, 'admission failed');
        tx.reply(500, 'Server Internal Error');
      },
    );
  }

  /**
   * A decision that came after a wait. If the INVITE's transaction no longer
   * takes a response (CANCELed, timed out, transport gone), the decision is
   * still counted, and an admitted call's lease is released at once: it never
   * leaks.
   */
  private settleLater(decision: AdmissionDecision, req: SipRequest, tx: InviteServerTransaction): void {
    if (tx.open && !tx.cancelled) {
      this.settle(decision, req, tx);
      return;
    }
    this.stats.abandoned++;
    this.events.emit('decision', decision, req);
    if (decision.kind === 'admit') decision.lease.release('canceled');
  }

  private settle(decision: AdmissionDecision, req: SipRequest, tx: InviteServerTransaction): void {
    this.events.emit('decision', decision, req);
    switch (decision.kind) {
      case 'drop':
        this.stats.dropped++;
        tx.drop();
        return;
      case 'reject': {
        this.stats.rejected++;
        const headers = [...decision.headers];
        if (decision.alert !== undefined) {
          const alert = this.options.alerts.raise(decision.alert, { trunk: decision.match?.trunk.name, detail: `${decision.status} ${decision.reason}` });
          // Optional emulator header (SPEC §4.2): never on by default, the provider does not send it.
          if (this.options.context().directory.config.sip.diagnostics) headers.push(['X-Trunkgate-Alert', `${alert.code} ${alert.text}`]);
        }
        if (decision.beforeAuthentication) {
          // no retransmissions, no wait for the ACK: a retransmitted INVITE is answered again, one for one
          this.stats.refusedOnce++;
          tx.replyOnce(decision.status, decision.reason, { headers });
        } else {
          tx.reply(decision.status, decision.reason, { headers });
        }
        return;
      }
      case 'admit':
        this.stats.admitted++;
        this.options.calls.start(tx, decision);
        return;
    }
  }
}
