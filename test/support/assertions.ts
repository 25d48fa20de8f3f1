/** Assertions the integration tests share: every lease back, and a SIPp run with nothing failed. */
import { expect } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import type { SippResult } from './sipp.js';
import { waitFor } from './wait-for.js';

/** Wait (with a deadline) until no call is active and no lease held; then no lease was released twice. */
export async function expectAllReleased(g: Gateway, timeoutMs = 15_000): Promise<void> {
  await waitFor(() => g.b2bua.activeCalls === 0 && g.tracker.active === 0, {
    timeoutMs,
    what: 'active calls to return to 0',
    detail: () => `calls ${g.b2bua.activeCalls}, leases ${g.tracker.active}`,
  });
  expect(g.tracker.doubleReleases).toBe(0);
  expect(g.tracker.issued).toBe(g.tracker.released);
}

/** SIPp completed every call and failed none (its error log in the message when not). */
export function expectSippSucceeded(r: SippResult, calls = 1): void {
  expect(r.failed, `${r.errorLog ?? ''}${r.stderr}`).toBe(0);
  expect(r.successful).toBe(calls);
}
