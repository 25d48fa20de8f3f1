/**
 * `/v1/origination`: inbound load runs (SPEC §11), behind the /v1 bearer
 * token like the rest of the admin API. `POST` starts a run on a trunk
 * (`{ trunk, rate, calls, holdMs?, from?, to? }`) and answers 201 with its
 * report (its `id` among the fields); `GET /v1/origination/{id}` follows it;
 * `DELETE` stops it; `GET /v1/origination` lists the runs. Bodies checked by
 * zod; errors from the catalogue (src/errors.ts).
 */
import type { FastifyPluginCallback, FastifyReply } from 'fastify';
import { z } from 'zod';
import { type Result, type TrunkgateError, errorOf } from '../errors.js';
import { E164 } from '../numbers/number-patterns.js';
import type { RunReport } from '../origination/origination-run.js';
import { describeIssues } from './bodies.js';

/** What the routes need from the inbound side (src/origination/origination.ts). */
export interface OriginationApi {
  startRun(req: OriginationRunBody): Result<RunReport>;
  report(id: string): RunReport | undefined;
  reports(): RunReport[];
  cancelRun(id: string): RunReport | undefined;
}

/** Upper bounds that keep a run bounded in count and time. */
export const RUN_LIMITS = { maxRate: 5000, maxCalls: 1_000_000, maxHoldMs: 14_400_000, maxNumbers: 10_000 } as const;

const number = z.string().regex(E164, 'expected an E.164 number like +14155550100');
const numbers = z.union([number, z.array(number).min(1, 'give at least one number').max(RUN_LIMITS.maxNumbers, `at most ${RUN_LIMITS.maxNumbers} numbers`)]);

export const OriginationRunBodySchema = z.strictObject({
  trunk: z.string({ error: 'expected the name of a trunk' }).min(1, 'expected the name of a trunk'),
  rate: z.number({ error: 'expected calls per second, a number above 0' }).gt(0, 'expected calls per second, a number above 0').max(RUN_LIMITS.maxRate, `expected at most ${RUN_LIMITS.maxRate} calls per second`),
  calls: z.number({ error: 'expected a whole number of calls, 1 or more' }).int('expected a whole number of calls').min(1, 'expected 1 call or more').max(RUN_LIMITS.maxCalls, `expected at most ${RUN_LIMITS.maxCalls} calls`),
  holdMs: z.number({ error: 'expected milliseconds, a whole number' }).int('expected whole milliseconds').min(0, 'expected 0 or more').max(RUN_LIMITS.maxHoldMs, `expected at most ${RUN_LIMITS.maxHoldMs} ms (4 h)`).optional(),
  from: numbers.optional(),
  to: numbers.optional(),
});
export type OriginationRunBody = z.infer<typeof OriginationRunBodySchema>;

export const ORIGINATION_EXAMPLE = 'send Content-Type: application/json and a body like {"trunk": "demo", "rate": 10, "calls": 100, "holdMs": 2000}';

function send(reply: FastifyReply, error: TrunkgateError): FastifyReply {
  return reply.code(error.status).send(error.toJSON());
}

export const originationRoutes: FastifyPluginCallback<{ origination: OriginationApi | undefined }> = (app, opts, done) => {
  const origination = opts.origination;
  if (origination !== undefined) {
    app.post<{ Body: unknown }>('/origination', (req, reply) => {
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return send(reply, errorOf('BAD_BODY', 'expected a JSON object', ORIGINATION_EXAMPLE));
      const parsed = OriginationRunBodySchema.safeParse(body);
      if (!parsed.success) return send(reply, errorOf('BAD_BODY', describeIssues(parsed.error), ORIGINATION_EXAMPLE));
      const r = origination.startRun(parsed.data);
      return r.ok ? reply.code(201).header('location', `/v1/origination/${r.value.id}`).send(r.value) : send(reply, r.error);
    });
    app.get('/origination', () => origination.reports());
    app.get<{ Params: { id: string } }>('/origination/:id', (req, reply) => origination.report(req.params.id) ?? send(reply, errorOf('ORIGINATION_RUN_NOT_FOUND', req.params.id)));
    app.delete<{ Params: { id: string } }>('/origination/:id', (req, reply) => origination.cancelRun(req.params.id) ?? send(reply, errorOf('ORIGINATION_RUN_NOT_FOUND', req.params.id)));
  }
  done();
};
