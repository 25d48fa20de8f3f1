/**
 * A trunk's `route` (SPEC §5): `builtin` (the PSTN emulator), or a carrier at
 * `sip:HOST:PORT[;transport=udp|tcp|tls]`. Parsed once, when the configuration
 * is checked and when it is compiled, so nothing about a route can fail after
 * a call has taken its lease.
 */
import { isIP } from 'node:net';
import type { TransportName } from '../sip/message/index.js';

export type Route =
  | { kind: 'builtin' }
  | {
      kind: 'carrier';
      /** The route as configured. */
      uri: string;
      transport: TransportName;
      /** An IP literal (no brackets); `localhost` is read as 127.0.0.1. */
      address: string;
      port: number;
    };

export type RouteResult = { ok: true; route: Route } | { ok: false; reason: string };

/**
 * The transports a carrier can be reached over: trunkgate opens the connection, and a WebSocket
 * peer is reached only over a connection it opened itself (RFC 7118 §5), so not `ws`/`wss`.
 */
const CARRIER_TRANSPORTS: readonly TransportName[] = ['udp', 'tcp', 'tls'];

const CARRIER = /^sip:(\[[0-9a-fA-F:.]+\]|[^:;[\]]+):(\d{1,5})(?:;transport=([a-z]+))?$/i;

export function parseRoute(text: string): RouteResult {
  if (text === 'builtin') return { ok: true, route: { kind: 'builtin' } };
  const expected = `expected builtin, or sip:IP:PORT with an optional ;transport=${CARRIER_TRANSPORTS.join('|')}`;
  const m = CARRIER.exec(text);
  if (m === null) return { ok: false, reason: expected };
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const address = host.toLowerCase() === 'localhost' ? '127.0.0.1' : host;
  const port = Number(m[2]);
  const transport = (m[3] ?? 'udp').toLowerCase();
  if (isIP(address) === 0 || port > 65535 || !(CARRIER_TRANSPORTS as readonly string[]).includes(transport)) return { ok: false, reason: expected };
  return { ok: true, route: { kind: 'carrier', uri: text, transport: transport as TransportName, address, port } };
}
