/**
 * A UDP relay that loses packets: netem is not available on every machine
 * (this one's kernel has no sch_netem), so the loss test puts this between
 * SIPp and the gateway. It forwards client → gateway and gateway → client,
 * dropping each datagram with probability `loss` (seeded, so runs repeat).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface LossyRelay {
  /** Where the client sends (the relay's client-facing port). */
  port: number;
  stats: { forwarded: number; dropped: number };
  close(): Promise<void>;
}

/** A small seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bind(socket: Socket): Promise<number> {
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
}

export async function startLossyRelay(target: { host: string; port: number }, loss: number, seed = 42): Promise<LossyRelay> {
  const random = prng(seed);
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  const port = await bind(front);
  await bind(back);
  const stats = { forwarded: 0, dropped: 0 };
  let client: RemoteInfo | undefined;
  const pass = (): boolean => {
    if (random() < loss) {
      stats.dropped++;
      return false;
    }
    stats.forwarded++;
    return true;
  };
  front.on('message', (msg, rinfo) => {
    client = rinfo;
    if (pass()) back.send(msg, target.port, target.host);
  });
  back.on('message', (msg) => {
    if (client !== undefined && pass()) front.send(msg, client.port, client.address);
  });
  return {
    port,
    stats,
    close: () =>
      new Promise((resolve) => {
        front.close(() => back.close(() => resolve()));
      }),
  };
}
