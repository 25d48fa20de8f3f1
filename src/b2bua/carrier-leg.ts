/**
 * The B-leg to a downstream carrier (`route: sip:host:port[;transport=tcp]`):
 * a UAC dialog of our own, with its own Call-ID, tags and Contact.
 */
import { type Destination, formatHostPort } from '../sip/transport/index.js';
import { type Dialog, OutgoingInvite, type UserAgentCore, sendInDialog } from '../sip/dialog/index.js';
import { type SipRequest, type SipResponse, createRequest, newCallId, newTag } from '../sip/message/index.js';
import type { ServerTransaction } from '../sip/transaction/index.js';
import { ALLOW } from '../termination/extensions.js';
import type { BLeg, BLegEvents, RelayResult, RelayedBody } from './b-leg.js';
import { passedOn } from './headers.js';
import { cleanDisplayName, cleanUser } from './relay-text.js';

export interface CarrierLegParams {
  destination: Destination;
  /** The user part of the Request-URI and To: the E.164 number called, or a SIP user; empty for a URI without one (`sip:host:port`). */
  called: string;
  /** Caller ID as the PBX sent it (user part of From). */
  caller: string;
  callerDisplayName: string | undefined;
  offer: RelayedBody | undefined;
  /** How long the carrier may take to answer (RFC 3261 Timer C): then it is cancelled and the caller gets 408. */
  ringTimeoutMs: number;
  /** A registered client's contact and address of record: the Request-URI and To (default: `called` at the destination). */
  requestUri?: string | undefined;
  toUri?: string | undefined;
  /** More headers for the INVITE (a transfer's Referred-By). */
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
}

type CarrierState = 'idle' | 'calling' | 'answered' | 'ending' | 'ended';

