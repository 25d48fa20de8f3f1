/**
 * Just enough SDP (RFC 4566, RFC 3264) for a telephone-network answer: read
 * the audio offer, pick the first offered PCMU or PCMA, and write an answer.
 */

/** The media type of an SDP body. */
export const SDP_CONTENT_TYPE = 'application/sdp';

/**
 * The codecs the provider takes (SPEC §4.2 check 11) and the emulator answers
 * with, in no order of preference: the offer's order decides.
 */
export const ACCEPTED_CODECS = ['PCMU', 'PCMA'] as const;

export interface AudioOffer {
  /** Connection address of the audio stream. */
  address: string;
  port: number;
  /** Payload type numbers in offer order. */
  payloadTypes: number[];
  /** payload type → encoding name (upper-case), from a=rtpmap or the static table. */
  encodings: Map<number, string>;
}

export type SdpReadResult = { ok: true; offer: AudioOffer } | { ok: false; reason: string };

const DIGITS = /^\d{1,5}$/;

const STATIC_PAYLOADS: Readonly<Record<number, string>> = { 0: 'PCMU', 3: 'GSM', 4: 'G723', 8: 'PCMA', 9: 'G722', 18: 'G729' };

/** Read the first audio m-line of an SDP body. */
export function readAudioOffer(sdp: string): SdpReadResult {
  const lines = sdp.split(/\r?\n/);
  if (!lines[0]?.startsWith('v=')) return { ok: false, reason: 'SDP does not start with v=' };
  let sessionAddress: string | undefined;
  let mediaAddress: string | undefined;
  let inAudio = false;
  let seenAudio = false;
  let port = 0;
  let payloadTypes: number[] = [];
  const encodings = new Map<number, string>();
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
    } else if (type === 'a' && inAudio && value.startsWith('rtpmap:')) {
      const m = /^rtpmap:(\d+) ([^/\s]+)/.exec(value);
      if (m !== null) encodings.set(Number(m[1]), (m[2] as string).toUpperCase());
    }
  }
  if (!seenAudio) return { ok: false, reason: 'no audio stream in SDP' };
  const address = mediaAddress ?? sessionAddress;
  if (address === undefined) return { ok: false, reason: 'no connection address in SDP' };
  return { ok: true, offer: { address, port, payloadTypes, encodings } };
}

/** The first offered payload type whose encoding is in `accepted` (e.g. PCMU, PCMA). */
export function pickCodec(offer: AudioOffer, accepted: readonly string[]): { pt: number; name: string } | undefined {
  for (const pt of offer.payloadTypes) {
    const name = offer.encodings.get(pt);
    if (name !== undefined && accepted.includes(name)) return { pt, name };
  }
  return undefined;
}

let sessionVersion = Math.floor(Date.now() / 1000);

/** An answer with one audio stream on `address:port` using `codec` (plus telephone-event when offered). */
export function buildAnswer(offer: AudioOffer, codec: { pt: number; name: string }, address: string, port: number): string {
  const ipVersion = address.includes(':') ? 'IP6' : 'IP4';
  const id = ++sessionVersion;
  const pts = [codec.pt];
  const lines = [
    'v=0',
    `o=trunkgate ${id} ${id} IN ${ipVersion} ${address}`,
    's=trunkgate',
    `c=IN ${ipVersion} ${address}`,
    't=0 0',
  ];
  const dtmf = offer.payloadTypes.find((pt) => offer.encodings.get(pt) === 'TELEPHONE-EVENT');
  if (dtmf !== undefined) pts.push(dtmf);
  lines.push(`m=audio ${offer.port === 0 ? 0 : port} RTP/AVP ${pts.join(' ')}`);
  lines.push(`a=rtpmap:${codec.pt} ${codec.name}/8000`);
  if (dtmf !== undefined) {
    lines.push(`a=rtpmap:${dtmf} telephone-event/8000`);
    lines.push(`a=fmtp:${dtmf} 0-16`);
  }
  lines.push('a=ptime:20', 'a=sendrecv', '');
  return lines.join('\r\n');
}

/** An offer of PCMU and PCMA, for calls we originate without one. */
export function buildOffer(address: string, port: number): string {
  const ipVersion = address.includes(':') ? 'IP6' : 'IP4';
  const id = ++sessionVersion;
  return [
    'v=0',
    `o=trunkgate ${id} ${id} IN ${ipVersion} ${address}`,
    's=trunkgate',
    `c=IN ${ipVersion} ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}
