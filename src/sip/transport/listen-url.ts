/** `udp://127.0.0.1:5060`, `tcp://[::1]:5060`, `tls://127.0.0.1:5061`, `ws://127.0.0.1:8088`, `wss://…` listen addresses. */
import { isIP } from 'node:net';
import { TRANSPORT_NAMES, type TransportName } from '../message/sip-message.js';

export { TRANSPORT_NAMES, type TransportName };

export interface ListenSpec {
  transport: TransportName;
  /** Address without brackets. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
}

export type ListenUrlResult = { ok: true; spec: ListenSpec } | { ok: false; reason: string };

const LISTEN_URL = /^([a-z]+):\/\/(\[[^\]]+\]|[^:/[\]]+)(?::(\d{1,5}))?\/?$/i;

/**
 * The port a listen URL without one gets (RFC 3261 §19.1.2): 5060, and 5061
 * for TLS; WebSocket's own, 80 and 443, for ws and wss (RFC 7118 §5).
 */
export const DEFAULT_PORT: Readonly<Record<TransportName, number>> = { udp: 5060, tcp: 5060, tls: 5061, ws: 80, wss: 443 };

function isTransportName(name: string): name is TransportName {
  return (TRANSPORT_NAMES as readonly string[]).includes(name);
}

export function parseListenUrl(url: string): ListenUrlResult {
  const example = `like ${TRANSPORT_NAMES.map((t) => `${t}://127.0.0.1:${DEFAULT_PORT[t]}`).join(' or ')}`;
  const m = LISTEN_URL.exec(url.trim());
  if (m === null) return { ok: false, reason: `"${url}" is not a listen URL ${example}` };
  const transport = (m[1] as string).toLowerCase();
  if (!isTransportName(transport)) return { ok: false, reason: `"${url}" is not a listen URL: unknown transport "${transport}"; expected one ${example}` };
  let host = m[2] as string;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (isIP(host) === 0) return { ok: false, reason: `"${host}" in ${url} is not an IPv4 or IPv6 address` };
  const port = m[3] === undefined ? DEFAULT_PORT[transport] : Number(m[3]);
  if (port > 65535) return { ok: false, reason: `port ${port} in ${url} is above 65535` };
  return { ok: true, spec: { transport, host, port } };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export function formatListenUrl(spec: ListenSpec): string {
  return `${spec.transport}://${formatHostPort(spec.host, spec.port)}`;
}
