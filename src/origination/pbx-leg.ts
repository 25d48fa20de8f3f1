/**
 * One attempt of an inbound call at one origination URI (SPEC §11): the
 * INVITE the provider sends to the PBX — the dialled number in the
 * Request-URI (unless the URI has a user part) and in `Diversion`,
 * `X-Twilio-AccountSid`, `X-Twilio-CallSid`, `User-Agent: Twilio Gateway`,
 * `Max-Forwards: 60` (as seen on the wire), the URI's own `X-` headers, and
 * an SDP offer of PCMU and PCMA (SRTP on a secure trunk) — then, once
 * answered, the dialog: the PBX's BYE, re-INVITEs, INFO, and its REFER.
 * The call (inbound-call.ts) decides what each outcome means.
 */
import type { OriginationTarget } from '../config/origination-uri.js';
import { SDP_CONTENT_TYPE } from '../media/sdp.js';
import { type Dialog, type DialogUsage, OutgoingInvite, type UserAgentCore, sendInDialog } from '../sip/dialog/index.js';
import { type SipRequest, type SipResponse, createRequest, newCallId, newTag } from '../sip/message/index.js';
import type { ServerTransaction } from '../sip/transaction/index.js';
import { type Destination, formatHostPort } from '../sip/transport/index.js';
import { ALLOW } from '../termination/extensions.js';

/** What the provider's INVITEs say they are (seen on the wire). */
export const PROVIDER_USER_AGENT = 'Twilio Gateway';
/** The provider's origination INVITEs arrive with Max-Forwards 60 (seen on the wire). */
export const ORIGINATION_MAX_FORWARDS = '60';

export interface PbxLegParams {
  target: OriginationTarget;
  /** The number dialled (E.164): Request-URI user (unless the URI fixes one), To, Diversion. */
  dialled: string;
  /** The caller (E.164): From. */
  caller: string;
  accountSid: string;
  callSid: string;
  /** The domain of the Diversion URI: the provider's `twilio.com` (the termination domain without its first label). */
  diversionDomain: string;
  /** Our SDP offer. */
  offer: string;
}

export interface Body {
  body: Buffer;
  contentType: string | undefined;
}

export interface PbxLegEvents {
  /** The URI answered something (100 Trying counts): it is there. */
  responded(leg: PbxLeg): void;
  /** 2xx: the dialog is up (the ACK has gone out). */
  answered(leg: PbxLeg): void;
  /** A non-2xx final, Timer B (`timeout`), or the transport (`transport-error`). Not after `abandon()`. */
  failed(leg: PbxLeg, status: number, reason: string, cause: 'rejected' | 'timeout' | 'transport-error'): void;
  /** After the answer: the PBX sent BYE, or its connection closed. */
  hungUp(leg: PbxLeg): void;
  /** After the answer: the PBX transfers the call. */
  refer(leg: PbxLeg, req: SipRequest, tx: ServerTransaction): void;
  /** After the answer: a re-INVITE or UPDATE from the PBX; resolves with our answer. */
  reoffer(leg: PbxLeg, method: string, body: Body | undefined): Promise<{ status: number; reason: string; body?: Buffer }>;
}

export type PbxLegState = 'calling' | 'answered' | 'ending' | 'ended';

export class PbxLeg implements DialogUsage {
  /** This attempt's SIP Call-ID. */
  readonly callId = newCallId();
  state: PbxLegState = 'calling';
  dialog: Dialog | undefined;
  private invite: OutgoingInvite | undefined;
  private unwatch: (() => void) | undefined;
  /** Abandoned or cancelled: what the INVITE still brings is cleaned up, not reported. */
  private given = false;
  readonly destination: Destination;

  constructor(
    private readonly core: UserAgentCore,
    private readonly params: PbxLegParams,
    private readonly events: PbxLegEvents,
  ) {
    const t = params.target;
    this.destination = { transport: t.transport, address: t.address, port: t.port };
  }

  /** The INVITE as the provider sends it. */
  buildInvite(): SipRequest {
    const p = this.params;
    const dest = this.destination;
    const theirs = formatHostPort(dest.address, dest.port);
    const ours = this.core.hostPortFor(dest);
    const transportParam = dest.transport === 'udp' ? '' : `;transport=${dest.transport}`;
    const user = p.target.user ?? p.dialled;
    const headers: Array<readonly [string, string]> = [
      ['Max-Forwards', ORIGINATION_MAX_FORWARDS],
      ['From', `<sip:${p.caller}@${ours}>;tag=${newTag()}`],
      ['To', `<sip:${p.dialled}@${theirs}>`],
      ['Call-ID', this.callId],
      ['CSeq', '1 INVITE'],
      ['Contact', this.core.contactFor(dest)],
      ['Diversion', `<sip:${p.dialled}@${p.diversionDomain}>;reason=unconditional`],
      ['X-Twilio-AccountSid', p.accountSid],
      ['X-Twilio-CallSid', p.callSid],
      ['User-Agent', PROVIDER_USER_AGENT],
      ['Allow', ALLOW],
      ...p.target.headers,
      ['Content-Type', SDP_CONTENT_TYPE],
    ];
    return createRequest('INVITE', `sip:${user}@${theirs}${transportParam}`, headers, Buffer.from(p.offer));
  }

