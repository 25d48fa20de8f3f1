/**
 * The far end of a Programmable Voice call (an API call, or a `<Dial>` leg):
 * the B2BUA's own far-leg implementations, reused — `BuiltinLeg` for an
 * E.164 number (the PSTN emulator and its number rules) and `CarrierLeg` for
 * a `sip:` URI (a real INVITE from trunkgate) or a registered client (an
 * INVITE to its contact, over the flow it registered on). This class is their
 * `BLegEvents` sink and turns them into the few events a voice call needs.
 * Trunkgate is the caller here, so it makes the SDP offer itself, pointing
 * at the RTP sink (media is not emulated).
 */
import type { BLeg, BLegEvents, BLegFailureCause, RelayResult, RelayedBody } from '../b2bua/b-leg.js';
import { BuiltinLeg } from '../b2bua/builtin-leg.js';
import { CarrierLeg } from '../b2bua/carrier-leg.js';
import { SDP_CONTENT_TYPE, SdpOrigin, buildOffer } from '../media/sdp.js';
import type { MediaEndpoint, PstnEmulator } from '../pstn/emulator.js';
import type { UserAgentCore } from '../sip/dialog/index.js';
import { reasonPhrase } from '../sip/message/status-codes.js';
import type { Binding } from '../clients/registrar.js';
import type { CallTarget } from './voice-call.js';

/** A registered client, reached over the flow its REGISTER came on (its WebSocket, say). */
export interface ClientBindingTarget {
  kind: 'binding';
  binding: Binding;
  /** `sip:<identity>@<account>.<clientDomainSuffix>`: the To of the INVITE. */
  aor: string;
}

/** Where a far leg goes: the PSTN emulator, a SIP URI, or a registered client's contact. */
export type FarTarget = Exclude<CallTarget, { kind: 'client' }> | ClientBindingTarget;

export interface FarLegEvents {
  /** 180/183 from the far end. */
  ringing(): void;
  answered(): void;
  /** The far end refused or could not be reached (never after `cancel()`). */
  failed(status: number, cause: BLegFailureCause): void;
  /** The far end hung up after answering (BYE, or its connection closed). */
  hungUp(): void;
}

export interface FarLegParts {
  core: UserAgentCore;
  emulator: PstnEmulator;
  media: MediaEndpoint;
}

export type FarLegState = 'calling' | 'ringing' | 'answered' | 'ended';

export class FarLeg implements BLegEvents {
  state: FarLegState = 'calling';
  private readonly leg: BLeg;
  /** Our side's o= line for this leg (RFC 3264 §8). */
  private readonly origin = new SdpOrigin();

  constructor(
    private readonly parts: FarLegParts,
    target: FarTarget,
    caller: string,
    private readonly events: FarLegEvents,
  ) {
    const offer: RelayedBody = { body: Buffer.from(buildOffer(parts.media.address, parts.media.port, this.origin)), contentType: SDP_CONTENT_TYPE };
    if (target.kind === 'pstn') {
      this.leg = new BuiltinLeg(parts.emulator, target.number, offer, this);
    } else if (target.kind === 'binding') {
      const b = target.binding;
      this.leg = new CarrierLeg(
        parts.core,
        {
          destination: b.flow,
          called: b.identity,
          caller: caller.replace(/^client:/, ''),
          callerDisplayName: undefined,
          offer,
          ringTimeoutMs: 600_000,
          requestUri: b.contact,
          toUri: target.aor,
        },
        this,
      );
    } else {
      this.leg = new CarrierLeg(
        parts.core,
        {
          destination: { transport: target.transport, address: target.address, port: target.port },
          called: target.user ?? '',
          caller: caller.replace(/^client:/, ''),
          callerDisplayName: undefined,
          offer,
          // the voice engine ends a leg that rings past its Timeout (at most 600 s) itself
          ringTimeoutMs: 600_000,
        },
        this,
      );
    }
  }

  start(): void {
    this.leg.start();
  }

  /** Stop ringing (no answer, cancelled through the API): nothing more is reported. */
  cancel(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.leg.cancel();
  }

  /** End the call from our side, whatever its state: nothing more is reported. */
  hangup(): void {
    if (this.state === 'ended') return;
    const answered = this.state === 'answered';
    this.state = 'ended';
    if (answered) this.leg.hangup();
    else this.leg.cancel();
  }

  // BLegEvents: what the far leg reports
  progress(): void {
    if (this.state !== 'calling') return;
    this.state = 'ringing';
    this.events.ringing();
  }

  answer(): void {
    if (this.state === 'ended') {
      this.leg.hangup();
      return;
    }
    if (this.state === 'answered') return;
    this.state = 'answered';
    this.events.answered();
  }

  fail(status: number, _reason: string, cause: BLegFailureCause): void {
    if (this.state === 'ended' || this.state === 'answered') return;
    this.state = 'ended';
    this.events.failed(status, cause);
  }

  bye(): void {
    if (this.state !== 'answered') return;
    this.state = 'ended';
    this.events.hungUp();
  }

  lost(): void {
    this.bye();
  }

  /** A re-INVITE, UPDATE or INFO from the far end: answered with our media (the emulator's answer rules). */
  request(method: string, body: RelayedBody | undefined): Promise<RelayResult> {
    if (method === 'INVITE' || method === 'UPDATE') {
      const sdp = body !== undefined && body.body.length > 0 ? body.body.toString('utf8') : undefined;
      const r = this.parts.emulator.answerFor(sdp, this.origin, false);
      if (!r.ok) return Promise.resolve({ status: r.status, reason: reasonPhrase(r.status) });
      return Promise.resolve({ status: 200, reason: 'OK', body: Buffer.from(r.sdp), contentType: SDP_CONTENT_TYPE });
    }
    return Promise.resolve({ status: 200, reason: 'OK' });
  }
}
