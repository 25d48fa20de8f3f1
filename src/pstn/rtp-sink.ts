/**
 * A UDP port that accepts RTP and throws it away: where the emulator's SDP
 * answers point (media is out of scope, SPEC §6).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

export class RtpSink {
  private socket: Socket | undefined;
  packets = 0;
  port = 0;
  /** The address SDP answers name (the bind address, unless that is a wildcard). */
  readonly address: string;

  constructor(
    private readonly bindAddress: string,
    advertisedAddress?: string,
  ) {
    this.address = advertisedAddress ?? bindAddress;
  }

  async start(): Promise<void> {
    const socket = createSocket(isIP(this.bindAddress) === 6 ? 'udp6' : 'udp4');
    socket.on('message', () => {
      this.packets++;
    });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.bindAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.port = socket.address().port;
    this.socket = socket;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
