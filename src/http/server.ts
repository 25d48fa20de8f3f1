/**
 * The HTTP side (SPEC §7.3), on fastify: /metrics, /healthz, /readyz and the
 * /v1 admin API. Bodies and query strings are checked by the zod schemas of
 * bodies.ts; every error is one of the catalogue's (src/errors.ts), served
 * as JSON `{code, message, details?}`. With `http.token` set, /v1 needs
 * `Authorization: Bearer …`. Every request first passes guards.ts (Host,
 * Origin, JSON for state-changing requests, the token for /metrics when asked).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { type TrunkgateError, errorOf } from '../errors.js';
import type { AdminApi } from './admin-api.js';
import { AlertsQuerySchema, CPS_CHANGE_EXAMPLE, CpsChangeBodySchema, describeIssues } from './bodies.js';
import { originationRoutes } from './origination-routes.js';
import { voiceAdminRoutes } from './voice-admin.js';
import { voiceApiRoutes } from './voice-api.js';
import { clientRoutes } from './client-routes.js';
import { conferenceRoutes } from './conference-routes.js';
import { installRequestGuards, tokenMatches } from './guards.js';
import { securityRoutes } from './security-routes.js';
import { observabilityRoutes, statusPageRoutes } from './observability-routes.js';

export interface HttpOptions {
  host: string;
  port: number;
  token: string | null;
  /** Names the Host header may carry besides the listener's own (http.allowedHosts). Default none. */
  allowedHosts?: readonly string[];
  /** /metrics needs the token too (http.metricsRequireToken). Default false. */
  metricsRequireToken?: boolean;
  logger?: Logger | undefined;
  /** Largest request body accepted, in bytes. Default 16 KiB. */
  bodyLimitBytes?: number;
}

function send(reply: FastifyReply, error: TrunkgateError): FastifyReply {
  return reply.code(error.status).send(error.toJSON());
}

/** The catalogue's error for what fastify itself refuses (a body too large, a media type it has no parser for, bad JSON). */
function fromFastify(err: { statusCode?: number; code?: string; message: string }, bodyLimit: number, contentType: string | undefined): TrunkgateError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errorOf('BAD_BODY', 'not valid JSON', CPS_CHANGE_EXAMPLE);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errorOf('BAD_BODY', 'empty', CPS_CHANGE_EXAMPLE);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorOf('BODY_TOO_LARGE', bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorOf('UNSUPPORTED_MEDIA_TYPE', contentType ?? '(none)');
    default:
      return undefined;
  }
}

export interface RouteEntry {
  method: string;
  /** The path as registered, with `:param` placeholders. */
  url: string;
}

const ROUTES = new WeakMap<FastifyInstance, RouteEntry[]>();

/** The routes an app built here serves (fastify's onRoute list; HEAD, added for each GET, left out). */
export function routesOf(app: FastifyInstance): readonly RouteEntry[] {
  return ROUTES.get(app) ?? [];
}

export function buildHttpServer(api: AdminApi, options: HttpOptions): FastifyInstance {
  const bodyLimit = options.bodyLimitBytes ?? 16 * 1024;
  // forceCloseConnections: stopping closes every connection, so a browser's keep-alive sockets (the
  // status page) or a request arriving on one mid-shutdown cannot hold the close up for the keep-alive timeout
  const app = Fastify({ logger: false, bodyLimit, forceCloseConnections: true });
  const routes: RouteEntry[] = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });

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

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const known = fromFastify(err, bodyLimit, req.headers['content-type']);
    if (known !== undefined) return send(reply, known);
    options.logger?.error({ err }, 'HTTP handler failed');
    return send(reply, errorOf('INTERNAL'));
  });
  app.setNotFoundHandler((req, reply) => send(reply, errorOf('NOT_FOUND', req.method, req.url)));
  installRequestGuards(app, { host: options.host, token: options.token, allowedHosts: options.allowedHosts ?? [], metricsRequireToken: options.metricsRequireToken ?? false }, send);

  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await api.scrape();
    return reply.header('content-type', contentType).send(body);
  });
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_req, reply) => {
    const r = api.readiness();
    // memory mode answers as it always did; a shared store adds its state
    const body = r.store.kind === 'memory' ? { status: r.status } : { status: r.status, store: r.store };
    return r.ready ? body : reply.code(503).send(body);
  });
  statusPageRoutes(app);

  app.register(
    (v1, _opts, done) => {
      v1.addHook('onRequest', async (req, reply) => {
        if (options.token !== null && !tokenMatches(req.headers.authorization, options.token)) {
          return send(reply.header('www-authenticate', 'Bearer'), errorOf('UNAUTHORIZED'));
        }
        return undefined;
      });

      v1.get('/trunks', () => api.trunks());

      v1.get<{ Params: { name: string } }>('/trunks/:name', async (req, reply) => (await api.trunk(req.params.name)) ?? send(reply, errorOf('TRUNK_NOT_FOUND', req.params.name)));

      v1.post<{ Params: { name: string }; Body: unknown }>('/trunks/:name/cps', async (req, reply) => {
        const body: unknown = req.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return send(reply, errorOf('BAD_BODY', 'expected a JSON object', CPS_CHANGE_EXAMPLE));
        const parsed = CpsChangeBodySchema.safeParse(body);
        if (!parsed.success) return send(reply, errorOf('BAD_BODY', describeIssues(parsed.error)));
        const result = await api.setCps(req.params.name, parsed.data);
        return result.ok ? result.value : send(reply, result.error);
      });

      v1.get('/calls', () => api.calls());

      v1.delete<{ Params: { id: string } }>('/calls/:id', (req, reply) =>
        api.hangup(req.params.id) ? reply.code(204).send() : send(reply, errorOf('CALL_NOT_FOUND', req.params.id)),
      );

      v1.get('/alerts', (req, reply) => {
        const parsed = AlertsQuerySchema.safeParse(req.query);
        if (!parsed.success) return send(reply, errorOf('BAD_SINCE', describeIssues(parsed.error)));
        return api.listAlerts(parsed.data.since);
      });

      v1.register(voiceAdminRoutes, { voice: api.voice });
      v1.register(clientRoutes, { clients: api.clients });
      v1.register(originationRoutes, { origination: api.origination });

      v1.post('/reload', (_req, reply) => {
        const result = api.reload();
        return result.ok ? result.value : send(reply, result.error);
      });

      void v1.register(securityRoutes, { api });
      observabilityRoutes(v1, api.observability);
      done();
    },
    { prefix: '/v1' },
  );

  app.register(voiceApiRoutes, { prefix: '/2010-04-01', voice: api.voice, logger: options.logger });
  app.register(conferenceRoutes, { prefix: '/2010-04-01', voice: api.voice, conferences: api.conferences, logger: options.logger });

  return app;
}

export async function startHttpServer(api: AdminApi, options: HttpOptions): Promise<{ app: FastifyInstance; port: number; host: string }> {
  const app = buildHttpServer(api, options);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    throw e.code === 'EADDRINUSE' ? errorOf('HTTP_LISTEN_IN_USE', url) : errorOf('HTTP_LISTEN_FAILED', url, e.message);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : options.port;
  return { app, port, host: options.host };
}
