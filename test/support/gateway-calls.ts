/**
 * The gateway's call counters as the interop tests read them, in one place:
 * the B2BUA's and the lease tracker's fields may be renamed.
 */
import type { Gateway } from '../../src/gateway.js';
import { expectAllReleased } from './assertions.js';
import { waitFor } from './wait-for.js';

export function activeCalls(g: Gateway): number {
  return g.b2bua.activeCalls;
}

/** Wait (with a deadline) until exactly `n` calls are up. */
export async function waitForActiveCalls(g: Gateway, n: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => activeCalls(g) === n, { timeoutMs, what: `${n} active call(s)`, detail: () => `active calls ${activeCalls(g)}` });
}

/** Every call over and every lease back, none released twice (with a deadline). */
export async function expectNoCallLeft(g: Gateway, timeoutMs = 10_000): Promise<void> {
  await expectAllReleased(g, timeoutMs);
}
