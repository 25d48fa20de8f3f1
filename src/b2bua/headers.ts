/**
 * Header policy between the legs (SPEC §5): the provider does not do session
 * timers, so `timer` never appears in a Supported or Require we send to the
 * PBX; 100rel is not supported.
 */

/** Option tags we support (none: no 100rel, no session timers). */
export const SUPPORTED_OPTIONS: readonly string[] = [];

/** The option tags of a Require header we do not support (RFC 3261 §8.2.2.3): answer 420 with them in Unsupported. */
export function unsupportedRequired(required: readonly string[]): string[] {
  return required.filter((tag) => !SUPPORTED_OPTIONS.includes(tag));
}

/** Remove the `timer` option tag from a Supported/Require value; undefined when nothing is left. */
export function withoutTimer(value: string): string | undefined {
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0 && t.toLowerCase() !== 'timer');
  return tags.length > 0 ? tags.join(', ') : undefined;
}

/**
 * Headers copied from one leg's message onto the other's: none of the
 * session-timer ones (Session-Expires, Min-SE, and `timer` in
 * Supported/Require).
 */
export function relayHeaders(source: ReadonlyArray<readonly [string, string]>): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const [name, value] of source) {
    const lower = name.toLowerCase();
    if (lower === 'session-expires' || lower === 'x' || lower === 'min-se') continue;
    if (lower === 'supported' || lower === 'k' || lower === 'require') {
      const kept = withoutTimer(value);
      if (kept !== undefined) out.push([name, kept]);
      continue;
    }
    out.push([name, value]);
  }
  return out;
}
