/**
 * Just enough SDP (RFC 4566, RFC 3264, RFC 4568) for a telephone-network
 * answer: read the audio offer (codecs, direction, RTP/SAVP with a=crypto),
 * pick the first offered PCMU or PCMA, and write an answer — the direction
 * answered per RFC 3264 §6.1, the `o=` session id stable and its version
 * going up by one per changed SDP (§8), SRTP answered with SRTP.
 */
import { randomBytes } from 'node:crypto';

/** The media type of an SDP body. */
export const SDP_CONTENT_TYPE = 'application/sdp';

/**
 * The codecs the provider takes (SPEC §4.2 check 11) and the emulator answers
 * with, in no order of preference: the offer's order decides.
 */
export const ACCEPTED_CODECS = ['PCMU', 'PCMA'] as const;

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** An SDES crypto attribute (RFC 4568): `a=crypto:<tag> <suite> <key-params>`. */
export interface CryptoAttribute {
  tag: number;
  suite: string;
  keyParams: string;
}

export interface AudioOffer {
  /** Connection address of the audio stream. */
  address: string;
  port: number;
  /** The m-line's transport protocol: `RTP/AVP`, `RTP/SAVP` (SRTP), … */
  profile: string;
  /** Payload type numbers in offer order. */
  payloadTypes: number[];
  /** payload type → encoding name (upper-case), from a=rtpmap or the static table. */
  encodings: Map<number, string>;
  /** The stream's direction (media level, else session level; default sendrecv). */
  direction: MediaDirection;
  /** The audio stream's a=crypto lines (SRTP keys), in offer order. */
  crypto: CryptoAttribute[];
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** Whether an offer's audio is SRTP: a secure profile (RTP/SAVP, RTP/SAVPF) with SDES keys. */
export function offersSrtp(offer: AudioOffer): boolean {
  return /^RTP\/SAVPF?$/i.test(offer.profile) && offer.crypto.length > 0;
}

/** The direction that answers an offered one (RFC 3264 §6.1): sendonly ↔ recvonly; inactive and sendrecv stay. */
export function answerDirection(offered: MediaDirection): MediaDirection {
  switch (offered) {
    case 'sendonly':
      return 'recvonly';
    case 'recvonly':
      return 'sendonly';
    case 'inactive':
      return 'inactive';
    case 'sendrecv':
      return 'sendrecv';
  }
}

export type SdpReadResult = { ok: true; offer: AudioOffer } | { ok: false; reason: string };

const DIGITS = /^\d{1,5}$/;

const STATIC_PAYLOADS: Readonly<Record<number, string>> = { 0: 'PCMU', 3: 'GSM', 4: 'G723', 8: 'PCMA', 9: 'G722', 18: 'G729' };

/**
 * The last SDP read and what it gave: a call's offer is read by admission and
 * again by the emulator that answers it, so the second read costs a string
 * comparison. The result is shared: callers read it, never change it.
 */
let lastSdp: string | undefined;
let lastRead: SdpReadResult | undefined;

/** Read the first audio m-line of an SDP body (the result is shared: do not modify it). */
export function readAudioOffer(sdp: string): SdpReadResult {
  if (sdp === lastSdp && lastRead !== undefined) return lastRead;
  const read = parseAudioOffer(sdp);
  lastSdp = sdp;
  lastRead = read;
  return read;
}

function parseAudioOffer(sdp: string): SdpReadResult {
  const lines = sdp.split(/\r?\n/);
  if (!lines[0]?.startsWith('v=')) return { ok: false, reason: 'SDP does not start with v=' };
  let sessionAddress: string | undefined;
  let mediaAddress: string | undefined;
  let inAudio = false;
  let seenAudio = false;
  let port = 0;
  let profile = 'RTP/AVP';
  let payloadTypes: number[] = [];
  const encodings = new Map<number, string>();
  let sessionDirection: MediaDirection | undefined;
  let mediaDirection: MediaDirection | undefined;
  const crypto: CryptoAttribute[] = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    if (line.length < 2 || line[1] !== '=') return { ok: false, reason: `malformed SDP line "${line.slice(0, 40)}"` };
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      if (seenAudio) {
        inAudio = false;
        continue;
      }
      // Runs of spaces and a trailing space must not read as payload type 0 (Number('') === 0).
      const parts = value.trim().split(/ +/);
      if (parts.length < 4) return { ok: false, reason: 'malformed m= line' };
      inAudio = parts[0] === 'audio';
      if (!inAudio) continue;
      seenAudio = true;
      profile = parts[2] as string;
      port = DIGITS.test(parts[1] as string) ? Number(parts[1]) : -1;
      if (!Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, reason: 'bad media port' };
      payloadTypes = parts.slice(3).map((pt) => (DIGITS.test(pt) ? Number(pt) : -1));
      if (payloadTypes.some((pt) => !Number.isInteger(pt) || pt < 0 || pt > 127)) return { ok: false, reason: 'bad payload type' };
      for (const pt of payloadTypes) {
        const known = STATIC_PAYLOADS[pt];
        if (known !== undefined) encodings.set(pt, known);
      }
    } else if (type === 'c') {
      const addr = value.split(' ')[2];
      if (addr === undefined) return { ok: false, reason: 'malformed c= line' };
      if (inAudio) mediaAddress = addr;
      else if (!seenAudio) sessionAddress = addr;
    } else if (type === 'a') {
      const attribute = value.trim();
      if (DIRECTIONS.has(attribute)) {
        if (inAudio) mediaDirection = attribute as MediaDirection;
        else if (!seenAudio) sessionDirection = attribute as MediaDirection;
      } else if (inAudio && attribute.startsWith('rtpmap:')) {
        const m = /^rtpmap:(\d+) ([^/\s]+)/.exec(attribute);
        if (m !== null) encodings.set(Number(m[1]), (m[2] as string).toUpperCase());
      } else if (inAudio && attribute.startsWith('crypto:')) {
        const m = /^crypto:(\d{1,9}) +(\S+) +(\S+)/.exec(attribute);
        if (m !== null) crypto.push({ tag: Number(m[1]), suite: m[2] as string, keyParams: m[3] as string });
      }
    }
  }
  if (!seenAudio) return { ok: false, reason: 'no audio stream in SDP' };
  const address = mediaAddress ?? sessionAddress;
  if (address === undefined) return { ok: false, reason: 'no connection address in SDP' };
  const direction = mediaDirection ?? sessionDirection ?? 'sendrecv';
  return { ok: true, offer: { address, port, profile, payloadTypes, encodings, direction, crypto } };
}

