import { describe, expect, it } from 'vitest';
import { parseRoute } from '../../../src/config/route.js';

describe('parseRoute', () => {
  it('takes builtin and a carrier over udp (default), tcp or tls', () => {
    expect(parseRoute('builtin')).toEqual({ ok: true, route: { kind: 'builtin' } });
    expect(parseRoute('sip:127.0.0.1:5080')).toMatchObject({ ok: true, route: { kind: 'carrier', transport: 'udp', address: '127.0.0.1', port: 5080 } });
    expect(parseRoute('sip:[::1]:5061;transport=TLS')).toMatchObject({ ok: true, route: { transport: 'tls', address: '::1' } });
    expect(parseRoute('sip:localhost:5070;transport=tcp')).toMatchObject({ ok: true, route: { transport: 'tcp', address: '127.0.0.1' } });
  });

  it.each(['ws', 'wss'])('refuses transport=%s: a WebSocket peer cannot be connected to (it is reached only over its own connection)', (t) => {
    const r = parseRoute(`sip:127.0.0.1:8088;transport=${t}`);
    expect(r).toEqual({ ok: false, reason: 'expected builtin, or sip:IP:PORT with an optional ;transport=udp|tcp|tls' });
  });

  it('refuses host names, bad ports and other schemes with the same message', () => {
    for (const bad of ['http://x', 'sip:carrier.example.com:5060', 'sip:127.0.0.1:70000', 'sip:127.0.0.1']) expect(parseRoute(bad).ok, bad).toBe(false);
  });
});
