/** CSeq (RFC 3261 §20.16). */
import { isToken, isWsp, parseBoundedInt, skipLws, trimEnd } from './syntax.js';

export interface CSeq {
  seq: number;
  method: string;
}

export type CSeqResult = { ok: true; cseq: CSeq } | { ok: false; reason: string };

/** RFC 3261 §8.1.1.5: the sequence number must be below 2**31. */
export const MAX_CSEQ = 2 ** 31 - 1;

export function parseCSeq(text: string): CSeqResult {
  const n = text.length;
  const i = skipLws(text, 0, n);
  let j = i;
  while (j < n && !isWsp(text.charCodeAt(j)) && text.charCodeAt(j) !== 0x0d && text.charCodeAt(j) !== 0x0a) j++;
  const seq = parseBoundedInt(text.slice(i, j), MAX_CSEQ);
  if (seq < 0) return { ok: false, reason: 'CSeq number is not an integer below 2**31' };
  const k = skipLws(text, j, n);
  if (k === j) return { ok: false, reason: 'CSeq has no method' };
  const method = text.slice(k, trimEnd(text, k, n));
  if (!isToken(method)) return { ok: false, reason: 'CSeq method is not a token' };
  return { ok: true, cseq: { seq, method } };
}
