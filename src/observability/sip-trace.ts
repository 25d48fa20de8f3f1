/**
 * Every SIP message's text in the log at `trace` (--log-level trace): what
 * came in and went out, with both ends. Digest responses are redacted (the
 * log must not help anyone guess a password); nothing is subscribed at
 * other levels, so the hot path does not pay for it.
 */
import type { Logger } from 'pino';
import type { WireMessage } from '../sip/transport/index.js';
import { formatHostPort } from '../sip/transport/index.js';

const AUTHORIZATION_LINE = /^((?:proxy-)?authorization[ \t]*:.*)$/gim;
const DIGEST_RESPONSE = /\b(response[ \t]*=[ \t]*)("[^"]*"|[^,\s]+)/gi;

/** SIP text with the digest `response=` of (Proxy-)Authorization headers redacted. */
export function redactSipText(text: string): string {
  return text.replace(AUTHORIZATION_LINE, (line) => line.replace(DIGEST_RESPONSE, '$1"<redacted>"'));
}

export class SipTrace {
  constructor(private readonly log: Logger) {}

  /** True when the log takes `trace` lines (only then is it worth subscribing). */
  get enabled(): boolean {
    return this.log.isLevelEnabled('trace');
  }

  /** The `wire` event's listener. */
  readonly write = (wire: WireMessage): void => {
    const text = redactSipText(wire.bytes.toString('utf8'));
    const eol = text.indexOf('\r\n');
    const firstLine = eol === -1 ? text : text.slice(0, eol);
    const source = formatHostPort(wire.source.address, wire.source.port);
    const destination = formatHostPort(wire.destination.address, wire.destination.port);
    this.log.trace(
      { direction: wire.direction, transport: wire.transport, source, destination, callId: wire.callId, sip: text },
      `${wire.direction === 'in' ? 'received' : 'sent'} ${firstLine} (${wire.transport} ${source} -> ${destination})`,
    );
  };
}
