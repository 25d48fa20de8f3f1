/**
 * Checks every received message must pass before the transaction layer sees
 * it (RFC 3261 §8.2, §16.3, §18.1.2, §18.2.1; RFC 4475 §3.1.2, §3.3.1, §3.3.8).
 * They read exactly the headers the transaction layer needs anyway.
 */
import { MAX_CSEQ } from './cseq.js';
import { type SipMessage, type SipRequest } from './sip-message.js';
import { parseNameAddr } from './name-addr.js';
import { parseBoundedInt } from './syntax.js';
import { parseVia } from './via.js';

export interface ValidationFailure {
  /** What a server answers (400, 416, …). */
  status: number;
  reason: string;
}

/** Headers that may appear once only (RFC 4475 §3.3.8). */
function isSingleInstance(name: string): boolean {
  return name === 'call-id' || name === 'cseq' || name === 'from' || name === 'to' || name === 'max-forwards' || name === 'content-type';
}

function firstDuplicate(names: readonly string[]): string | undefined {
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (!isSingleInstance(name)) continue;
    for (let j = i + 1; j < names.length; j++) if (names[j] === name) return name;
  }
  return undefined;
}

function nameAddrFault(raw: string): string {
  const r = parseNameAddr(raw);
  return r.ok ? 'unreadable' : r.reason;
}

/** Validate a parsed request or response. Returns undefined when it is fit to process. */
export function validateMessage(msg: SipMessage): ValidationFailure | undefined {
  const h = msg.headers;
  const topVia = msg.topViaRaw;
  if (topVia === undefined) return { status: 400, reason: 'Missing Via' };
  if (msg.topVia === undefined) {
    const via = parseVia(topVia);
    return { status: 400, reason: via.ok ? 'Malformed Via' : via.reason };
  }
  if (msg.callId.length === 0) return { status: 400, reason: 'Missing Call-ID' };
  const duplicate = firstDuplicate(h.names);
  if (duplicate !== undefined) return { status: 400, reason: `Multiple ${duplicate} headers` };
  const cseqRaw = h.get('cseq');
  if (cseqRaw === undefined) return { status: 400, reason: 'Missing CSeq' };
  const cseq = msg.cseq;
  if (cseq === undefined || cseq.seq > MAX_CSEQ) return { status: 400, reason: 'Malformed CSeq' };
  const fromRaw = h.get('from');
  if (fromRaw === undefined) return { status: 400, reason: 'Missing From' };
  if (msg.from === undefined) return { status: 400, reason: `Malformed From: ${nameAddrFault(fromRaw)}` };
  const toRaw = h.get('to');
  if (toRaw === undefined) return { status: 400, reason: 'Missing To' };
  if (msg.to === undefined) return { status: 400, reason: `Malformed To: ${nameAddrFault(toRaw)}` };
  if (msg.isRequest) return validateRequestOnly(msg, cseq.method);
  return undefined;
}

function validateRequestOnly(req: SipRequest, cseqMethod: string): ValidationFailure | undefined {
  if (cseqMethod !== req.method) return { status: 400, reason: 'CSeq method does not match the request method' };
  const mf = req.headers.get('max-forwards');
  if (mf !== undefined && parseBoundedInt(mf, 255) < 0) return { status: 400, reason: 'Max-Forwards is not an integer 0-255' };
  const uri = req.requestUri;
  if (uri === undefined) return { status: 400, reason: 'Malformed Request-URI' };
  if (uri.scheme !== 'sip' && uri.scheme !== 'sips' && uri.scheme !== 'tel') {
    return { status: 416, reason: 'Unsupported URI Scheme' };
  }
  if (uri.headers !== undefined) return { status: 400, reason: 'Request-URI must not carry headers' };
  return undefined;
}
