/**
 * What every HTTP request must pass before a route sees it (issue 12):
 *
 * - `Host` names this server: the listener's address, `localhost` on a
 *   loopback or wildcard listener, any IP address on a wildcard listener, or
 *   one of `http.allowedHosts`. A DNS-rebinding page (evil.example resolving
 *   to 127.0.0.1) sends its own name and is refused, so it cannot read.
 * - A browser's `Origin`, when sent, is the server's own (`http://<Host>`):
 *   a page of another site cannot drive the API.
 * - State-changing requests (POST, PUT, PATCH, DELETE) carry
 *   `Content-Type: application/json`: a page can send text/plain or a form
 *   cross-site without asking, JSON only after a CORS preflight nobody grants.
 *   Not the provider's REST API under `/2010-04-01`: its SDKs send forms, as
 *   the provider takes them; HTTP Basic and the `Origin` check guard it.
 * - `/metrics` needs the token when `http.metricsRequireToken` is set.
 *
 * `/healthz` and `/readyz` (liveness probes, which reveal nothing) skip the
 * Host and Origin checks. Token comparison: HMACs of equal length, so the
 * time taken reveals neither the token nor its length.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type TrunkgateError, errorOf } from '../errors.js';

export interface GuardOptions {
  /** The listen host (no brackets), as configured: an address, or a wildcard. */
  host: string;
  token: string | null;
  /** Names `Host` may carry besides the listener's own. */
  allowedHosts: readonly string[];
  metricsRequireToken: boolean;
}

const HMAC_KEY = randomBytes(32);

function mac(text: string): Buffer {
  return createHmac('sha256', HMAC_KEY).update(text).digest();
}

/** Whether `Authorization: Bearer <token>` carries `token`: compares HMACs (equal length), not the strings. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return timingSafeEqual(mac(m?.[1] ?? ''), mac(token)) && m !== null;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

/** The name part of a Host header (lower case, IPv6 without brackets); undefined when malformed. */
export function hostName(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end === -1 || (end + 1 < h.length && !/^:\d{1,5}$/.test(h.slice(end + 1)))) return undefined;
    return h.slice(1, end);
  }
  const m = /^([^:]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1];
}

/** Whether a Host header names this server (see the module comment). */
export function hostAllowed(host: string | undefined, options: Pick<GuardOptions, 'host' | 'allowedHosts'>): boolean {
  if (host === undefined) return false;
  const name = hostName(host);
  if (name === undefined || name.length === 0) return false;
  if (options.allowedHosts.some((a) => a.toLowerCase().replace(/^\[|\]$/g, '') === name)) return true;
  const listen = options.host.toLowerCase();
  const wildcard = WILDCARDS.has(listen);
  if (name === 'localhost') return wildcard || isLoopback(listen);
  if (isIP(name) === 0) return false;
  return wildcard || name === listen;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const UNGUARDED = new Set(['/healthz', '/readyz']);
const PROVIDER_API = '/2010-04-01/';

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());
}

/** Install the checks on every route of `app` (an onRequest hook at the root). */
export function installRequestGuards(app: FastifyInstance, options: GuardOptions, send: (reply: FastifyReply, error: TrunkgateError) => FastifyReply): void {
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0] as string;
    if (!UNGUARDED.has(path)) {
      const host = req.headers.host;
      if (!hostAllowed(host, options)) return send(reply, errorOf('HOST_NOT_ALLOWED', host ?? '(none)'));
      const origin = req.headers.origin;
      if (origin !== undefined && origin.toLowerCase() !== `http://${(host as string).toLowerCase()}`) return send(reply, errorOf('ORIGIN_NOT_ALLOWED', origin));
    }
    if (STATE_CHANGING.has(req.method) && !path.startsWith(PROVIDER_API) && !isJson(req.headers['content-type'])) {
      return send(reply, errorOf('UNSUPPORTED_MEDIA_TYPE', req.headers['content-type'] ?? '(none)'));
    }
    if (path === '/metrics' && options.metricsRequireToken && options.token !== null && !tokenMatches(req.headers.authorization, options.token)) {
      return send(reply.header('www-authenticate', 'Bearer'), errorOf('UNAUTHORIZED'));
    }
    return undefined;
  });
}
