/** SIP over UDP (RFC 3261 §18): one socket per listener, datagrams in and out. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { describeListenError } from './errors.js';
import { type ListenSpec, formatListenUrl } from './listen-url.js';
import { type Protocol, type ProtocolContext, familyOf } from './protocol.js';
import type { BoundListener, Destination, SendErrorCallback } from './sip-transport.js';

interface UdpListener extends BoundListener {
  socket: Socket;
}

/**
 * dgram looks every destination up, an IP address too, and dns.lookup answers
 * an IP address on the next tick: a tick per datagram sent. Destinations here
 * are always IP addresses (the transport layer refuses names before they get
 * here), so this answers at once and the datagram goes out synchronously.
 */
function lookupAddress(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  const v = isIP(address);
  if (v === 0) callback(new Error(`not an IP address: ${address}`), address, 0);
  else callback(null, address, v);
}

export class UdpProtocol implements Protocol {
  readonly name = 'udp' as const;
  readonly connectionCount = 0;
  private readonly sockets: UdpListener[] = [];

  constructor(private readonly ctx: ProtocolContext) {}

  get listeners(): readonly BoundListener[] {
    return this.sockets;
  }

  listen(spec: ListenSpec): Promise<BoundListener> {
    const family = familyOf(isIP(spec.host));
    const socket = createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4', ipv6Only: family === 'IPv6', lookup: lookupAddress });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.close(); // dgram keeps the descriptor of a socket that failed to bind
        reject(describeListenError(formatListenUrl(spec), err));
      };
      socket.once('error', onError);
      socket.bind(spec.port, spec.host, () => {
        socket.off('error', onError);
        const addr = socket.address();
        const listener: UdpListener = { transport: 'udp', address: addr.address, port: addr.port, family, socket };
        socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => this.onDatagram(listener, buf, rinfo));
        socket.on('error', (err) => this.ctx.log?.warn({ err }, 'UDP socket error'));
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
          socket.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // the OS may cap buffer sizes; the defaults still work
        }
        this.sockets.push(listener);
        resolve(listener);
      });
    });
  }

  private onDatagram(listener: UdpListener, buf: Buffer, rinfo: RemoteInfo): void {
    // CRLF keep-alives on UDP carry no message
    if (buf.length <= 4 && buf.every((b) => b === 0x0d || b === 0x0a)) {
      this.ctx.events.emit('keepAlive', 'udp');
      return;
    }
    this.ctx.receive(buf, {
      transport: 'udp',
      address: rinfo.address,
      port: rinfo.port,
      family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4',
      localAddress: listener.address,
      localPort: listener.port,
      connectionId: undefined,
      receivedAt: performance.now(),
    });
  }

  send(buf: Buffer, dest: Destination, onError?: SendErrorCallback): void {
    const family = familyOf(isIP(dest.address));
    const l = this.sockets.find((x) => x.family === family) ?? this.sockets[0];
    if (l === undefined) {
      onError?.(new Error('no UDP listener to send from'));
      return;
    }
    // Without a callback a datagram that the kernel takes at once costs no completion tick (most
    // sends: responses); a caller that must hear of a failure (a request's transport error) gives one.
    if (onError === undefined) {
      l.socket.send(buf, dest.port, dest.address);
      return;
    }
    l.socket.send(buf, dest.port, dest.address, (err) => {
      if (err) {
        this.ctx.log?.debug({ err, to: dest.address }, 'UDP send failed');
        onError(err);
      }
    });
  }

  async stop(): Promise<void> {
    const closing = this.sockets.map((l) => new Promise<void>((resolve) => l.socket.close(() => resolve())));
    this.sockets.length = 0;
    await Promise.all(closing);
  }
}
