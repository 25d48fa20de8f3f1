/** The B-leg to the in-process PSTN emulator (`route: builtin`): no network hop. */
import { SDP_CONTENT_TYPE as SDP } from '../media/sdp.js';
import type { PstnCall, PstnCallEvents, PstnEmulator } from '../pstn/emulator.js';
import { reasonPhrase } from '../sip/message/index.js';
import type { BLeg, BLegEvents, RelayResult, RelayedBody } from './b-leg.js';

/** Implements the emulator's events itself: no closures per call. */
export class BuiltinLeg implements BLeg, PstnCallEvents {
  readonly callId = undefined;
  private call: PstnCall | undefined;
  private offer: RelayedBody | undefined;

  constructor(
    private readonly emulator: PstnEmulator,
    private readonly called: string,
    offer: RelayedBody | undefined,
    private readonly events: BLegEvents,
    /** A secure trunk's call: a late offer is answered with an SRTP offer. */
    private readonly srtp = false,
  ) {
    this.offer = offer;
  }

  start(): void {
    const offerSdp = this.offer !== undefined && this.offer.body.length > 0 ? this.offer.body.toString('utf8') : undefined;
    this.offer = undefined;
    this.call = this.emulator.startCall(this.called, offerSdp, this, this.srtp);
  }

  // PstnCallEvents: the emulated network's side of the call
  progress(status: 180 | 183, sdp: string | undefined): void {
    this.events.progress(status, reasonPhrase(status), sdp === undefined ? undefined : { body: Buffer.from(sdp), contentType: SDP });
  }

  answer(sdp: string): void {
    this.events.answer({ body: Buffer.from(sdp), contentType: SDP });
  }

  reject(status: number, reason: string): void {
    this.events.fail(status, reason, 'rejected');
  }

  hungUp(): void {
    this.events.bye();
  }

  /** The emulator needs nothing from the ACK: its 200 to a late offer carried an offer it keeps. */
  acknowledged(): void {}

  cancel(): void {
    this.call?.end();
  }

  hangup(): void {
    this.call?.end();
  }

  request(method: string, body: RelayedBody | undefined): Promise<RelayResult> {
    if (method === 'INVITE' || method === 'UPDATE') {
      const sdp = body !== undefined && body.body.length > 0 ? body.body.toString('utf8') : undefined;
      const r = this.call?.reoffer(sdp);
      if (r === undefined) return Promise.resolve({ status: 481, reason: reasonPhrase(481) });
      if (!r.ok) return Promise.resolve({ status: r.status, reason: reasonPhrase(r.status) });
      return Promise.resolve({ status: 200, reason: 'OK', body: Buffer.from(r.sdp), contentType: SDP });
    }
    return Promise.resolve({ status: 200, reason: 'OK' });
  }
}
