/**
 * A real HTTP server on 127.0.0.1 that plays the application behind a
 * Programmable Voice call: it serves TwiML (or errors) by path, records
 * every request trunkgate makes (TwiML fetches, status callbacks, <Dial>
 * actions) with its parameters, and checks every X-Twilio-Signature with the
 * official SDK's own `validateRequest`.
 */
import http from 'node:http';
import twilio from 'twilio';
import { waitFor } from './wait-for.js';

export interface AppRequest {
  method: string;
  /** Path without the query. */
  path: string;
  /** The full URL as received (what trunkgate signed). */
  url: string;
  params: Record<string, string>;
  signature: string | undefined;
  signatureValid: boolean;
  /** performance.now() when it arrived. */
  at: number;
}

export type AppReply = { status?: number; twiml?: string; body?: string; contentType?: string } | 'hang';

export interface VoiceApp {
  base: string;
  requests: AppRequest[];
  /** Requests to `path`, in order. */
  to(path: string): AppRequest[];
  /** Wait until `count` requests to `path` arrived (with a deadline). */
  waitFor(path: string, count?: number, timeoutMs?: number): Promise<AppRequest[]>;
  close(): Promise<void>;
}

/** Start the application; `routes` answer by path (unknown paths: 404). */
export async function startVoiceApp(authToken: string, routes: Record<string, AppReply | ((r: AppRequest) => AppReply)>): Promise<VoiceApp> {
  const requests: AppRequest[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = base + (req.url ?? '/');
      const u = new URL(url);
      const method = req.method ?? 'GET';
      const params: Record<string, string> = {};
      if (method === 'POST') for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params[k] = v;
      else for (const [k, v] of u.searchParams) params[k] = v;
      const signature = req.headers['x-twilio-signature'] as string | undefined;
      const signatureValid = signature !== undefined && twilio.validateRequest(authToken, signature, url, method === 'POST' ? params : {});
      const record: AppRequest = { method, path: u.pathname, url, params, signature, signatureValid, at: performance.now() };
      requests.push(record);
      const route = routes[u.pathname];
      const reply = typeof route === 'function' ? route(record) : route;
      if (reply === 'hang') return; // never answers (timeouts)
      if (reply === undefined) {
        res.writeHead(404).end('not found');
        return;
      }
      const body = reply.twiml ?? reply.body ?? '';
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? (reply.twiml !== undefined ? 'text/xml' : 'text/plain') });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  const to = (path: string): AppRequest[] => requests.filter((r) => r.path === path);
  return {
    base,
    requests,
    to,
    waitFor: (path, count = 1, timeoutMs = 10_000) =>
      waitFor(() => (to(path).length >= count ? to(path) : undefined), { timeoutMs, what: `${count} request(s) to ${path}`, detail: () => requests.map((r) => `${r.method} ${r.path}`).join(', ') }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
