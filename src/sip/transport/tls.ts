/**
 * SIP over TLS (RFC 3261 §26.2, RFC 5630): a stream transport on TLS sockets,
 * TLS 1.2 or later (the provider's minimum). Our certificate and key come
 * from the transport's TLS material; peers we connect to (carriers) are
 * checked unless that is switched off for lab carriers.
 */
import { type Server, type Socket, connect as tcpConnect } from 'node:net';
import { connect, createServer } from 'node:tls';
import type { ProtocolContext, TlsMaterial } from './protocol.js';
import type { Destination } from './sip-transport.js';
import { StreamProtocol } from './stream.js';

export class TlsProtocol extends StreamProtocol {
  readonly name = 'tls' as const;
  protected readonly connectionEvent = 'secureConnection';
  private material: TlsMaterial | undefined;

  constructor(ctx: ProtocolContext) {
    super(ctx);
  }

  private async tls(): Promise<TlsMaterial> {
    if (this.material !== undefined) return this.material;
    if (this.ctx.tls === undefined) throw new Error('a tls listener needs TLS material (a certificate and a key)');
    this.material = await this.ctx.tls();
    return this.material;
  }

  protected async createServer(): Promise<Server> {
    const { cert, key } = await this.tls();
    const server = createServer({ cert, key, minVersion: 'TLSv1.2' });
    // a failed handshake (a scanner, a client that refuses our certificate) is counted, never thrown
    server.on('tlsClientError', (err) => this.ctx.log?.debug({ err: err.message }, 'TLS handshake failed'));
    return server;
  }

  protected connect(dest: Destination, localAddress: string | undefined): { socket: Socket; readyEvent: string } {
    const m = this.material;
    const tcp = tcpConnect({ host: dest.address, port: dest.port, localAddress, noDelay: true });
    const socket = connect({
      socket: tcp,
      // the certificate is checked against this address (an IP SAN); an IP address is sent as no SNI (RFC 6066 §3)
      host: dest.address,
      minVersion: 'TLSv1.2',
      ca: m?.ca,
      rejectUnauthorized: m?.verifyPeers ?? true,
    });
    socket.setNoDelay(true);
    return { socket, readyEvent: 'secureConnect' };
  }
}
