/**
 * The transfer target's leg (SPEC §9): a PSTN number rings in the emulator,
 * a SIP destination gets a real INVITE from trunkgate (with the REFER's
 * Referred-By, RFC 3892). trunkgate is the caller here, so it makes the SDP
 * offer itself, pointing at the RTP sink (media is not emulated).
 */
import { SDP_CONTENT_TYPE, SdpOrigin, buildOffer } from '../media/sdp.js';
import type { MediaEndpoint, PstnEmulator } from '../pstn/emulator.js';
import type { UserAgentCore } from '../sip/dialog/index.js';
import type { TransferTarget } from '../termination/transfer-policy.js';
import type { BLeg, BLegEvents } from './b-leg.js';
import { BuiltinLeg } from './builtin-leg.js';
import { CarrierLeg } from './carrier-leg.js';
import type { TransferLegFactory } from './transfer.js';

export class TransferLegs implements TransferLegFactory {
  constructor(
    private readonly core: UserAgentCore,
    private readonly emulator: PstnEmulator,
    private readonly media: MediaEndpoint,
    /** How long a SIP target may ring (the trunk's ringTimeoutMs). */
    private readonly ringTimeoutMs: number,
  ) {}

  /** The same, for a trunk with another ring timeout. */
  withRingTimeout(ringTimeoutMs: number): TransferLegs {
    return ringTimeoutMs === this.ringTimeoutMs ? this : new TransferLegs(this.core, this.emulator, this.media, ringTimeoutMs);
  }

  place(target: TransferTarget, callerId: string, referredBy: string | undefined, events: BLegEvents): BLeg {
    const offer = { body: Buffer.from(buildOffer(this.media.address, this.media.port, new SdpOrigin())), contentType: SDP_CONTENT_TYPE };
    if (target.kind === 'pstn') return new BuiltinLeg(this.emulator, target.number, offer, events);
    return new CarrierLeg(
      this.core,
      {
        destination: { transport: target.transport, address: target.address, port: target.port },
        called: target.user ?? '',
        caller: callerId,
        callerDisplayName: undefined,
        offer,
        ringTimeoutMs: this.ringTimeoutMs,
        extraHeaders: referredBy === undefined ? [] : [['Referred-By', referredBy]],
      },
      events,
    );
  }
}
