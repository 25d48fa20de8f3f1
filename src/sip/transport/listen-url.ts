/** `udp://127.0.0.1:5060`, `tcp://[::1]:5060` listen addresses. */
import { isIP } from 'node:net';

export type TransportName = 'udp' | 'tcp';

export interface ListenSpec {
  transport: TransportName;
  /** Address without brackets. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
}

export type ListenUrlResult = { ok: true; spec: ListenSpec } | { ok: false; reason: string };

const LISTEN_URL = /^(udp|tcp):\/\/(\[[^\]]+\]|[^:/[\]]+)(?::(\d{1,5}))?\/?$/i;

export function parseListenUrl(url: string): ListenUrlResult {
  const m = LISTEN_URL.exec(url.trim());
  if (m === null) return { ok: false, reason: `"${url}" is not a listen URL like udp://127.0.0.1:5060 or tcp://[::1]:5060` };
  const transport = (m[1] as string).toLowerCase() as TransportName;
  let host = m[2] as string;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (isIP(host) === 0) return { ok: false, reason: `"${host}" in ${url} is not an IPv4 or IPv6 address` };
  const port = m[3] === undefined ? 5060 : Number(m[3]);
  if (port > 65535) return { ok: false, reason: `port ${port} in ${url} is above 65535` };
  return { ok: true, spec: { transport, host, port } };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

export function formatListenUrl(spec: ListenSpec): string {
  return `${spec.transport}://${formatHostPort(spec.host, spec.port)}`;
}
