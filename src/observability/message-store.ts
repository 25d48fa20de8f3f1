/**
 * The SIP messages of recent calls, both legs, refusals included: a bounded
 * store fed by the transport's `wire` event (what a packet capture would
 * see). A capture starts with a new INVITE's Call-ID; the B2BUA tells which
 * carrier Call-ID belongs to which call (`associate`), and the front door and
 * B2BUA how it went (`decided`, `ended`). Bounded by calls and bytes: the
 * oldest capture goes first. Per message it costs a map lookup and an array
 * push; the bytes are the transport's own buffers, not copies.
 */
import { type TransportName, detach } from '../sip/message/index.js';
import type { Direction, Endpoint, WireMessage } from '../sip/transport/index.js';

/** `a`: the PBX's leg (the call as it arrived); `b`: our leg to a carrier. */
export type Leg = 'a' | 'b';

export interface CapturedMessage {
  /** When it crossed the wire (ms since the epoch, the gateway's clock). */
  time: number;
  direction: Direction;
  leg: Leg;
  transport: TransportName;
  source: Endpoint;
  destination: Endpoint;
  bytes: Buffer;
}

/** How the call the capture belongs to went, as far as the gateway has decided. */
export type CaptureOutcome =
  | { kind: 'pending' }
  | { kind: 'admitted'; disposition: string | undefined }
  | { kind: 'refused'; status: number; reason: string; outcome: string }
  | { kind: 'dropped'; reason: string };

export interface MessageStoreBounds {
  /** Most calls kept (0: keep none). */
  maxCalls: number;
  /** Most message bytes kept, all calls together. */
  maxBytes: number;
  /** Most messages kept per call; later ones are counted in `omitted`. */
  maxMessagesPerCall: number;
}

export class CallCapture {
  /** Our call id (CA…), once the call is admitted. */
  id: string | undefined = undefined;
  trunk: string | undefined = undefined;
  region: string | undefined = undefined;
  outcome: CaptureOutcome = { kind: 'pending' };
  /** The SIP Call-IDs: the A-leg's first, then the carrier leg's. */
  readonly callIds: string[];
  readonly messages: CapturedMessage[] = [];
  bytes = 0;
  /** Messages past `maxMessagesPerCall`, not kept. */
  omitted = 0;

  constructor(
    callId: string,
    /** The leg of `callId`: `a` for an INVITE that arrived, `b` for one we sent. */
    readonly firstLeg: Leg,
    readonly startedAt: number,
  ) {
    this.callIds = [callId];
  }

  legOf(callId: string): Leg {
    return callId === this.callIds[0] ? this.firstLeg : 'b';
  }
}

/** Buffers this much larger than the message they hold (a slice of a TCP read) are copied rather than kept. */
const SLACK_BYTES = 16 * 1024;

export class MessageStore {
  private readonly byCallId = new Map<string, CallCapture>();
  private readonly byId = new Map<string, CallCapture>();
  /** Captures, oldest first (a Set keeps insertion order and deletes in O(1)). */
  private readonly captures = new Set<CallCapture>();
  private totalBytes = 0;
  /** Captures dropped to stay within the bounds, since start. */
  evicted = 0;

  constructor(
    private bounds: MessageStoreBounds,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): { calls: number; bytes: number } {
    return { calls: this.captures.size, bytes: this.totalBytes };
  }

  /** New bounds (a reload): the store shrinks at once if it must. */
  setBounds(bounds: MessageStoreBounds): void {
    this.bounds = bounds;
    this.trim();
  }

  /** Keep a message, when it belongs to a call: a known Call-ID, or a new INVITE. */
  record(wire: WireMessage): void {
    let capture = this.byCallId.get(wire.callId);
    if (capture === undefined) {
      const msg = wire.message;
      if (msg === undefined || !msg.isRequest || msg.method !== 'INVITE' || wire.callId === '' || this.bounds.maxCalls === 0) return;
      const callId = detach(wire.callId);
      capture = new CallCapture(callId, wire.direction === 'in' ? 'a' : 'b', this.now());
      this.byCallId.set(callId, capture);
      this.captures.add(capture);
    }
    if (capture.messages.length >= this.bounds.maxMessagesPerCall) {
      capture.omitted++;
      return;
    }
    const raw = wire.bytes;
    const bytes = raw.buffer.byteLength > raw.length + SLACK_BYTES ? Buffer.from(raw) : raw;
    capture.messages.push({
      time: this.now(),
      direction: wire.direction,
      leg: capture.legOf(wire.callId),
      transport: wire.transport,
      source: wire.source,
      destination: wire.destination,
      bytes,
    });
    capture.bytes += bytes.length;
    this.totalBytes += bytes.length;
    if (this.totalBytes > this.bounds.maxBytes || this.captures.size > this.bounds.maxCalls) this.trim();
  }

  /** An admitted call: our id for it, and its carrier leg's Call-ID (so that leg's messages join it). */
  associate(aCallId: string, id: string, carrierCallId: string | undefined): void {
    const capture = this.byCallId.get(aCallId);
    if (capture === undefined) return;
    capture.id = id;
    this.byId.set(id, capture);
    if (carrierCallId !== undefined && !this.byCallId.has(carrierCallId)) {
      capture.callIds.push(carrierCallId);
      this.byCallId.set(carrierCallId, capture);
    }
  }

  /** The front door's decision on the INVITE with this Call-ID. */
  decided(callId: string, trunk: string | undefined, region: string | undefined, outcome: CaptureOutcome): void {
    const capture = this.byCallId.get(callId);
    if (capture === undefined) return;
    capture.trunk = trunk;
    capture.region = region;
    capture.outcome = outcome;
  }

  /** An admitted call ended. */
  ended(id: string, disposition: string): void {
    const capture = this.byId.get(id);
    if (capture !== undefined) capture.outcome = { kind: 'admitted', disposition };
  }

  /** A capture by our call id (CA…) or by either leg's SIP Call-ID. */
  find(idOrCallId: string): CallCapture | undefined {
    return this.byId.get(idOrCallId) ?? this.byCallId.get(idOrCallId);
  }

  /** The most recent captures, newest first. */
  recent(limit: number): CallCapture[] {
    const all = [...this.captures];
    const out: CallCapture[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) out.push(all[i] as CallCapture);
    return out;
  }

  private trim(): void {
    while (this.captures.size > 0 && (this.captures.size > this.bounds.maxCalls || this.totalBytes > this.bounds.maxBytes)) {
      const oldest = this.captures.values().next().value as CallCapture;
      this.drop(oldest);
    }
  }

  private drop(capture: CallCapture): void {
    this.captures.delete(capture);
    for (const callId of capture.callIds) if (this.byCallId.get(callId) === capture) this.byCallId.delete(callId);
    if (capture.id !== undefined && this.byId.get(capture.id) === capture) this.byId.delete(capture.id);
    this.totalBytes -= capture.bytes;
    this.evicted++;
  }
}
