/**
 * The far leg of a call, as the A-leg sees it: the built-in PSTN emulator or
 * a SIP carrier. Both report the same events and take the same commands.
 */

/** Why a far leg failed before answer: a final response, no response (Timer B), its transport, or ringing too long (Timer C). */
export type BLegFailureCause = 'rejected' | 'timeout' | 'transport-error' | 'ring-timeout';

export interface RelayedBody {
  body: Buffer;
  contentType: string | undefined;
}

export interface RelayResult extends Partial<RelayedBody> {
  status: number;
  reason: string;
}

/** Headers from the far leg's response worth passing on to the caller (filtered by `relayHeaders`). */
export type RelayedHeaders = ReadonlyArray<readonly [string, string]>;

export interface BLegEvents {
  /** A 18x, with SDP when there is early media. */
  progress(status: number, reason: string, sdp: RelayedBody | undefined, headers?: RelayedHeaders): void;
  /** The far end answered (2xx); the B-leg has already sent its ACK. */
  answer(sdp: RelayedBody | undefined, headers?: RelayedHeaders): void;
  /** The far leg failed before answer: relay `status` to the caller. */
  fail(status: number, reason: string, cause: BLegFailureCause, headers?: RelayedHeaders): void;
  /** The far end hung up after answer. */
  bye(): void;
  /** The far end is gone after answer (its TCP connection closed): end the call. */
  lost(): void;
  /** The far end sent an in-dialog request (re-INVITE, UPDATE, INFO) to relay to the caller. */
  request(method: string, body: RelayedBody | undefined): Promise<RelayResult>;
}

export interface BLeg {
  /** The far leg's own SIP Call-ID (a carrier leg); undefined when there is no SIP hop (the emulator). */
  readonly callId: string | undefined;
  /** Start the far leg (send the INVITE, or ring the emulated number). */
  start(): void;
  /**
   * The caller's ACK for the answer arrived. After a late offer (the INVITE
   * had no SDP, the far end's 2xx made the offer) it carries the answer, which
   * the far leg's ACK must carry (RFC 3261 §13.2.1).
   */
  acknowledged(answer: RelayedBody | undefined): void;
  /** The caller cancelled before answer. */
  cancel(): void;
  /** End an answered call from our side (BYE). Safe to call in any state. */
  hangup(): void;
  /** Relay an in-dialog request from the caller; resolves with the far end's final response. */
  request(method: string, body: RelayedBody | undefined): Promise<RelayResult>;
}
