/**
 * `/v1` views of Programmable Voice's CPS queues (behind the /v1 bearer
 * token, like the rest of the admin API): every account's queue with its
 * depth, bound, CPS and voice concurrency, and the calls queued in one
 * account in order with their expected `queue_time`. Errors come from the
 * catalogue (src/errors.ts).
 */
import type { FastifyPluginCallback } from 'fastify';
import { errorOf } from '../errors.js';
import type { VoiceApi } from '../voice/voice-api-types.js';

export const voiceAdminRoutes: FastifyPluginCallback<{ voice: VoiceApi | undefined }> = (app, opts, done) => {
  const voice = opts.voice;
  if (voice !== undefined) {
    app.get('/voice/queues', () => voice.queueViews());
    app.get<{ Params: { account: string } }>('/voice/queues/:account', (req, reply) => {
      const calls = voice.queuedCalls(req.params.account);
      if (calls === undefined) {
        const e = errorOf('ACCOUNT_NOT_FOUND', req.params.account);
        return reply.code(e.status).send(e.toJSON());
      }
      const view = voice.queueViews().find((q) => q.account === req.params.account);
      return { ...view, calls };
    });
  }
  done();
};
