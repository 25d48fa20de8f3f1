/**
 * The UA core that sits on the transaction layer (RFC 3261 §8, §12, §13):
 * it routes in-dialog requests to the dialog usage that owns them, answers
 * requests for unknown dialogs with 481, and hands everything else to the
 * application.
 */
import type { SipRequest, SipResponse } from '../message/index.js';
import type { InviteServerTransaction, ServerTransaction } from '../transaction/server-transactions.js';
import type { TransactionLayer, TransactionUser } from '../transaction/transaction-layer.js';
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

export class UserAgentCore implements TransactionUser {
  private readonly usages = new Map<string, DialogUsage>();
  /** In-dialog requests that found no dialog (answered 481, or dropped for ACK). */
  readonly stats = { unknownDialog: 0, strayAcks: 0 };

  constructor(
    readonly layer: TransactionLayer,
    public app: UserAgentApplication,
  ) {
    layer.tu = this;
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
    this.app.onRequest(req, tx);
  }

  onCancel(invite: InviteServerTransaction, cancel: SipRequest): void {
    this.app.onCancel?.(invite, cancel);
  }

  statelessReply(req: SipRequest): SipResponse | undefined {
    return req.toTag === undefined ? this.app.statelessReply?.(req) : undefined;
  }

  onStrayResponse(res: SipResponse): void {
    if (res.status < 200 || res.status >= 300 || res.cseq?.method !== 'INVITE') return;
    const usage = this.usages.get(dialogKey(res.callId, res.fromTag ?? '', res.toTag ?? ''));
    usage?.onRetransmitted2xx?.(res);
  }
}
