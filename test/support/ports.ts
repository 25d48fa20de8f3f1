/**
 * Free ports on a loopback address for a process we are about to start
 * (baresip, Kamailio). Another process may take a port between the check and
 * its use: the starters retry on "address in use".
 */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

export type Loopback = '127.0.0.1' | '::1';

function tcpFree(port: number, host: Loopback): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number, host: Loopback): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket(host === '::1' ? 'udp6' : 'udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

/** An ephemeral port the kernel hands out for TCP on `host`. */
function ephemeral(host: Loopback): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

/**
 * A port free for UDP and TCP on every host given (and, with `alsoNextTcp`,
 * port + 1 free for TCP: baresip 1.0 always opens SIP/TLS on its SIP port + 1).
 */
export async function freeSipPort(hosts: readonly Loopback[] = ['127.0.0.1'], options: { alsoNextTcp?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await ephemeral(hosts[0] ?? '127.0.0.1');
    if (port >= 65535) continue;
    let ok = true;
    for (const host of hosts) {
      ok = ok && (await tcpFree(port, host)) && (await udpFree(port, host));
      if (options.alsoNextTcp) ok = ok && (await tcpFree(port + 1, host));
      if (!ok) break;
    }
    if (ok) return port;
  }
  throw new Error(`no free SIP port on ${hosts.join(', ')}`);
}

/** A port free for TCP on `host` (a control socket). */
export async function freeTcpPort(host: Loopback = '127.0.0.1'): Promise<number> {
  return ephemeral(host);
}
