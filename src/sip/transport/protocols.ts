/**
 * The protocol modules, by transport name. Adding a transport: a module
 * implementing `Protocol` (stream ones extend `StreamProtocol`), its name in
 * `TRANSPORT_NAMES`, and a line here.
 */
import type { TransportName } from '../message/index.js';
import type { ProtocolFactory } from './protocol.js';
import { TcpProtocol } from './tcp.js';
import { TlsProtocol } from './tls.js';
import { UdpProtocol } from './udp.js';
import { WsProtocol } from './ws.js';

export const PROTOCOLS: Readonly<Record<TransportName, ProtocolFactory>> = {
  udp: (ctx) => new UdpProtocol(ctx),
  tcp: (ctx) => new TcpProtocol(ctx),
  tls: (ctx) => new TlsProtocol(ctx),
  ws: (ctx) => new WsProtocol('ws', ctx),
  wss: (ctx) => new WsProtocol('wss', ctx),
};
