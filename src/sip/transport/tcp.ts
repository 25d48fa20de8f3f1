/** SIP over TCP (RFC 3261 §18.3): a stream transport on plain sockets. */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Destination } from './sip-transport.js';
import { StreamProtocol } from './stream.js';

export class TcpProtocol extends StreamProtocol {
  readonly name = 'tcp' as const;
  protected readonly connectionEvent = 'connection';

  protected createServer(): Server {
    return createServer({ noDelay: true });
  }

  protected connect(dest: Destination, localAddress: string | undefined): { socket: Socket; readyEvent: string } {
    return { socket: connect({ host: dest.address, port: dest.port, localAddress, noDelay: true }), readyEvent: 'connect' };
  }
}
