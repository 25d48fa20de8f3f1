/**
 * The SIP message parser (RFC 3261 §7). It frames the message (start line,
 * header lines with folding, body by Content-Length) and leaves every header
 * value raw: a value is parsed only when something reads it.
 *
 * It never throws on any input: failures are values carrying a reason, the
 * status a server should answer with, and whatever could be read (so that a
 * 400 can still be addressed to the sender's Via).
 */
import { SipHeaders } from './headers.js';
import { canonicalHeaderName, knownCanonical } from './header-names.js';
import { SipRequest, SipResponse, type SipMessage } from './sip-message.js';
import { isDigits, isToken, isWsp } from './syntax.js';

export interface ParseOptions {
  /** Reject messages larger than this many bytes (RFC 3261 §18.1.1; SPEC §8). Default 65535. */
  maxMessageBytes?: number;
  /** Reject messages with more header lines than this. Default 256. */
  maxHeaders?: number;
  /**
   * The buffer holds exactly one framed message from a stream transport:
   * a missing Content-Length means an empty body (RFC 3261 §18.3).
   */
  stream?: boolean;
}

export type ParseFailureStatus = 400 | 505 | 513;

export type ParseResult =
  | { ok: true; message: SipMessage }
  | {
      ok: false;
      reason: string;
      /** What a server should answer a request with. */
      status: ParseFailureStatus;
      /** What could be read: the start line and the header lines before (and after) the fault. */
      partial: SipMessage | undefined;
    };

export const DEFAULT_MAX_MESSAGE_BYTES = 65535;
export const DEFAULT_MAX_HEADERS = 256;

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
const EMPTY = Buffer.alloc(0);

function failure(reason: string, status: ParseFailureStatus, partial?: SipMessage): ParseResult {
  return { ok: false, reason, status, partial };
}

