/**
 * The Programmable Voice REST API (SPEC §10) on the HTTP listener, as the
 * provider serves it, so its SDK works unchanged: `/2010-04-01/Accounts/
 * {AccountSid}/Calls.json` and `…/Calls/{CallSid}.json`, form-encoded bodies
 * (repeated keys kept), HTTP Basic auth with the account's credentials (not
 * the /v1 bearer token), JSON in the provider's shapes and its error body
 * `{code, message, more_info, status}`. The engine (src/voice/) decides
 * everything; this file reads requests and writes responses.
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { type ProviderError, providerError, providerErrorBody } from '../voice/provider-errors.js';
import type { VoiceApi } from '../voice/voice-api-types.js';
import type { VoiceAccount } from '../voice/voice-accounts.js';

export interface VoiceApiPluginOptions {
  voice: VoiceApi | undefined;
  logger?: Logger | undefined;
}

/** Twiml is at most 4000 characters; URL-encoding can triple that, and the other fields add some. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export function sendError(reply: FastifyReply, e: ProviderError): FastifyReply {
  if (e.status === 401) reply.header('www-authenticate', 'Basic realm="Twilio API"');
  return reply.code(e.status).header('content-type', 'application/json; charset=utf-8').send(providerErrorBody(e));
}

type Params = { AccountSid: string; CallSid?: string };

/** The form body (or query string) with repeated keys kept. */
export function formOf(req: FastifyRequest): URLSearchParams {
  const body: unknown = req.body;
  if (body instanceof URLSearchParams) return body;
  return new URLSearchParams();
}

export function queryOf(req: FastifyRequest): URLSearchParams {
  const raw = req.raw.url ?? '';
  const q = raw.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
}

/**
 * What every plugin of the provider's REST API sets on its (encapsulated)
 * fastify context: form bodies with repeated keys kept, and errors and
 * unknown paths answered in the provider's shape.
 */
export function providerApiBasics(app: FastifyInstance, logger: Logger | undefined, options: { notFound: boolean } = { notFound: true }): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, parsed) => {
    parsed(null, new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8')));
  });
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, providerError('BAD_PARAMETER', `the body is larger than ${BODY_LIMIT_BYTES} bytes`));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return sendError(reply, providerError('BAD_PARAMETER', 'send the parameters form-encoded (Content-Type: application/x-www-form-urlencoded)'));
    }
    logger?.error({ err }, 'voice API handler failed');
    return reply.code(500).send({ code: 20500, message: 'Internal Server Error', more_info: 'https://www.twilio.com/docs/errors/20500', status: 500 });
  });
  // one not-found handler per prefix: the Calls plugin's answers every unknown path under /2010-04-01
  if (options.notFound) app.setNotFoundHandler((req, reply) => sendError(reply, providerError('NOT_FOUND', (req.raw.url ?? '').split('?')[0])));
}

export const voiceApiRoutes: FastifyPluginCallback<VoiceApiPluginOptions> = (app, opts, done) => {
  const voice = opts.voice;
  if (voice === undefined) {
    done();
    return;
  }
  providerApiBasics(app, opts.logger);

  /** Basic auth against the account in the path; the account travels with the request. */
  const authenticated = (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply): VoiceAccount | undefined => {
    const r = voice.authenticate(req.params.AccountSid, req.headers.authorization);
    if (r.ok) return r.value;
    void sendError(reply, r.error);
    return undefined;
  };
  const routeOptions = { bodyLimit: BODY_LIMIT_BYTES };

  app.post<{ Params: Params }>('/Accounts/:AccountSid/Calls.json', routeOptions, (req, reply) => {
    const account = authenticated(req, reply);
    if (account === undefined) return reply;
    const r = voice.create(account, formOf(req));
    return r.ok ? reply.code(201).send(r.value) : sendError(reply, r.error);
  });

  app.get<{ Params: Params }>('/Accounts/:AccountSid/Calls.json', (req, reply) => {
    const account = authenticated(req, reply);
    if (account === undefined) return reply;
    const r = voice.list(account, queryOf(req));
    return r.ok ? reply.send(r.value) : sendError(reply, r.error);
  });

  app.get<{ Params: Params }>('/Accounts/:AccountSid/Calls/:CallSid.json', (req, reply) => {
    const account = authenticated(req, reply);
    if (account === undefined) return reply;
    const r = voice.fetch(account, req.params.CallSid ?? '');
    return r.ok ? reply.send(r.value) : sendError(reply, r.error);
  });

  app.post<{ Params: Params }>('/Accounts/:AccountSid/Calls/:CallSid.json', routeOptions, (req, reply) => {
    const account = authenticated(req, reply);
    if (account === undefined) return reply;
    const r = voice.update(account, req.params.CallSid ?? '', formOf(req));
    return r.ok ? reply.send(r.value) : sendError(reply, r.error);
  });

  app.delete<{ Params: Params }>('/Accounts/:AccountSid/Calls/:CallSid.json', (req, reply) => {
    const account = authenticated(req, reply);
    if (account === undefined) return reply;
    const r = voice.remove(account, req.params.CallSid ?? '');
    return r.ok ? reply.code(204).send() : sendError(reply, r.error);
  });
  done();
};
