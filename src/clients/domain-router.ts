/**
 * The UA core's one application, split by the Request-URI host: requests to
 * a client domain (`<account>.<sip.clientDomainSuffix>`) go to the client
 * domain, everything else to the provider's front door (trunks), which
 * answers as before — REGISTER to a trunk's termination domain still gets
 * 405.
 */
import type { UserAgentApplication } from '../sip/dialog/index.js';
import type { SipRequest, SipResponse } from '../sip/message/index.js';
import type { InviteServerTransaction, ServerTransaction } from '../sip/transaction/index.js';
import type { ClientDomain } from './client-domain.js';

export class DomainRouter implements UserAgentApplication {
  constructor(
    private readonly clients: ClientDomain,
    private readonly trunks: UserAgentApplication,
  ) {}

  onRequest(req: SipRequest, tx: ServerTransaction): void {
    if (this.clients.owns(req)) this.clients.onRequest(req, tx);
    else this.trunks.onRequest(req, tx);
  }

  onCancel(invite: InviteServerTransaction, cancel: SipRequest): void {
    if (this.clients.owns(invite.request)) this.clients.onCancel(invite);
    else this.trunks.onCancel?.(invite, cancel);
  }

  /** Client-domain requests keep a transaction (REGISTER is answered after digest); the front door's are stateless. */
  statelessReply(req: SipRequest): SipResponse | undefined {
    return this.clients.owns(req) ? undefined : this.trunks.statelessReply?.(req);
  }
}
