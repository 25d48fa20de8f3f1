/**
 * The alert log: a bounded ring buffer of the provider's debugger events
 * (code, text, trunk, call, time), newest last.
 */
import { type AlertCode, alertText } from './alert-codes.js';

export interface Alert {
  /** Monotonic sequence number (for `since`). */
  seq: number;
  code: AlertCode;
  text: string;
  trunk: string | undefined;
  callId: string | undefined;
  /** ISO-8601 time. */
  time: string;
  /** Extra detail for the operator (never credentials). */
  detail?: string | undefined;
}

export class AlertLog {
  private readonly buffer: Alert[] = [];
  private next = 0;
  private seq = 0;
  /** Alerts raised since start, by code (kept even when the buffer wraps). */
  readonly counts = new Map<AlertCode, number>();

  constructor(
    readonly capacity = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  raise(code: AlertCode, context: { trunk?: string | undefined; callId?: string | undefined; detail?: string | undefined } = {}): Alert {
    const alert: Alert = {
      seq: ++this.seq,
      code,
      text: alertText(code),
      trunk: context.trunk,
      callId: context.callId,
      time: new Date(this.now()).toISOString(),
      detail: context.detail,
    };
    if (this.buffer.length < this.capacity) this.buffer.push(alert);
    else this.buffer[this.next] = alert;
    this.next = (this.next + 1) % this.capacity;
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    return alert;
  }

  /** Alerts in order, optionally only those after `since` (a time or a sequence number). */
  list(since?: { time?: number; seq?: number }): Alert[] {
    const ordered = this.buffer.length < this.capacity ? this.buffer.slice() : [...this.buffer.slice(this.next), ...this.buffer.slice(0, this.next)];
    return ordered.filter((a) => (since?.seq === undefined || a.seq > since.seq) && (since?.time === undefined || Date.parse(a.time) > since.time));
  }
}