  start(): void {
    const dest = this.destination;
    const req = this.buildInvite();
    if (dest.transport !== 'udp') this.unwatch = this.core.watchFlow(dest, () => this.onFlowClosed());
    this.invite = new OutgoingInvite(this.core, req, dest, this.core.contactFor(dest), this, {
      onProgress: () => {
        if (!this.given) this.events.responded(this);
      },
      onAnswer: (_res: SipResponse, dialog: Dialog) => this.onAnswer(dialog),
      onFailure: (status, res, cause) => {
        if (this.state === 'ended') return;
        this.finish();
        if (this.given) return;
        if (res !== undefined) this.events.responded(this);
        this.events.failed(this, status, res?.reason ?? '', cause);
      },
    });
  }

  /**
   * Give up on an INVITE that drew no response (the 4 s rule): nothing can be
   * cancelled before a provisional response (RFC 3261 §9.1), so the
   * transaction just stops; nothing more is reported.
   */
  abandon(): void {
    if (this.state !== 'calling') return;
    this.given = true;
    this.invite?.abandon();
    this.finish();
  }

  /** Stop ringing (CANCEL; an answer that crosses it is ACKed and BYEd); nothing more is reported. */
  cancel(): void {
    if (this.state !== 'calling') return;
    this.given = true;
    this.invite?.cancel();
  }

  /** End the call with the PBX (BYE after the answer, CANCEL before). */
  hangup(): void {
    if (this.state === 'calling') {
      this.cancel();
      return;
    }
    const dialog = this.dialog;
    if (this.state !== 'answered' || dialog === undefined) return;
    this.state = 'ending';
    const done = (): void => this.finish();
    sendInDialog(this.core, dialog, 'BYE').then(done, done);
  }

  private onAnswer(dialog: Dialog): void {
    this.dialog = dialog;
    if (this.given || this.state !== 'calling') {
      // cancelled or abandoned meanwhile: the PBX answered anyway; end its call
      this.state = 'answered';
      this.hangup();
      return;
    }
    this.state = 'answered';
    this.events.responded(this);
    this.events.answered(this);
  }

  private onFlowClosed(): void {
    if (this.state === 'answered') {
      this.finish();
      this.events.hungUp(this);
    } else if (this.state === 'calling') {
      this.invite?.abandon();
      this.finish();
      if (!this.given) this.events.failed(this, 503, 'Service Unavailable', 'transport-error');
    }
  }

  /** DialogUsage: a request in the dialog with the PBX. */
  onRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (tx === undefined) return; // the ACK for a re-INVITE we answered
    const dialog = this.dialog;
    if (dialog !== undefined && !dialog.acceptRemoteSeq(req)) {
      tx.reply(500, 'CSeq Out of Order');
      return;
    }
    switch (req.method) {
      case 'BYE': {
        tx.reply(200);
        const wasAnswered = this.state === 'answered';
        this.finish();
        if (wasAnswered) this.events.hungUp(this);
        return;
      }
      case 'REFER':
        if (this.state !== 'answered') {
          tx.reply(481);
          return;
        }
        this.events.refer(this, req, tx);
        return;
      case 'INVITE':
      case 'UPDATE': {
        if (this.state !== 'answered') {
          tx.reply(req.method === 'INVITE' ? 491 : 481);
          return;
        }
        if (req.method === 'INVITE') dialog?.refreshTarget(req);
        const body = req.body.length > 0 ? { body: req.body, contentType: req.headers.get('content-type') } : undefined;
        this.events.reoffer(this, req.method, body).then(
          (r) => tx.reply(r.status, r.reason, { headers: [['Contact', dialog?.localContact ?? '']], ...(r.body !== undefined ? { body: r.body, contentType: SDP_CONTENT_TYPE } : {}) }),
          () => tx.reply(500),
        );
        return;
      }
      case 'INFO':
      case 'OPTIONS':
        tx.reply(200, undefined, req.method === 'OPTIONS' ? { headers: [['Allow', ALLOW]] } : undefined);
        return;
      default:
        tx.reply(501, undefined, { headers: [['Allow', ALLOW]] });
    }
  }

  private finish(): void {
    this.state = 'ended';
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.dialog !== undefined) this.core.unregister(this.dialog.key);
  }
}