/** Parse one SIP message from `buf`. Never throws. */
export function parseMessage(buf: Buffer, options?: ParseOptions): ParseResult {
  const maxBytes = options?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxHeaders = options?.maxHeaders ?? DEFAULT_MAX_HEADERS;
  const len = buf.length;

  // RFC 3261 §7.5: ignore CRLFs before the start line.
  let start = 0;
  while (start < len && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start >= len) return failure('empty message', 400);

  let headerEnd = buf.indexOf(CRLFCRLF, start);
  let bodyStart: number;
  if (headerEnd !== -1) {
    bodyStart = headerEnd + 4;
  } else {
    headerEnd = buf.indexOf(LFLF, start);
    if (headerEnd !== -1) bodyStart = headerEnd + 2;
    else if (!options?.stream && buf[len - 1] === 0x0a) {
      // Leniency: a datagram that ends right after its last header line has
      // no body (RFC 4475 §3.1.2.15's archive copy ends this way).
      headerEnd = len;
      bodyStart = len;
    } else {
      headerEnd = len;
      bodyStart = -1;
    }
  }
  const text = buf.toString('utf8', start, headerEnd);

  // ---- start line
  let nl = text.indexOf('\n');
  if (nl === -1) nl = text.length;
  const lineEnd = nl > 0 && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
  const startLine = text.slice(0, lineEnd);
  let message: SipMessage;
  const headers = new SipHeaders();
  // A fault in a start line that could still be read is reported after the
  // header lines, so that the partial message carries what a 400 or 505 needs
  // (RFC 4475 §3.1.2.7-3.1.2.10, §3.1.2.16).
  let startFault: string | undefined;
  let startStatus: ParseFailureStatus = 400;
  if (startsWithSipSlash(startLine)) {
    const sp1 = startLine.indexOf(' ');
    if (sp1 === -1) return failure('status line has no status code', 400);
    const version = startLine.slice(0, sp1);
    const sp2 = startLine.indexOf(' ', sp1 + 1);
    const code = sp2 === -1 ? startLine.slice(sp1 + 1) : startLine.slice(sp1 + 1, sp2);
    if (code.length !== 3 || !isDigits(code)) return failure('status code is not three digits', 400);
    const status = Number(code);
    if (status < 100 || status > 699) return failure('status code is out of range 100-699', 400);
    if (sp2 === -1) return failure('status line has no reason phrase separator', 400);
    message = new SipResponse(status, startLine.slice(sp2 + 1), headers);
    if (!isSip20(version)) {
      startFault = `unsupported SIP version ${version}`;
      startStatus = 505;
    }
  } else {
    const sp1 = startLine.indexOf(' ');
    const sp2 = sp1 === -1 ? -1 : startLine.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 === -1) return failure('request line is not "Method SP Request-URI SP SIP-Version"', 400);
    const method = startLine.slice(0, sp1);
    const uri = startLine.slice(sp1 + 1, sp2);
    const version = startLine.slice(sp2 + 1);
    if (!isToken(method)) return failure('method is not a token', 400);
    message = new SipRequest(method, uri, headers);
    if (uri.length === 0) startFault = 'request line has extra whitespace';
    else if (uri.charCodeAt(0) === 0x3c) startFault = 'Request-URI must not be enclosed in <>';
    else if (version.indexOf(' ') !== -1 || version.indexOf('\t') !== -1) {
      startFault = 'request line has whitespace inside the Request-URI or after the version';
    } else if (!isSip20(version)) {
      if (/^SIP\/\d+\.\d+$/i.test(version)) {
        startFault = `unsupported SIP version ${version}`;
        startStatus = 505;
      } else startFault = 'request line does not end with the SIP version';
    }
  }

  // ---- header lines
  let firstError: string | undefined;
  let pos = nl + 1;
  const tlen = text.length;
  let lastValue = -1; // index in headers of the line a continuation would extend
  while (pos < tlen) {
    let e = text.indexOf('\n', pos);
    if (e === -1) e = tlen;
    const le = e > pos && text.charCodeAt(e - 1) === 0x0d ? e - 1 : e;
    if (isWsp(text.charCodeAt(pos))) {
      // header folding (RFC 3261 §7.3.1): join with a single space
      let s = pos;
      while (s < le && isWsp(text.charCodeAt(s))) s++;
      if (lastValue === -1) {
        firstError ??= 'continuation line without a header';
      } else if (s < le) {
        const prev = headers.values[lastValue] as string;
        const addition = text.slice(s, trimWsp(text, s, le));
        headers.values[lastValue] = prev.length === 0 ? addition : prev + ' ' + addition;
      }
      pos = e + 1;
      continue;
    }
    const colon = text.indexOf(':', pos);
    if (colon === -1 || colon > le) {
      firstError ??= 'header line without ":"';
      lastValue = -1;
      pos = e + 1;
      continue;
    }
    const nameEnd = trimWsp(text, pos, colon);
    const wireName = text.slice(pos, nameEnd);
    let canonical = knownCanonical(wireName);
    if (canonical === undefined) {
      if (!isToken(wireName)) {
        firstError ??= `header name "${wireName.slice(0, 40)}" is not a token`;
        lastValue = -1;
        pos = e + 1;
        continue;
      }
      canonical = canonicalHeaderName(wireName);
    }
    if (headers.names.length >= maxHeaders) {
      return failure(`more than ${maxHeaders} header lines`, 400, message);
    }
    let vs = colon + 1;
    while (vs < le && isWsp(text.charCodeAt(vs))) vs++;
    headers.pushParsed(canonical, wireName, text.slice(vs, trimWsp(text, vs, le)));
    lastValue = headers.names.length - 1;
    pos = e + 1;
  }

  if (startFault !== undefined) return failure(startFault, startStatus, message);
  if (len > maxBytes) return failure(`message is larger than ${maxBytes} bytes`, 513, message);
  if (firstError !== undefined) return failure(firstError, 400, message);

  // ---- body, framed by Content-Length (RFC 3261 §18.3, §20.14)
  let contentLength = -1;
  for (let i = 0; i < headers.names.length; i++) {
    if (headers.names[i] !== 'content-length') continue;
    const v = headers.values[i] as string;
    if (!isDigits(v) || v.length > 10) return failure('Content-Length is not a non-negative integer', 400, message);
    const n = Number(v);
    if (contentLength !== -1 && contentLength !== n) return failure('conflicting Content-Length headers', 400, message);
    contentLength = n;
  }
  if (bodyStart === -1) {
    return failure('message has no empty line after the headers', 400, message);
  }
  const available = len - bodyStart;
  if (contentLength === -1) {
    message.body = options?.stream ? EMPTY : available > 0 ? buf.subarray(bodyStart) : EMPTY;
  } else if (contentLength > available) {
    return failure(`Content-Length ${contentLength} is larger than the ${available} body bytes received`, 400, message);
  } else {
    message.body = contentLength === 0 ? EMPTY : buf.subarray(bodyStart, bodyStart + contentLength);
  }
  return { ok: true, message };
}

/** RFC 3261 §7.1: the SIP-Version string is case-insensitive. */
function startsWithSipSlash(s: string): boolean {
  return (
    s.length >= 4 &&
    (s.charCodeAt(0) | 0x20) === 0x73 &&
    (s.charCodeAt(1) | 0x20) === 0x69 &&
    (s.charCodeAt(2) | 0x20) === 0x70 &&
    s.charCodeAt(3) === 0x2f
  );
}

function isSip20(version: string): boolean {
  return version === 'SIP/2.0' || (version.length === 7 && version.toUpperCase() === 'SIP/2.0');
}

function trimWsp(s: string, start: number, end: number): number {
  while (end > start && isWsp(s.charCodeAt(end - 1))) end--;
  return end;
}
