/** Webhook failures classified as the provider does (research §3.9), against real sockets on 127.0.0.1. */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookClient } from '../../../src/voice/webhooks.js';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
  server = undefined;
});

async function serve(handler: http.RequestListener): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
}

const client = new WebhookClient(() => 300, 'test');
const req = (url: string) => ({ kind: 'twiml' as const, url, method: 'POST' as const, params: { CallSid: 'CA1' }, authToken: 'tok-123456' });

describe('WebhookClient', () => {
  it('2xx: the body; signed; form-encoded', async () => {
    let seen: { sig?: string; body: string } = { body: '' };
    const base = await serve((r, res) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => {
        seen = { sig: r.headers['x-twilio-signature'] as string, body };
        res.end('<Response/>');
      });
    });
    const r = await client.send(req(`${base}/v`));
    expect(r).toMatchObject({ ok: true, status: 200, body: '<Response/>' });
    expect(seen.body).toBe('CallSid=CA1');
    expect(seen.sig).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('refused connection → 11205; HTTP 500 → 11200; no response in time → 11200; over 64 kB → 11750', async () => {
    expect(await client.send(req('http://127.0.0.1:9/x'))).toMatchObject({ ok: false, failure: 'connection', alert: 11205 });
    const base = await serve((r, res) => {
      if (r.url === '/500') res.writeHead(500).end('no');
      else if (r.url === '/big') res.end('x'.repeat(70 * 1024));
      // /slow never answers
    });
    expect(await client.send(req(`${base}/500`))).toMatchObject({ ok: false, failure: 'http_status', alert: 11200 });
    expect(await client.send(req(`${base}/slow`))).toMatchObject({ ok: false, failure: 'timeout', alert: 11200 });
    expect(await client.send(req(`${base}/big`))).toMatchObject({ ok: false, failure: 'too_large', alert: 11750 });
  });
});
