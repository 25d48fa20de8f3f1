/**
 * The digest ban on the admin API (issue 12), as a fastify plugin under /v1:
 *   GET    /v1/security/bans                  bans in force, and the policy
 *   DELETE /v1/security/bans                  lift them all (and forget every failure)
 *   DELETE /v1/security/bans/{kind}/{value}   lift one: kind `source` (an IP address) or `username`
 */
import type { FastifyPluginCallback, FastifyReply } from 'fastify';
import { type TrunkgateError, errorOf } from '../errors.js';
import { BAN_KINDS, type BanKind } from '../termination/digest-guard.js';
import type { AdminApi } from './admin-api.js';

function send(reply: FastifyReply, error: TrunkgateError): FastifyReply {
  return reply.code(error.status).send(error.toJSON());
}

function isBanKind(kind: string): kind is BanKind {
  return (BAN_KINDS as readonly string[]).includes(kind);
}

export const securityRoutes: FastifyPluginCallback<{ api: AdminApi }> = (app, { api }, done) => {
  app.get('/security/bans', () => api.bans());

  app.delete('/security/bans', () => ({ lifted: api.clearBans() }));

  app.delete<{ Params: { kind: string; value: string } }>('/security/bans/:kind/:value', (req, reply) => {
    const { kind, value } = req.params;
    if (!isBanKind(kind) || !api.clearBan(kind, value)) return send(reply, errorOf('BAN_NOT_FOUND', kind, value));
    return reply.code(204).send();
  });
  done();
};
