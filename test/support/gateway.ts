/** Start a gateway in-process on 127.0.0.1, port 0, for a test. */
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';

export async function startTestGateway(options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const gateway = createGateway({
    sipListen: [
      { transport: 'udp', host: '127.0.0.1', port: 0 },
      { transport: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    ...options,
  });
  await gateway.start();
  return gateway;
}

/** `127.0.0.1:port` of a gateway's listener, as SIPp wants its target. */
export function sipTarget(gateway: Gateway, transport: 'udp' | 'tcp' = 'udp'): string {
  const l = gateway.address(transport);
  return `${l.address}:${l.port}`;
}
