/**
 * The HTTP side (SPEC §7.3), on fastify: /metrics, /healthz, /readyz and the
 * /v1 admin API. Errors are JSON with a stable `code` and a message that says
 * what to fix. With `http.token` set, /v1 needs `Authorization: Bearer …`.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { REGIONS } from '../config/schema.js';
import type { AdminApi, CpsChangeBody } from './admin-api.js';

export interface HttpOptions {
  host: string;
  port: number;
  token: string | null;
  logger?: Logger | undefined;
  /** Largest request body accepted, in bytes. Default 16 KiB. */
  bodyLimitBytes?: number;
}

const JSON_BODY_EXAMPLE = 'send Content-Type: application/json and a body like {"region": "us1", "cps": 5}';

/** ISO-8601 date or date-time (Date.parse alone also takes "-1" or "1.5" as dates). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function error(reply: FastifyReply, status: number, code: string | number, message: string, details?: unknown): FastifyReply {
  return reply.code(status).send(details === undefined ? { code, message } : { code, message, details });
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (m === null) return false;
  const given = Buffer.from(m[1] as string);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function buildHttpServer(api: AdminApi, options: HttpOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimitBytes ?? 16 * 1024 });

  // JSON bodies, where an empty one means "no body" (POST /v1/reload is often sent with -H content-type and nothing else).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim().length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    }
  });

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    // A body that is not JSON is a bad body like any other (stable code, says what to send).
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return error(reply, 400, 'BAD_BODY', `body: ${err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'empty' : 'not valid JSON'}; ${JSON_BODY_EXAMPLE}`);
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) options.logger?.error({ err }, 'HTTP handler failed');
    return error(reply, status, err.code ?? 'INTERNAL', status >= 500 ? 'internal error (see the gateway log)' : err.message);
  });
  app.setNotFoundHandler((req, reply) => error(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url}; see docs/http-api.md`));

  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await api.scrape();
    return reply.header('content-type', contentType).send(body);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (api.ready() ? { status: 'ready' } : reply.code(503).send({ status: 'draining' })));

  app.register(
    async (v1) => {
      v1.addHook('onRequest', async (req, reply) => {
        if (options.token !== null && !tokenMatches(req.headers.authorization, options.token)) {
          return error(reply.header('www-authenticate', 'Bearer'), 401, 'UNAUTHORIZED', 'send "Authorization: Bearer <http.token>"');
        }
        return undefined;
      });

      v1.get('/trunks', async () => api.trunks());

      v1.get<{ Params: { name: string } }>('/trunks/:name', async (req, reply) => {
        const trunk = api.trunk(req.params.name);
        return trunk ?? error(reply, 404, 'TRUNK_NOT_FOUND', `no trunk named "${req.params.name}"; GET /v1/trunks lists them`);
      });

      v1.post<{ Params: { name: string }; Body: unknown }>('/trunks/:name/cps', async (req, reply) => {
        const body = req.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return error(reply, 400, 'BAD_BODY', `body: expected a JSON object; ${JSON_BODY_EXAMPLE}`);
        const b = body as Record<string, unknown>;
        const problems: string[] = [];
        if (typeof b['region'] !== 'string' || !(REGIONS as readonly string[]).includes(b['region'])) problems.push(`region: expected one of ${REGIONS.join(', ')}`);
        if (typeof b['cps'] !== 'number' || !Number.isFinite(b['cps']) || b['cps'] <= 0 || b['cps'] > 100_000) problems.push('cps: expected a number above 0');
        if (b['effective'] !== undefined && b['effective'] !== 'now' && b['effective'] !== 'next-month') problems.push('effective: expected "now" or "next-month"');
        if (b['force'] !== undefined && typeof b['force'] !== 'boolean') problems.push('force: expected true or false');
        const unknown = Object.keys(b).filter((k) => !['region', 'cps', 'effective', 'force'].includes(k));
        if (unknown.length > 0) problems.push(`unknown field(s): ${unknown.join(', ')}`);
        if (problems.length > 0) return error(reply, 400, 'BAD_BODY', problems.join('; '));
        const result = api.setCps(req.params.name, b as unknown as CpsChangeBody);
        return result.ok ? result.value : error(reply, result.status, result.code, result.message, result.details);
      });

      v1.get('/calls', async () => api.calls());

      v1.delete<{ Params: { id: string } }>('/calls/:id', async (req, reply) =>
        api.hangup(req.params.id) ? reply.code(204).send() : error(reply, 404, 'CALL_NOT_FOUND', `no active call "${req.params.id}"; GET /v1/calls lists them`),
      );

      v1.get<{ Querystring: { since?: string } }>('/alerts', async (req, reply) => {
        const since = req.query.since;
        if (since === undefined || since === '') return api.listAlerts();
        if (/^\d+$/.test(since)) return api.listAlerts({ seq: Number(since) });
        const time = ISO_TIME.test(since) ? Date.parse(since) : Number.NaN;
        if (Number.isNaN(time)) return error(reply, 400, 'BAD_SINCE', 'since: expected an ISO-8601 time (2026-11-27T10:00:00Z) or an alert sequence number');
        return api.listAlerts({ time });
      });

      v1.post('/reload', async (_req, reply) => {
        const result = api.reload();
        return result.ok ? result.value : error(reply, result.status, result.code, result.message, result.details);
      });
    },
    { prefix: '/v1' },
  );

  return app;
}

export async function startHttpServer(api: AdminApi, options: HttpOptions): Promise<{ app: FastifyInstance; port: number; host: string }> {
  const app = buildHttpServer(api, options);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const where = `${options.host}:${options.port}`;
    throw new HttpListenError(e.code === 'EADDRINUSE' ? `cannot listen on http://${where}: the address is already in use. Choose another with --http-listen or http.listen.` : `cannot listen on http://${where}: ${e.message}`);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : options.port;
  return { app, port, host: options.host };
}

export class HttpListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpListenError';
  }
}
