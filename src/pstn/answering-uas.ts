/**
 * A minimal answering UAS: every INVITE is answered 200 OK at once with an
 * SDP answer, BYE ends the call. It stands in for the B2BUA and PSTN
 * emulator until those land, and is the simplest real TU of the SIP core.
 */
import type { SipRequest } from '../sip/message/index.js';
import type { ServerTransaction } from '../sip/transaction/server-transactions.js';
import { InviteServerTransaction } from '../sip/transaction/server-transactions.js';
import { IncomingInvite, type UserAgentApplication, type UserAgentCore } from '../sip/dialog/index.js';
import { formatHostPort } from '../sip/transport/listen-url.js';
import { buildAnswer, buildOffer, pickCodec, readAudioOffer } from './sdp.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO';
const BUSY_PREFIX = '+1555000486';
const KNOWN_UNSUPPORTED = new Set(['REGISTER', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH', 'PRACK', 'UPDATE', 'INFO']);

export interface AnsweringUasOptions {
  /** Where SDP answers point: an RtpSink (read at answer time, after it has bound). */
  media: { readonly address: string; readonly port: number };
  /** Answer after this long (0: at once, with no provisional response). Default 0. */
  answerAfterMs?: number;
}

export class AnsweringUas implements UserAgentApplication {
  /** New INVITEs the application saw (retransmissions never reach it). */
  readonly stats = { invites: 0, answered: 0, acked: 0, byes: 0, ackTimeouts: 0, rejected: 0 };
  private readonly calls = new Map<string, IncomingInvite>();
  private readonly pending = new Map<InviteServerTransaction, NodeJS.Timeout>();

  constructor(
    private readonly core: UserAgentCore,
    private readonly options: AnsweringUasOptions,
  ) {}

  get activeCalls(): number {
    return this.calls.size;
  }

  onRequest(req: SipRequest, tx: ServerTransaction): void {
    if (tx instanceof InviteServerTransaction) {
      this.onInvite(req, tx);
      return;
    }
    switch (req.method) {
      case 'OPTIONS':
        tx.reply(200, undefined, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] });
        return;
      case 'BYE':
        tx.reply(481);
        return;
      default:
        tx.reply(KNOWN_UNSUPPORTED.has(req.method) ? 405 : 501, undefined, { headers: [['Allow', ALLOW]] });
    }
  }

  private onInvite(req: SipRequest, tx: InviteServerTransaction): void {
    this.stats.invites++;
    // The default config's busy numbers (SPEC §7.1) already answer busy here.
    if (req.requestUri?.user?.startsWith(BUSY_PREFIX) === true) {
      this.stats.rejected++;
      tx.reply(486);
      return;
    }
    let body: string;
    if (req.body.length === 0) {
      body = buildOffer(this.options.media.address, this.options.media.port);
    } else {
      const offer = readAudioOffer(req.body.toString('utf8'));
      const codec = offer.ok ? pickCodec(offer.offer, ['PCMU', 'PCMA']) : undefined;
      if (!offer.ok || codec === undefined) {
        this.stats.rejected++;
        tx.reply(offer.ok ? 488 : 400);
        return;
      }
      body = buildAnswer(offer.offer, codec, this.options.media.address, this.options.media.port);
    }
    const delayMs = this.options.answerAfterMs ?? 0;
    if (delayMs > 0) {
      const timer = setTimeout(() => {
        this.pending.delete(tx);
        this.answer(req, tx, body);
      }, delayMs);
      this.pending.set(tx, timer);
      return;
    }
    this.answer(req, tx, body);
  }

  /** CANCEL before the answer: stop the pending answer (the layer sends the 487). */
  onCancel(invite: InviteServerTransaction): void {
    clearTimeout(this.pending.get(invite));
    this.pending.delete(invite);
  }

  private answer(req: SipRequest, tx: InviteServerTransaction, body: string): void {
    if (tx.state !== 'proceeding') return;
    const call = new IncomingInvite(this.core, tx, localContact(req));
    const key = call.dialog.key;
    this.calls.set(key, call);
    this.core.register(key, {
      onRequest: (inDialog, inTx) => this.onInDialog(call, inDialog, inTx),
    });
    this.stats.answered++;
    call.answer(200, { body, contentType: 'application/sdp' }, () => {
      // §13.3.1.4: no ACK for 64*T1: the session ends with a BYE.
      this.stats.ackTimeouts++;
      this.end(call);
      const bye = call.dialog.createRequest('BYE');
      this.core.layer.sendRequest(bye, call.dialog.destination, { onResponse: () => undefined });
    });
  }

  private onInDialog(call: IncomingInvite, req: SipRequest, tx: ServerTransaction | undefined): void {
    if (tx === undefined) {
      if (req.method === 'ACK' && call.ack()) this.stats.acked++;
      return;
    }
    if (!call.dialog.acceptRemoteSeq(req)) {
      tx.reply(500, 'CSeq Out of Order');
      return;
    }
    switch (req.method) {
      case 'BYE':
        this.stats.byes++;
        this.end(call);
        tx.reply(200);
        return;
      case 'INVITE':
      case 'UPDATE': {
        const offer = req.body.length > 0 ? readAudioOffer(req.body.toString('utf8')) : undefined;
        const codec = offer?.ok === true ? pickCodec(offer.offer, ['PCMU', 'PCMA']) : undefined;
        if (offer !== undefined && (!offer.ok || codec === undefined)) {
          tx.reply(488);
          return;
        }
        const body =
          offer?.ok === true && codec !== undefined
            ? buildAnswer(offer.offer, codec, this.options.media.address, this.options.media.port)
            : buildOffer(this.options.media.address, this.options.media.port);
        tx.reply(200, undefined, { headers: [['Contact', call.dialog.localContact]], body, contentType: 'application/sdp' });
        return;
      }
      case 'INFO':
      case 'OPTIONS':
        tx.reply(200);
        return;
      default:
        tx.reply(501, undefined, { headers: [['Allow', ALLOW]] });
    }
  }

  private end(call: IncomingInvite): void {
    call.stop();
    this.calls.delete(call.dialog.key);
    this.core.unregister(call.dialog.key);
  }

  /** Stop every call's timers (shutdown). */
  stopAll(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    for (const call of this.calls.values()) this.end(call);
  }
}

/** Our Contact for a dialog set up by `req`: the address and transport it arrived on. */
export function localContact(req: SipRequest): string {
  const s = req.source;
  if (s === undefined) return '<sip:trunkgate@127.0.0.1>';
  const transport = s.transport === 'tcp' ? ';transport=tcp' : '';
  return `<sip:trunkgate@${formatHostPort(s.localAddress, s.localPort)}${transport}>`;
}
