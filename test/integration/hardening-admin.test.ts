/**
 * The admin side (issue 12), with real HTTP requests (node:http, which lets
 * a test set Host and Origin as a browser or a DNS-rebinding page would):
 * Host must name the server, a foreign Origin is refused, state-changing
 * requests must be JSON (a cross-site form or text/plain POST changes
 * nothing), /metrics can be put behind the token.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

interface Reply {
  status: number;
  body: string;
  code: unknown;
}

function http(g: Gateway, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  const addr = g.httpAddress;
  if (addr === undefined) throw new Error('no HTTP server');
  return new Promise((resolve, reject) => {
    const req = request({ host: addr.host, port: addr.port, method, path, headers: { host: `${addr.host}:${addr.port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let code: unknown;
        try {
          code = (JSON.parse(text) as { code?: unknown }).code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: text, code });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function cpsOf(g: Gateway): number {
  const demo = g.directory.trunks.get('demo');
  if (demo === undefined) throw new Error('no demo trunk');
  return g.cpsConsole.inForce(demo, 'us1').cps;
}

describe('Host (DNS rebinding)', () => {
  it('a Host that names another site is refused on every route but the probes; the listener’s address, localhost and allowed names pass', async () => {
    gateway = await startTestGateway({ http: { allowedHosts: ['trunkgate'] } });
    const g = gateway;
    const port = g.httpAddress?.port ?? 0;
    for (const path of ['/v1/trunks', '/v1/alerts', '/metrics', '/v1/security/bans']) {
      const r = await http(g, 'GET', path, { host: `rebind.evil.example:${port}` });
      expect([path, r.status, r.code]).toEqual([path, 403, 'HOST_NOT_ALLOWED']);
      expect(r.body).not.toContain('demo');
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `trunkgate:${port}`, 'TRUNKGATE']) {
      expect((await http(g, 'GET', '/v1/trunks', { host })).status, host).toBe(200);
    }
    expect((await http(g, 'GET', '/v1/trunks', { host: `127.0.0.2:${port}` })).status).toBe(403);
    for (const path of ['/healthz', '/readyz']) expect((await http(g, 'GET', path, { host: 'evil.example' })).status, path).toBe(200);
  });
});

describe('Origin (a web page driving the API)', () => {
  it('a foreign Origin is refused, for reads and writes; the server’s own Origin passes', async () => {
    gateway = await startTestGateway();
    const g = gateway;
    const port = g.httpAddress?.port ?? 0;
    const json = { 'content-type': 'application/json' };
    const evil = { origin: 'http://evil.example' };
    expect(await http(g, 'GET', '/v1/calls', evil)).toMatchObject({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(await http(g, 'POST', '/v1/trunks/demo/cps', { ...evil, ...json }, '{"region":"us1","cps":5}')).toMatchObject({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(await http(g, 'GET', '/v1/calls', { origin: 'null' })).toMatchObject({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(cpsOf(g)).toBe(100_000);
    expect((await http(g, 'GET', '/v1/calls', { origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });
});

describe('state-changing requests need Content-Type: application/json', () => {
  it('a cross-site "simple request" (text/plain, a form, no type) changes nothing: 415; JSON works', async () => {
    gateway = await startTestGateway({ trunks: [{ name: 'demo', account: 'demo', cps: { default: 1 }, auth: { ipAcl: ['127.0.0.0/8'] } }] });
    const g = gateway;
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const r = await http(g, 'POST', '/v1/trunks/demo/cps', type === undefined ? {} : { 'content-type': type }, '{"region":"us1","cps":5}');
      expect([type, r.status, r.code]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    expect(cpsOf(g)).toBe(1);
    expect(await http(g, 'POST', '/v1/reload')).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await http(g, 'DELETE', '/v1/calls/CA00000000000000000000000000000000')).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await http(g, 'DELETE', '/v1/security/bans')).toMatchObject({ status: 415 });
    const json = { 'content-type': 'application/json; charset=utf-8' };
    expect(await http(g, 'DELETE', '/v1/calls/CA00000000000000000000000000000000', json)).toMatchObject({ status: 404, code: 'CALL_NOT_FOUND' });
    expect((await http(g, 'POST', '/v1/trunks/demo/cps', json, '{"region":"us1","cps":5}')).status).toBe(200);
    expect(cpsOf(g)).toBe(5);
  });
});

describe('the token', () => {
  const TOKEN = 'a-long-test-token-0123';

  it('metricsRequireToken puts /metrics behind the token; the probes stay open; tokens of any other length are refused', async () => {
    gateway = await startTestGateway({ http: { token: TOKEN, metricsRequireToken: true } });
    const g = gateway;
    expect(await http(g, 'GET', '/metrics')).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    const ok = await http(g, 'GET', '/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('trunkgate_build_info');
    for (const wrong of ['x', TOKEN.slice(0, -1), `${TOKEN}0`, TOKEN.repeat(10)]) {
      expect((await http(g, 'GET', '/v1/trunks', { authorization: `Bearer ${wrong}` })).status, wrong).toBe(401);
    }
    for (const path of ['/healthz', '/readyz']) expect((await http(g, 'GET', path)).status, path).toBe(200);
  });

  it('by default /metrics stays open (as before)', async () => {
    gateway = await startTestGateway({ http: { token: TOKEN } });
    expect((await http(gateway, 'GET', '/metrics')).status).toBe(200);
    expect((await http(gateway, 'GET', '/v1/trunks')).status).toBe(401);
  });
});
