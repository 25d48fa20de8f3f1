/**
 * When an inbound call moves on to the next origination URI (SPEC §11, the
 * provider's docs): on any final response except 2xx, 400, 404, 405, 410,
 * 416, 482, 484, 486 and 6xx (so 3xx, 401, 403, 407, 408, 480, 487, 5xx …
 * fail over), and when the URI sends no response at all within 4 s.
 */

/** Final responses that end the call where it is: the PBX decided. */
export const NO_FAILOVER_STATUSES: ReadonlySet<number> = new Set([400, 404, 405, 410, 416, 482, 484, 486]);

/** No SIP response at all from a URI for this long: the next one is tried. */
export const NO_RESPONSE_FAILOVER_MS = 4000;

/** Whether a final response from a URI sends the call on to the next one. */
export function failsOver(status: number): boolean {
  if (status < 300) return false;
  if (status >= 600) return false;
  return !NO_FAILOVER_STATUSES.has(status);
}
