import { describe, expect, it } from 'vitest';
import { formatHostPort, formatListenUrl, parseListenUrl } from '../../../../src/sip/transport/index.js';

describe('parseListenUrl', () => {
  it.each([
    ['udp://127.0.0.1:5060', { transport: 'udp', host: '127.0.0.1', port: 5060 }],
    ['tcp://127.0.0.1:0', { transport: 'tcp', host: '127.0.0.1', port: 0 }],
    ['tcp://[::1]:5070', { transport: 'tcp', host: '::1', port: 5070 }],
    ['udp://[2001:db8::10]:5080/', { transport: 'udp', host: '2001:db8::10', port: 5080 }],
    ['UDP://0.0.0.0', { transport: 'udp', host: '0.0.0.0', port: 5060 }],
    ['tcp://[::]', { transport: 'tcp', host: '::', port: 5060 }],
    ['  udp://10.0.0.1:5062  ', { transport: 'udp', host: '10.0.0.1', port: 5062 }],
    ['tls://127.0.0.1', { transport: 'tls', host: '127.0.0.1', port: 5061 }],
    ['tls://[::1]:5071', { transport: 'tls', host: '::1', port: 5071 }],
    // RFC 7118 §5: WebSocket's own default ports
    ['ws://127.0.0.1', { transport: 'ws', host: '127.0.0.1', port: 80 }],
    ['wss://127.0.0.1', { transport: 'wss', host: '127.0.0.1', port: 443 }],
    ['ws://[::1]:8088', { transport: 'ws', host: '::1', port: 8088 }],
  ])('%s', (url, spec) => {
    expect(parseListenUrl(url)).toEqual({ ok: true, spec });
  });

  it.each([
    ['127.0.0.1:5060', /not a listen URL like udp:\/\/127\.0\.0\.1:5060/],
    ['sctp://127.0.0.1:5061', /not a listen URL: unknown transport "sctp"/],
    ['udp://::1:5060', /not a listen URL/],
    ['udp://[::1:5060', /not a listen URL/],
    ['udp://127.0.0.1:abc', /not a listen URL/],
    ['udp://127.0.0.1:123456', /not a listen URL/],
    ['udp://localhost:5060', /"localhost" in udp:\/\/localhost:5060 is not an IPv4 or IPv6 address/],
    ['tcp://[not-v6]:5060', /"not-v6" .* is not an IPv4 or IPv6 address/],
    ['udp://127.0.0.1:65536', /port 65536 in udp:\/\/127\.0\.0\.1:65536 is above 65535/],
    ['', /not a listen URL/],
  ])('rejects %j with a reason', (url, reason) => {
    const r = parseListenUrl(url);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('round-trips through formatListenUrl, bracketing IPv6', () => {
    for (const url of ['udp://127.0.0.1:5060', 'tcp://[::1]:5070']) {
      const r = parseListenUrl(url);
      if (!r.ok) throw new Error(r.reason);
      expect(formatListenUrl(r.spec)).toBe(url);
    }
    expect(formatHostPort('::1', 5060)).toBe('[::1]:5060');
    expect(formatHostPort('192.0.2.1', 5060)).toBe('192.0.2.1:5060');
  });
});
