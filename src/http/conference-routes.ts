/**
 * The Conferences and Participants resources of the provider's REST API
 * (SPEC §10) under `/2010-04-01`, beside the Calls resource and like it:
 * HTTP Basic with the account's credentials, form-encoded bodies, the
 * provider's JSON and error shapes. src/voice/conference-api.ts decides;
 * this file reads requests and writes responses.
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ConferenceApi } from '../voice/conference-api.js';
import type { ApiResult } from '../voice/provider-errors.js';
import type { VoiceAccount } from '../voice/voice-accounts.js';
import type { VoiceApi } from '../voice/voice-api-types.js';
import { BODY_LIMIT_BYTES, formOf, providerApiBasics, queryOf, sendError } from './voice-api.js';

export interface ConferenceRoutesOptions {
  voice: VoiceApi | undefined;
  conferences: ConferenceApi | undefined;
  logger?: Logger | undefined;
}

type Params = { AccountSid: string; ConferenceSid: string; CallSid?: string };

export const conferenceRoutes: FastifyPluginCallback<ConferenceRoutesOptions> = (app, opts, done) => {
  const { voice, conferences } = opts;
  if (voice === undefined || conferences === undefined) {
    done();
    return;
  }
  providerApiBasics(app, opts.logger, { notFound: false });
  const routeOptions = { bodyLimit: BODY_LIMIT_BYTES };

  const authenticated = (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply): VoiceAccount | undefined => {
    const r = voice.authenticate(req.params.AccountSid, req.headers.authorization);
    if (r.ok) return r.value;
    void sendError(reply, r.error);
    return undefined;
  };
  const answer = <T>(reply: FastifyReply, r: ApiResult<T>, status = 200): FastifyReply => (r.ok ? (r.value === null ? reply.code(204).send() : reply.code(status).send(r.value)) : sendError(reply, r.error));

  app.get<{ Params: Params }>('/Accounts/:AccountSid/Conferences.json', (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.listConferences(account, queryOf(req)));
  });

  app.get<{ Params: Params }>('/Accounts/:AccountSid/Conferences/:ConferenceSid.json', (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.fetchConference(account, req.params.ConferenceSid));
  });

  app.post<{ Params: Params }>('/Accounts/:AccountSid/Conferences/:ConferenceSid.json', routeOptions, (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.updateConference(account, req.params.ConferenceSid, formOf(req)));
  });

  app.get<{ Params: Params }>('/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants.json', (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.listParticipants(account, req.params.ConferenceSid, queryOf(req)));
  });

  app.post<{ Params: Params }>('/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants.json', routeOptions, (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.addParticipant(account, req.params.ConferenceSid, formOf(req)), 201);
  });

  app.get<{ Params: Params }>('/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants/:CallSid.json', (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.fetchParticipant(account, req.params.ConferenceSid, req.params.CallSid ?? ''));
  });

  app.post<{ Params: Params }>('/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants/:CallSid.json', routeOptions, (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.updateParticipant(account, req.params.ConferenceSid, req.params.CallSid ?? '', formOf(req)));
  });

  app.delete<{ Params: Params }>('/Accounts/:AccountSid/Conferences/:ConferenceSid/Participants/:CallSid.json', (req, reply) => {
    const account = authenticated(req, reply);
    return account === undefined ? reply : answer(reply, conferences.removeParticipant(account, req.params.ConferenceSid, req.params.CallSid ?? ''));
  });
  done();
};
