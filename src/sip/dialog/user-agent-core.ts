/**
 * The UA core that sits on the transaction layer (RFC 3261 §8, §12, §13):
 * it routes in-dialog requests to the dialog usage that owns them, answers
 * requests for unknown dialogs with 481, and hands everything else to the
 * application.
 */
import type { SipRequest, SipResponse, TransportName } from '../message/index.js';
import type { ClientTransaction, ClientTransactionHandlers } from '../transaction/client-transactions.js';
import type { InviteServerTransaction, ServerTransaction } from '../transaction/server-transactions.js';
import type { SendRequestOptions, TransactionLayer, TransactionUser } from '../transaction/transaction-layer.js';
import type { Destination, Flow } from '../transport/sip-transport.js';
import { dialogKey } from './dialog.js';

/** Something that owns a dialog: a call leg. */
export interface DialogUsage {
  /** An in-dialog request; `tx` is undefined for ACK. */
  onRequest(req: SipRequest, tx: ServerTransaction | undefined): void;
  /** A 2xx to our INVITE arrived again after its transaction ended (resend the ACK). */
  onRetransmitted2xx?(res: SipResponse): void;
}

/** The application above the UA core. */
export interface UserAgentApplication {
  /** A request outside any dialog (no To tag). ACKs never come here. */
  onRequest(req: SipRequest, tx: ServerTransaction): void;
  /** A CANCEL for an INVITE the application has not answered yet. */
  onCancel?(invite: InviteServerTransaction, cancel: SipRequest): void;
  /** Answer an out-of-dialog non-INVITE request without keeping a transaction (see TransactionUser). */
  statelessReply?(req: SipRequest): SipResponse | undefined;
}

/** The user part of the Contact URIs trunkgate sends. */
export const CONTACT_USER = 'trunkgate';

/**
 * `<sip:user@host:port;transport=…>`: UDP is the default and goes unsaid
 * (RFC 3261 §19.1.1). With `sips`, a SIPS URI (RFC 3261 §8.1.1.8: a request
 * whose Request-URI is SIPS gets a SIPS Contact), which implies TLS.
 */
export function contactHeader(hostPort: string, transport: TransportName, user: string = CONTACT_USER, sips = false): string {
  if (sips) return `<sips:${user}@${hostPort}>`;
  return `<sip:${user}@${hostPort}${transport === 'udp' ? '' : `;transport=${transport}`}>`;
}

export class UserAgentCore implements TransactionUser {
  private readonly usages = new Map<string, DialogUsage>();
  private app: UserAgentApplication | undefined;
  /** In-dialog requests that found no dialog (answered 481, or dropped for ACK). */
  readonly stats = { unknownDialog: 0, strayAcks: 0 };

  constructor(private readonly layer: TransactionLayer) {
    layer.attach(this);
  }

  /** Connect the application (once; a second call throws). */
  attach(app: UserAgentApplication): void {
    if (this.app !== undefined) throw new Error('the UA core already has an application');
    this.app = app;
  }

  // ------------------------------------------------------------ what dialogs and applications use

  /** Send a request in a new client transaction (the transaction layer adds our Via). */
  sendRequest(req: SipRequest, dest: Destination, handlers: ClientTransactionHandlers, options?: SendRequestOptions): ClientTransaction {
    return this.layer.sendRequest(req, dest, handlers, options);
  }

  /** Send the ACK for a 2xx; returns its bytes for `resend`. */
  sendAck(ack: SipRequest, dest: Destination): Buffer {
    return this.layer.sendAck(ack, dest);
  }

  resend(wire: Buffer, dest: Destination): void {
    this.layer.resend(wire, dest);
  }

  /** T1, T2 and T4 in force for new transactions. */
  get timerConfig(): TransactionLayer['timerConfig'] {
    return this.layer.timerConfig;
  }

  /** Our `host:port` as `dest` reaches it (for From and Via of requests we originate). */
  hostPortFor(dest: Destination): string {
    return this.layer.transport.localHostPort(dest);
  }

  /** Our Contact for a dialog we start with `dest`. */
  contactFor(dest: Destination): string {
    return contactHeader(this.hostPortFor(dest), dest.transport);
  }

  /** Our Contact for a dialog a received request starts: the address and transport it came in on. */
  contactForRequest(req: SipRequest): string {
    const s = req.source;
    if (s === undefined) throw new Error('contactForRequest needs a received request');
    return contactHeader(this.layer.transport.receivingHostPort(s), s.transport, CONTACT_USER, s.transport === 'tls' && req.requestUri?.scheme === 'sips');
  }

  /** Call `listener` when the flow to `dest` closes (a carrier's TCP connection, say). Returns the unwatch function. */
  watchFlow(dest: Destination, listener: (flow: Flow) => void): () => void {
    return this.layer.transport.watchFlow(dest, listener);
  }

  get dialogCount(): number {
    return this.usages.size;
  }

  register(key: string, usage: DialogUsage): void {
    this.usages.set(key, usage);
  }

  unregister(key: string, usage?: DialogUsage): void {
    if (usage === undefined || this.usages.get(key) === usage) this.usages.delete(key);
  }

  onRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    const toTag = req.toTag;
    if (toTag !== undefined) {
      const usage = this.usages.get(dialogKey(req.callId, toTag, req.fromTag ?? ''));
      if (usage !== undefined) {
        usage.onRequest(req, tx);
        return;
      }
      this.stats.unknownDialog++;
      if (tx !== undefined) tx.reply(481);
      return;
    }
    if (tx === undefined) {
      this.stats.strayAcks++;
      return;
    }
    if (this.app === undefined) {
      tx.reply(503);
      return;
    }
    this.app.onRequest(req, tx);
  }

  onCancel(invite: InviteServerTransaction, cancel: SipRequest): void {
    this.app?.onCancel?.(invite, cancel);
  }

  statelessReply(req: SipRequest): SipResponse | undefined {
    return req.toTag === undefined ? this.app?.statelessReply?.(req) : undefined;
  }

  onStrayResponse(res: SipResponse): void {
    if (res.status < 200 || res.status >= 300 || res.cseq?.method !== 'INVITE') return;
    const usage = this.usages.get(dialogKey(res.callId, res.fromTag ?? '', res.toTag ?? ''));
    usage?.onRetransmitted2xx?.(res);
  }
}
