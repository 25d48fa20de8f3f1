/** What the SIP and HTTP listeners take from a validated configuration, parsed once. */
import type { Logger } from 'pino';
import { type ListenSpec, parseListenUrl } from '../sip/transport/listen-url.js';
import type { TransportOptions } from '../sip/transport/transport-layer.js';
import type { Config } from './schema.js';
import { tlsMaterial } from './tls.js';

export function sipListenSpecs(config: Config): ListenSpec[] {
  return config.sip.listen.map((url) => {
    const r = parseListenUrl(url);
    if (!r.ok) throw new Error(r.reason); // the schema checked every URL
    return r.spec;
  });
}

/** `http.listen` as host and port (`localhost` read as 127.0.0.1, IPv6 without brackets). */
export function httpListenAddress(config: Config): { host: string; port: number } {
  const hostPort = config.http.listen;
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(hostPort.slice(i + 1)) };
}

/** The transport layer's options: listeners, limits, TLS and the advertised address (fixed until a restart). */
export function transportOptions(config: Config, logger: Logger | undefined): TransportOptions {
  const s = config.sip;
  return {
    tls: () => tlsMaterial(config, logger),
    listen: sipListenSpecs(config),
    tcpIdleTimeoutMs: s.tcpIdleTimeoutMs,
    tcpMessageTimeoutMs: s.tcpMessageTimeoutMs,
    maxTcpConnections: s.maxTcpConnections,
    maxTcpConnectionsPerSource: s.maxTcpConnectionsPerSource,
    maxMessageBytes: s.maxMessageBytes,
    wsPingIntervalMs: s.wsPingIntervalMs,
    advertisedAddress: s.advertisedAddress,
    logger,
  };
}
