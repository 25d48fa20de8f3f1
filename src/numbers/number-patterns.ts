/**
 * Phone numbers: the E.164 shape (SPEC §4.2 check 6) and the number patterns
 * of the PSTN rules and the blocklist (an exact number, a prefix ending in
 * `*`, or `*` alone).
 */

/** E.164: `+`, then 1-15 digits, the first not 0; no visual separators. */
export const E164 = /^\+[1-9]\d{0,14}$/;

/** An E.164 number, or a prefix pattern ending in `*`, or `*`. */
export const NUMBER_PATTERN = /^\+[1-9]?\d{0,14}\*?$|^\*$/;

export function isE164(value: string): boolean {
  return E164.test(value);
}

/** Whether a number matches a pattern of NUMBER_PATTERN's grammar. */
export function numberMatches(pattern: string, number: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return number.startsWith(pattern.slice(0, -1));
  return pattern === number;
}