export class CarrierLeg implements BLeg {
  /** This leg's Call-ID, chosen up front so observers can tie it to the call before the INVITE goes out. */
  readonly callId = newCallId();
  private state: CarrierState = 'idle';
  private invite: OutgoingInvite | undefined;
  private dialog: Dialog | undefined;
  private cancelled = false;
  /** Stops watching the carrier's connection. */
  private unwatch: (() => void) | undefined;
  private ringTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: UserAgentCore,
    private readonly params: CarrierLegParams,
    private readonly events: BLegEvents,
  ) {}

  start(): void {
    const p = this.params;
    const dest = p.destination;
    const contact = this.core.contactFor(dest);
    const ours = this.core.hostPortFor(dest);
    const theirs = formatHostPort(dest.address, dest.port);
    const transportParam = dest.transport === 'udp' ? '' : `;transport=${dest.transport}`;
    // What the PBX sent, made safe to relay (issue 12): no control characters, capped, user part escaped.
    const displayName = cleanDisplayName(p.callerDisplayName);
    const display = displayName !== undefined ? `"${displayName.replace(/(["\\])/g, '\\$1')}" ` : '';
    const target = p.called.length > 0 ? `${p.called}@${theirs}` : theirs;
    const headers: Array<readonly [string, string]> = [
      ['From', `${display}<sip:${cleanUser(p.caller)}@${ours}>;tag=${newTag()}`],
      ['To', `<${p.toUri ?? `sip:${target}`}>`],
      ['Call-ID', this.callId],
      ['CSeq', '1 INVITE'],
      ['Contact', contact],
      ['Allow', ALLOW],
    ];
    if (p.extraHeaders !== undefined) headers.push(...p.extraHeaders);
    const offer = p.offer;
    p.offer = undefined; // the request keeps what it needs; an answered call keeps none of it
    if (offer !== undefined && offer.body.length > 0 && offer.contentType !== undefined) headers.push(['Content-Type', offer.contentType]);
    const req: SipRequest = createRequest('INVITE', p.requestUri ?? `sip:${target}${transportParam}`, headers, offer?.body);
    this.state = 'calling';
    // A stream carrier's connection closing ends the call (SPEC §4.4 transport failure).
    if (dest.transport !== 'udp') this.unwatch = this.core.watchFlow(dest, () => this.onFlowClosed());
    this.ringTimer = setTimeout(() => this.onRingTimeout(), p.ringTimeoutMs);
    this.ringTimer.unref();
    this.invite = new OutgoingInvite(
      this.core,
      req,
      dest,
      contact,
      { onRequest: (inDialog, tx) => this.onRequest(inDialog, tx) },
      {
        onProgress: (res) => this.onProgress(res),
        onAnswer: (res, dialog) => this.onAnswer(res, dialog),
        onFailure: (status, res, cause) => {
          if (this.state === 'ended') return;
          this.finish();
          if (!this.cancelled) this.events.fail(status, res?.reason ?? '', cause, res === undefined ? undefined : passedOn(res));
        },
      },
    );
  }

  private onFlowClosed(): void {
    if (this.state === 'answered') {
      this.finish();
      this.events.lost();
    } else if (this.state === 'calling') {
      // the carrier's connection closed while it rang: nothing more can come of this INVITE
      this.invite?.abandon();
      this.finish();
      if (!this.cancelled) this.events.fail(503, 'Service Unavailable', 'transport-error');
    }
  }

  /** Timer C (RFC 3261 §16.6 step 11; SPEC §9): the carrier rang too long. Cancel it; the caller gets 408. */
  private onRingTimeout(): void {
    this.ringTimer = undefined;
    if (this.state !== 'calling' || this.cancelled) return;
    this.cancelled = true;
    this.invite?.cancel();
    this.events.fail(408, 'Request Timeout', 'ring-timeout');
  }

  private onProgress(res: SipResponse): void {
    if (res.status === 100 || this.state !== 'calling' || this.cancelled) return;
    this.events.progress(res.status, res.reason, bodyOf(res), passedOn(res));
  }

  private onAnswer(res: SipResponse, dialog: Dialog): void {
    this.dialog = dialog;
    clearTimeout(this.ringTimer);
    if (this.cancelled || this.state !== 'calling') {
      // The caller went away while the carrier answered: end this leg at once.
      this.state = 'answered';
      this.hangup();
      return;
    }
    this.state = 'answered';
    this.events.answer(bodyOf(res), passedOn(res));
  }

  private onRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (tx === undefined) return; // ACK for a re-INVITE we answered
    const dialog = this.dialog;
    if (dialog !== undefined && !dialog.acceptRemoteSeq(req)) {
      tx.reply(500, 'CSeq Out of Order');
      return;
    }
    switch (req.method) {
      case 'BYE':
        tx.reply(200);
        if (this.state === 'answered') {
          this.finish();
          this.events.bye();
        } else {
          this.finish();
        }
        return;
      case 'INVITE':
      case 'UPDATE':
      case 'INFO': {
        if (this.state !== 'answered') {
          tx.reply(req.method === 'INVITE' ? 491 : 481);
          return;
        }
        this.events.request(req.method, bodyOf(req)).then(
          (r) => {
            const options = {
              headers: req.method === 'INFO' ? [] : ([['Contact', dialog?.localContact ?? '']] as Array<readonly [string, string]>),
              body: r.body,
              contentType: r.contentType,
            };
            tx.reply(r.status, r.reason, options);
          },
          () => tx.reply(500),
        );
        return;
      }
      case 'OPTIONS':
        tx.reply(200);
        return;
      default:
        tx.reply(501);
    }
  }

  acknowledged(answer: RelayedBody | undefined): void {
    this.invite?.ack(answer);
  }

  cancel(): void {
    this.cancelled = true;
    if (this.state === 'calling') this.invite?.cancel();
    else if (this.state === 'answered') this.hangup();
  }

  hangup(): void {
    const dialog = this.dialog;
    if (this.state === 'calling') {
      this.cancel();
      return;
    }
    if (this.state !== 'answered' || dialog === undefined) return;
    this.state = 'ending';
    // a late offer's 2xx still waiting for its ACK is ACKed (without an answer) before the BYE (§13.2.2.4)
    this.invite?.ack(undefined);
    sendInDialog(this.core, dialog, 'BYE').then(
      () => this.finish(),
      () => this.finish(),
    );
  }

  private finish(): void {
    this.state = 'ended';
    clearTimeout(this.ringTimer);
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.dialog !== undefined) this.core.unregister(this.dialog.key);
  }

  async request(method: string, body: RelayedBody | undefined): Promise<RelayResult> {
    const dialog = this.dialog;
    if (dialog === undefined || this.state !== 'answered') return { status: 481, reason: 'Call/Transaction Does Not Exist' };
    const r = await sendInDialog(this.core, dialog, method, { body: body?.body, contentType: body?.contentType });
    return { status: r.status, reason: r.reason, ...(r.response !== undefined ? bodyOf(r.response) : undefined) };
  }
}

function bodyOf(msg: SipRequest | SipResponse): RelayedBody | undefined {
  if (msg.body.length === 0) return undefined;
  return { body: msg.body, contentType: msg.headers.get('content-type') };
}


