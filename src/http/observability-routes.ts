/**
 * Routes for watching calls (docs/http-api.md): a call's SIP messages as
 * JSON or pcap, the status snapshot and its server-sent-events stream under
 * /v1 (behind the bearer token), and the status page itself at `/` (static
 * files from status-page/, no data of its own: it reads /v1).
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TrunkgateError } from '../errors.js';
import type { ObservabilityApi } from './observability-views.js';

function send(reply: FastifyReply, error: TrunkgateError): FastifyReply {
  return reply.code(error.status).send(error.toJSON());
}

/** How often the status stream sends a snapshot. */
export const STATUS_STREAM_INTERVAL_MS = 1000;

/** The /v1 routes; registered inside the /v1 scope, so the token check applies. */
export function observabilityRoutes(v1: FastifyInstance, api: ObservabilityApi): void {
  v1.get<{ Params: { id: string } }>('/calls/:id/messages', (req, reply) => {
    const r = api.messages(req.params.id);
    return r.ok ? r.value : send(reply, r.error);
  });

  v1.get<{ Params: { id: string } }>('/calls/:id/pcap', (req, reply) => {
    const r = api.pcap(req.params.id);
    if (!r.ok) return send(reply, r.error);
    return reply.header('content-type', r.value.contentType).header('content-disposition', `attachment; filename="${r.value.filename}"`).send(r.value.body);
  });

  v1.get('/status', () => api.status());

  // Server-sent events: a snapshot at once, then every STATUS_STREAM_INTERVAL_MS until the client goes.
  const streams = new Set<() => void>();
  v1.addHook('preClose', (done) => {
    for (const end of [...streams]) end();
    done();
  });
  v1.get('/status/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    // `connection: close`: when the stream ends (the client left, or the server stops) the socket goes
    // with it, instead of lingering as an idle keep-alive connection that holds up the server's close
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'close', 'x-accel-buffering': 'no' });
    let seq = 0;
    const push = (): void => {
      // a shared limit store answers the trunks' figures asynchronously
      api.status().then(
        (status) => {
          if (!res.writableEnded) res.write(`id: ${++seq}\nevent: status\ndata: ${JSON.stringify(status)}\n\n`);
        },
        (err: unknown) => req.log.error({ err }, 'status snapshot failed'),
      );
    };
    push();
    const timer = setInterval(push, STATUS_STREAM_INTERVAL_MS);
    const end = (): void => {
      clearInterval(timer);
      streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    streams.add(end);
    req.raw.on('close', end);
  });
}

/** The page's files: read once, served from memory. */
const PAGE_FILES: Record<string, { type: string; path: string }> = {
  'status.js': { type: 'text/javascript; charset=utf-8', path: 'status.js' },
  'status.css': { type: 'text/css; charset=utf-8', path: 'status.css' },
};

function pageFile(name: string): string {
  return readFileSync(new URL(`../../status-page/${name}`, import.meta.url), 'utf8');
}

/** `/` and its script and style, outside /v1 (the page holds no data; it asks /v1 with the token the user gives it). */
export function statusPageRoutes(app: FastifyInstance): void {
  const html = pageFile('index.html');
  const files = new Map(Object.entries(PAGE_FILES).map(([name, f]) => [name, { type: f.type, body: pageFile(f.path) }]));
  app.get('/', (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(html));
  app.get<{ Params: { file: string } }>('/status/:file', (req, reply) => {
    const f = files.get(req.params.file);
    if (f === undefined) return reply.callNotFound();
    return reply.header('content-type', f.type).header('cache-control', 'no-cache').send(f.body);
  });
}