/** The first offered payload type whose encoding is in `accepted` (e.g. PCMU, PCMA). */
export function pickCodec(offer: AudioOffer, accepted: readonly string[]): { pt: number; name: string } | undefined {
  for (const pt of offer.payloadTypes) {
    const name = offer.encodings.get(pt);
    if (name !== undefined && accepted.includes(name)) return { pt, name };
  }
  return undefined;
}

/**
 * The `o=` line of one side of a session (RFC 3264 §8): the session id stays
 * for the whole session, the version goes up by one each time the SDP sent
 * changes, and stays when the same SDP is sent again.
 */
export class SdpOrigin {
  readonly sessionId: number;
  private version: number;
  private lastBody: string | undefined;

  // the session id only has to differ between sessions (RFC 4566 §5.2): no need for crypto's random bytes,
  // which cost more per call than the rest of the answer
  constructor(sessionId = Math.floor(Date.now() / 1000) * 1000 + Math.floor(Math.random() * 65536)) {
    this.sessionId = sessionId;
    this.version = sessionId;
  }

  /** The complete SDP for `body` (every line after `o=`): the version bumped if the body changed. */
  render(address: string, body: readonly string[]): string {
    const text = body.join('\r\n');
    if (this.lastBody !== undefined && this.lastBody !== text) this.version++;
    this.lastBody = text;
    return ['v=0', `o=trunkgate ${this.sessionId} ${this.version} IN ${ipVersion(address)} ${address}`, text].join('\r\n');
  }
}

function ipVersion(address: string): 'IP4' | 'IP6' {
  return address.includes(':') ? 'IP6' : 'IP4';
}

/** The SRTP crypto suites we answer with, in our order of preference (RFC 4568 §6.2). */
const SRTP_SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;

/** Our answer to an SRTP offer: the first offered suite we know, with a key of our own (30 bytes: key and salt). */
function answerCrypto(offer: AudioOffer): CryptoAttribute | undefined {
  for (const c of offer.crypto) {
    if ((SRTP_SUITES as readonly string[]).includes(c.suite.toUpperCase())) return { tag: c.tag, suite: c.suite, keyParams: `inline:${randomBytes(30).toString('base64')}` };
  }
  return undefined;
}

/**
 * An answer with one audio stream on `address:port` using `codec` (plus
 * telephone-event when offered), in the direction that answers the offer's,
 * SRTP when the offer was SRTP. Undefined when an SRTP offer has no suite we
 * know.
 */
export function buildAnswer(offer: AudioOffer, codec: { pt: number; name: string }, address: string, port: number, origin: SdpOrigin = new SdpOrigin()): string | undefined {
  const pts = [codec.pt];
  const dtmf = offer.payloadTypes.find((pt) => offer.encodings.get(pt) === 'TELEPHONE-EVENT');
  if (dtmf !== undefined) pts.push(dtmf);
  const srtp = offersSrtp(offer);
  const crypto = srtp ? answerCrypto(offer) : undefined;
  if (srtp && crypto === undefined) return undefined;
  const lines = ['s=trunkgate', `c=IN ${ipVersion(address)} ${address}`, 't=0 0', `m=audio ${offer.port === 0 ? 0 : port} ${srtp ? offer.profile : 'RTP/AVP'} ${pts.join(' ')}`];
  lines.push(`a=rtpmap:${codec.pt} ${codec.name}/8000`);
  if (dtmf !== undefined) {
    lines.push(`a=rtpmap:${dtmf} telephone-event/8000`);
    lines.push(`a=fmtp:${dtmf} 0-16`);
  }
  if (crypto !== undefined) lines.push(`a=crypto:${crypto.tag} ${crypto.suite} ${crypto.keyParams}`);
  lines.push('a=ptime:20', `a=${answerDirection(offer.direction)}`, '');
  return origin.render(address, lines);
}

/**
 * An offer of PCMU and PCMA, for calls we originate without one (a late offer
 * answered with an offer); SRTP (RTP/SAVP with a key of ours) on a secure trunk.
 */
export function buildOffer(address: string, port: number, origin: SdpOrigin = new SdpOrigin(), srtp = false): string {
  return origin.render(address, [
    's=trunkgate',
    `c=IN ${ipVersion(address)} ${address}`,
    't=0 0',
    `m=audio ${port} ${srtp ? 'RTP/SAVP' : 'RTP/AVP'} 0 8`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    ...(srtp ? [`a=crypto:1 ${SRTP_SUITES[0]} inline:${randomBytes(30).toString('base64')}`] : []),
    'a=ptime:20',
    'a=sendrecv',
    '',
  ]);
}
