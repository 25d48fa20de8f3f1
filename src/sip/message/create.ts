/** Building requests and responses (RFC 3261 §8.1.1, §8.2.6). */
import { randomBytes } from 'node:crypto';
import { SipHeaders } from './headers.js';
import { SipRequest, SipResponse } from './sip-message.js';
import { reasonPhrase } from './status-codes.js';
import { MAGIC_COOKIE } from './via.js';

/**
 * A new branch id: the magic cookie plus 96 random bits (RFC 3261 §8.1.1.7
 * asks for uniqueness; we take 12 random bytes from a pooled source).
 */
export function newBranch(): string {
  return MAGIC_COOKIE + randomToken(12);
}

/** A tag (RFC 3261 §19.3: at least 32 random bits); we use 64. */
export function newTag(): string {
  return randomToken(8);
}

/** A Call-ID local part with 128 random bits. */
export function newCallId(host?: string): string {
  const id = randomToken(16);
  return host === undefined ? id : `${id}@${host}`;
}

let pool = Buffer.alloc(0);
let poolPos = 0;

/** Hex of `bytes` random bytes, drawn from a refilled pool (one syscall per 4 KiB). */
export function randomToken(bytes: number): string {
  if (poolPos + bytes > pool.length) {
    pool = randomBytes(4096);
    poolPos = 0;
  }
  const s = pool.toString('hex', poolPos, poolPos + bytes);
  poolPos += bytes;
  return s;
}

/**
 * A response to `req` (RFC 3261 §8.2.6): Via (all of them, in order), From,
 * Call-ID and CSeq are copied; To is copied and gets `toTag` when given and
 * the request's To has none.
 */
export function createResponse(req: SipRequest, status: number, reason?: string, toTag?: string): SipResponse {
  const src = req.headers;
  const headers = new SipHeaders();
  for (let i = 0; i < src.names.length; i++) {
    const name = src.names[i] as string;
    if (name === 'via' || name === 'from' || name === 'call-id' || name === 'cseq') {
      headers.pushParsed(name, src.wireNames[i] as string, src.values[i] as string);
    } else if (name === 'to') {
      let value = src.values[i] as string;
      if (toTag !== undefined && req.toTag === undefined) value += ';tag=' + toTag;
      headers.pushParsed(name, src.wireNames[i] as string, value);
    }
  }
  return new SipResponse(status, reason ?? reasonPhrase(status), headers);
}

/** Start a request with the given headers in order. */
export function createRequest(method: string, uri: string, headers: ReadonlyArray<readonly [string, string]>, body?: Buffer): SipRequest {
  const h = new SipHeaders();
  for (const [name, value] of headers) h.append(name, value);
  return new SipRequest(method, uri, h, body);
}

/**
 * A copy of `s` that does not keep a larger string alive. Header values are
 * slices of the whole message text; state that outlives the message (a
 * dialog's tags and URIs) should hold copies, not slices.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (s + ' ').slice(0, -1);
}
