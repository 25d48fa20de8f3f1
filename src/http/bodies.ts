/**
 * The bodies and query strings the admin API takes, as zod schemas: parsed
 * and checked in one step, no casts (STYLE: HTTP bodies are validated by
 * schemas).
 */
import { z } from 'zod';
import { REGIONS } from '../config/schema.js';

export const CpsChangeBodySchema = z.strictObject({
  region: z.enum(REGIONS, { error: `expected one of ${REGIONS.join(', ')}` }),
  cps: z.number({ error: 'expected a number above 0' }).gt(0, 'expected a number above 0').max(100_000, 'expected at most 100000'),
  effective: z.enum(['now', 'next-month'], { error: 'expected "now" or "next-month"' }).optional(),
  force: z.boolean({ error: 'expected true or false' }).optional(),
});
export type CpsChangeBody = z.infer<typeof CpsChangeBodySchema>;

export const CPS_CHANGE_EXAMPLE = 'send Content-Type: application/json and a body like {"region": "us1", "cps": 5}';

/** ISO-8601 date or date-time (Date.parse alone also takes "-1" or "1.5" as dates). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** `GET /v1/alerts?since=`: a sequence number, or an ISO-8601 time. */
export const AlertsQuerySchema = z.object({
  since: z
    .string()
    .optional()
    .transform((v, ctx): { seq?: number; time?: number } | undefined => {
      if (v === undefined || v === '') return undefined;
      if (/^\d+$/.test(v)) return { seq: Number(v) };
      const time = ISO_TIME.test(v) ? Date.parse(v) : Number.NaN;
      if (Number.isNaN(time)) {
        ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 time (2026-11-27T10:00:00Z) or an alert sequence number' });
        return z.NEVER;
      }
      return { time };
    }),
});

/** One line per problem: `field: what was expected`, unknown fields named. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown field(s): ${i.keys.join(', ')}`;
      const path = i.path.join('.');
      return path === '' ? i.message : `${path}: ${i.message}`;
    })
    .join('; ');
}
