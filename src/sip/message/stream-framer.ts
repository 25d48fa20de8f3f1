/**
 * Splits a TCP byte stream into SIP messages (RFC 3261 §18.3): headers end at
 * the first empty line, the body is Content-Length bytes. A double CRLF
 * between messages is a keep-alive ping (RFC 5626 §3.5.1) and is reported so
 * that the connection can answer it with a single CRLF (the pong); a single
 * CRLF between messages is skipped.
 */
export interface FramerLimits {
  /** Largest header section accepted while waiting for its end. */
  maxHeaderBytes: number;
  /** Largest Content-Length accepted. */
  maxBodyBytes: number;
}

export interface FramerSink {
  message(buf: Buffer): void;
  ping(): void;
  /**
   * The stream cannot be framed any more; the connection should be closed.
   * `head` holds the header section when the fault was an oversized body, so a
   * `513` can be sent first.
   */
  error(reason: string, status: 400 | 513, head: Buffer | undefined): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/gim;

export class StreamFramer {
  private pending: Buffer | undefined;
  private failed = false;

  constructor(
    private readonly limits: FramerLimits,
    private readonly sink: FramerSink,
  ) {}

  /** Bytes received but not yet framed (for partial-message timeouts). */
  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let pos = 0;
    for (;;) {
      // keep-alives and stray line ends between messages
      while (pos < buf.length && (buf[pos] === 0x0d || buf[pos] === 0x0a)) {
        if (buf.length - pos >= 4 && buf.readUInt32BE(pos) === 0x0d0a0d0a) {
          this.sink.ping();
          pos += 4;
        } else if (buf.length - pos < 4 && CRLFCRLF.subarray(0, buf.length - pos).equals(buf.subarray(pos))) {
          this.pending = buf.subarray(pos); // maybe the first part of a ping
          return;
        } else {
          pos++;
        }
      }
      if (pos >= buf.length) return;
      const headerEnd = buf.indexOf(CRLFCRLF, pos);
      if (headerEnd === -1) {
        if (buf.length - pos > this.limits.maxHeaderBytes) {
          this.fail(`header section exceeds ${this.limits.maxHeaderBytes} bytes`, 400, undefined);
          return;
        }
        this.pending = buf.subarray(pos);
        return;
      }
      if (headerEnd - pos > this.limits.maxHeaderBytes) {
        this.fail(`header section exceeds ${this.limits.maxHeaderBytes} bytes`, 400, undefined);
        return;
      }
      const head = buf.toString('latin1', pos, headerEnd);
      let contentLength = 0;
      let seen = false;
      CONTENT_LENGTH.lastIndex = 0;
      for (let m = CONTENT_LENGTH.exec(head); m !== null; m = CONTENT_LENGTH.exec(head)) {
        const v = (m[1] ?? '').trim();
        if (!/^\d{1,10}$/.test(v)) {
          this.fail('Content-Length is not a non-negative integer', 400, undefined);
          return;
        }
        const n = Number(v);
        if (seen && n !== contentLength) {
          this.fail('conflicting Content-Length headers', 400, undefined);
          return;
        }
        seen = true;
        contentLength = n;
      }
      if (contentLength > this.limits.maxBodyBytes) {
        this.fail(`Content-Length ${contentLength} exceeds ${this.limits.maxBodyBytes}`, 513, buf.subarray(pos, headerEnd + 4));
        return;
      }
      const end = headerEnd + 4 + contentLength;
      if (end > buf.length) {
        this.pending = buf.subarray(pos);
        return;
      }
      this.sink.message(buf.subarray(pos, end));
      if (this.failed) return;
      pos = end;
      if (pos >= buf.length) return;
    }
  }

  private fail(reason: string, status: 400 | 513, head: Buffer | undefined): void {
    this.failed = true;
    this.pending = undefined;
    this.sink.error(reason, status, head);
  }
}
