/**
 * Requests to the application (SPEC §10): TwiML fetches from `Url` (with
 * `FallbackUrl` on failure), `<Dial action>` and `<Redirect>` fetches, and
 * status callbacks. Each carries the provider's parameters and a correct
 * `X-Twilio-Signature`. Failures are classified as the provider does
 * (research §3.9): no connection within the timeout, refused, unknown host →
 * 11205 "HTTP connection failure"; no response in time, or a non-2xx status →
 * 11200 "HTTP retrieval failure"; a body over 64 kB → 11750.
 *
 * node:http(s) with a fresh connection per request (`agent: false`): nothing
 * is pooled, so an application server that closes never waits on us.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { HttpMethod } from '../twiml/parse.js';
import { twilioSignature } from './signature.js';

export type WebhookKind = 'twiml' | 'fallback' | 'action' | 'redirect' | 'status_callback';
export const WEBHOOK_KINDS: readonly WebhookKind[] = ['twiml', 'fallback', 'action', 'redirect', 'status_callback'];

export type WebhookFailure = 'connection' | 'timeout' | 'http_status' | 'too_large';
export const WEBHOOK_FAILURES: readonly WebhookFailure[] = ['connection', 'timeout', 'http_status', 'too_large'];

export type WebhookResult =
  | { ok: true; status: number; body: string; contentType: string | undefined }
  | { ok: false; failure: WebhookFailure; alert: 11200 | 11205 | 11750; detail: string };

export interface WebhookEventMap {
  /** Every request to the application, when it finished (metrics). */
  done: [kind: WebhookKind, seconds: number, failure: WebhookFailure | undefined];
}

/** The largest TwiML document the provider accepts (11750). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'EADDRNOTAVAIL']);

export interface WebhookRequest {
  kind: WebhookKind;
  url: string;
  method: HttpMethod;
  params: Record<string, string>;
  /** The account's auth token; without one no signature is sent. */
  authToken: string | undefined;
}

export class WebhookClient {
  readonly events = new EventEmitter<WebhookEventMap>();
  /** Requests in flight (shutdown waits a moment for them). */
  inFlight = 0;

  constructor(
    private readonly timeoutMs: () => number,
    private readonly userAgent: string,
  ) {}

  send(r: WebhookRequest): Promise<WebhookResult> {
    const started = performance.now();
    this.inFlight++;
    return this.exchange(r).then((result) => {
      this.inFlight--;
      this.events.emit('done', r.kind, (performance.now() - started) / 1000, result.ok ? undefined : result.failure);
      return result;
    });
  }

  private exchange(r: WebhookRequest): Promise<WebhookResult> {
    let target: URL;
    const form = new URLSearchParams(r.params).toString();
    let signedUrl = r.url;
    try {
      if (r.method === 'GET') {
        signedUrl = form.length === 0 ? r.url : `${r.url}${r.url.includes('?') ? '&' : '?'}${form}`;
      }
      target = new URL(signedUrl);
    } catch {
      return Promise.resolve({ ok: false, failure: 'connection', alert: 11205, detail: `not a URL: ${r.url}` });
    }
    const headers: Record<string, string> = {
      'user-agent': this.userAgent,
      accept: '*/*',
      'cache-control': 'max-age=259200',
      connection: 'close',
    };
    if (r.authToken !== undefined) headers['x-twilio-signature'] = twilioSignature(r.authToken, signedUrl, r.method === 'POST' ? r.params : {});
    let body: Buffer | undefined;
    if (r.method === 'POST') {
      body = Buffer.from(form, 'utf8');
      headers['content-type'] = 'application/x-www-form-urlencoded; charset=utf-8';
      headers['content-length'] = String(body.length);
    }
    const timeoutMs = this.timeoutMs();
    const lib = target.protocol === 'https:' ? https : http;
    return new Promise<WebhookResult>((resolve) => {
      let settled = false;
      const finish = (result: WebhookResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      let connected = false;
      const req = lib.request(target, { method: r.method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            finish({ ok: false, failure: 'too_large', alert: 11750, detail: `${r.url}: the response body is larger than 64 kB` });
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status < 200 || status >= 300) finish({ ok: false, failure: 'http_status', alert: 11200, detail: `${r.method} ${r.url} answered HTTP ${status}` });
          else finish({ ok: true, status, body: text, contentType: res.headers['content-type'] });
        });
        res.on('error', (err) => finish({ ok: false, failure: 'timeout', alert: 11200, detail: `${r.url}: ${err.message}` }));
      });
      req.on('socket', (socket) => {
        socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => (connected = true));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected || CONNECTION_ERRORS.has(err.code ?? '')) {
          finish({ ok: false, failure: 'connection', alert: 11205, detail: `${r.url}: ${err.code ?? err.message}` });
        } else {
          finish({ ok: false, failure: 'timeout', alert: 11200, detail: `${r.url}: ${err.code ?? err.message}` });
        }
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish(
          connected
            ? { ok: false, failure: 'timeout', alert: 11200, detail: `${r.url}: no response within ${timeoutMs} ms` }
            : { ok: false, failure: 'connection', alert: 11205, detail: `${r.url}: no connection within ${timeoutMs} ms` },
        );
      }, timeoutMs);
      req.end(body);
    });
  }
}
