/**
 * An origination URI (`trunks[].origination.uris[].uri`): where the provider
 * sends a trunk's inbound calls, as its docs describe the field —
 * `sip:[user@]host[:port][;transport=udp|tcp|tls][;edge=…][?X-Header=value&…]`,
 * or `sips:` (TLS). Without a user part the INVITE's Request-URI carries the
 * dialled number (`sip:+14155550100@pbx:5060`); a user part is sent as is.
 * `?X-…=…` headers are added to the INVITE. trunkgate does no DNS: the host
 * is an IP address or `localhost`. Parsed once, when the configuration is
 * checked and compiled, so nothing here can fail once a call is placed.
 */
import { isIP } from 'node:net';
import type { TransportName } from '../sip/message/index.js';
import { DEFAULT_PORT } from '../sip/transport/listen-url.js';

export interface OriginationTarget {
  /** The URI as configured. */
  uri: string;
  transport: TransportName;
  /** An IP literal (no brackets); `localhost` reads as 127.0.0.1. */
  address: string;
  port: number;
  /** Whether the URI names its port (else the transport's default). */
  portGiven: boolean;
  /** A fixed user part, or undefined: the dialled number goes there. */
  user: string | undefined;
  /** `?X-name=value` headers, decoded, in order. */
  headers: ReadonlyArray<readonly [string, string]>;
}

export type OriginationUriResult = { ok: true; target: OriginationTarget } | { ok: false; reason: string };

const SHAPE = /^(sips?):(?:([^@;?]+)@)?(\[[0-9a-fA-F:.]+\]|[^:;?[\]]+)(?::(\d{1,5}))?((?:;[^;?]*)*)(?:\?(.*))?$/i;
const USER = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/;
const HEADER_NAME = /^X-[A-Za-z0-9-]+$/i;
const EXPECTED = 'expected sip:[user@]IP[:port][;transport=udp|tcp|tls] (or sips:), e.g. sip:127.0.0.1:5080 or sip:pbx@192.0.2.10;transport=tcp';

export function parseOriginationUri(text: string): OriginationUriResult {
  const m = SHAPE.exec(text.trim());
  if (m === null) return { ok: false, reason: EXPECTED };
  const scheme = (m[1] as string).toLowerCase();
  const user = m[2];
  if (user !== undefined && !USER.test(user)) return { ok: false, reason: `the user part "${user}" has characters a SIP URI does not allow unescaped` };
  const host = (m[3] as string).replace(/^\[|\]$/g, '');
  const address = host.toLowerCase() === 'localhost' ? '127.0.0.1' : host;
  if (isIP(address) === 0) return { ok: false, reason: `"${host}" is not an IP address: trunkgate does no DNS lookups, so give the PBX's IP address (or localhost)` };
  let transport: TransportName = scheme === 'sips' ? 'tls' : 'udp';
  for (const param of (m[5] ?? '').split(';').slice(1)) {
    const eq = param.indexOf('=');
    const name = (eq === -1 ? param : param.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? '' : param.slice(eq + 1).toLowerCase();
    if (name === 'transport') {
      if (value !== 'udp' && value !== 'tcp' && value !== 'tls') return { ok: false, reason: `transport=${value}: expected udp, tcp or tls` };
      // sips: is TLS whatever the parameter says (the provider ignores it too)
      if (scheme === 'sip') transport = value;
    } else if (name !== 'edge' && name !== 'region' && name !== 'lr') {
      return { ok: false, reason: `unknown URI parameter ;${name}: an origination URI takes ;transport= (and ;edge=, which trunkgate ignores)` };
    }
  }
  const port = m[4] === undefined ? DEFAULT_PORT[transport] : Number(m[4]);
  if (port < 1 || port > 65535) return { ok: false, reason: 'the port must be 1-65535' };
  const headers: Array<readonly [string, string]> = [];
  if (m[6] !== undefined && m[6] !== '') {
    for (const pair of m[6].split('&')) {
      const eq = pair.indexOf('=');
      let name: string;
      let value: string;
      try {
        name = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
        value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1));
      } catch {
        return { ok: false, reason: `the header "${pair}" is not valid percent-encoding` };
      }
      if (!HEADER_NAME.test(name)) return { ok: false, reason: `?${name}=…: only X- headers can be added to an origination URI (e.g. ?X-Site=paris)` };
      if (/^X-Twilio/i.test(name)) return { ok: false, reason: `?${name}=…: headers starting X-Twilio are the provider's own` };
      if (/[\r\n]/.test(value)) return { ok: false, reason: `?${name}=…: a header value cannot hold a line break` };
      headers.push([name, value]);
    }
  }
  return { ok: true, target: { uri: text, transport, address, port, portGiven: m[4] !== undefined, user, headers } };
}
