/**
 * Which headers of the far leg's responses reach the caller (SPEC §5):
 * Supported (without `timer`: the provider does not do session timers),
 * Reason, Warning and Retry-After, without control characters and capped
 * (relay-text.ts). Nothing else passes between the legs.
 */
import { type SipResponse, displayHeaderName } from '../sip/message/index.js';
import type { RelayedHeaders } from './b-leg.js';
import { cleanHeaderText } from './relay-text.js';

const PASSED_ON = ['supported', 'reason', 'warning', 'retry-after'] as const;

/** Remove the `timer` option tag from a Supported value; undefined when nothing is left. */
export function withoutTimer(value: string): string | undefined {
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0 && t.toLowerCase() !== 'timer');
  return tags.length > 0 ? tags.join(', ') : undefined;
}

/** The headers of a far-leg response that reach the caller. */
export function passedOn(res: SipResponse): RelayedHeaders {
  const picked: Array<readonly [string, string]> = [];
  for (const name of PASSED_ON) {
    for (const value of res.headers.getAll(name)) {
      const kept = name === 'supported' ? withoutTimer(value) : value;
      // never a control character or an unbounded value across legs (issue 12)
      const clean = kept === undefined ? '' : cleanHeaderText(kept);
      if (clean.length > 0) picked.push([displayHeaderName(name), clean]);
    }
  }
  return picked;
}
