/**
 * Transaction matching keys (RFC 3261 §17.1.3, §17.2.3).
 */
import { type SipMessage, type SipRequest, isRfc3261Branch, sentByKey } from '../message/index.js';

/**
 * Server transaction key of a request (§17.2.3): branch + sent-by + method,
 * where ACK matches the INVITE it acknowledges. CANCEL has its own
 * transaction; `inviteKeyFor` finds the INVITE a CANCEL targets. Requests
 * from RFC 2543 elements (no magic cookie) are matched on the 2543 fields.
 */
export function serverKey(req: SipRequest, method: string = req.method === 'ACK' ? 'INVITE' : req.method): string {
  const via = req.topVia;
  if (via === undefined) return '';
  if (isRfc3261Branch(via.branch)) return via.branch + '\u0000' + sentByKey(via) + '\u0000' + method;
  // RFC 2543 §17.2.3 fallback: Request-URI, From tag, Call-ID, CSeq number and top Via.
  const cseq = req.cseq?.seq ?? 0;
  return `2543\u0000${req.uri}\u0000${req.fromTag ?? ''}\u0000${req.callId}\u0000${cseq}\u0000${req.topViaRaw ?? ''}\u0000${method}`;
}

/** The key of the INVITE server transaction a CANCEL (or ACK) refers to. */
export function inviteKeyFor(req: SipRequest): string {
  return serverKey(req, 'INVITE');
}

/** Client transaction key of a response, or of the request we sent (§17.1.3): branch + CSeq method. */
export function clientKey(msg: SipMessage): string {
  const branch = msg.topVia?.branch;
  const method = msg.cseq?.method;
  if (branch === undefined || method === undefined) return '';
  return branch + '\u0000' + method;
}
