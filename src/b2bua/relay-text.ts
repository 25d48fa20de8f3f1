/**
 * Text that crosses from one leg to the other (issue 12): a display name or
 * header value from the PBX never reaches the carrier (or the other way round)
 * with CR, LF, NUL or any other control character in it (no header
 * injection, nothing a parser downstream chokes on), and never longer than a
 * cap. Tabs become spaces; other control characters are removed; the result
 * is trimmed, then cut at the cap (whole characters, never half a surrogate
 * pair).
 */

/** The longest display name relayed, in characters. */
export const MAX_DISPLAY_NAME_CHARS = 64;
/** The longest header value relayed, in characters. */
export const MAX_HEADER_VALUE_CHARS = 256;
/** The longest user part (caller ID) relayed, in characters. */
export const MAX_USER_CHARS = 64;

/** C0 controls (CR, LF, NUL …), DEL and C1 controls, and the Unicode line/paragraph separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

function cut(text: string, maxChars: number): string {
  const chars = Array.from(text);
  return chars.length <= maxChars ? text : chars.slice(0, maxChars).join('').trimEnd();
}

/** A header value (or display name) as it may be relayed: no control characters, at most `maxChars`. */
export function cleanHeaderText(value: string, maxChars: number = MAX_HEADER_VALUE_CHARS): string {
  return cut(value.replace(/\t/g, ' ').replace(CONTROLS, '').trim(), maxChars);
}

/** A display name as it may be relayed; undefined when nothing is left. */
export function cleanDisplayName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const clean = cleanHeaderText(value, MAX_DISPLAY_NAME_CHARS);
  return clean.length > 0 ? clean : undefined;
}

/**
 * A SIP URI user part as it may be relayed (RFC 3261 §25.1 `user`): every
 * character outside unreserved and `& = + $ , /`, and every `%` that does not
 * start an escape, is percent-encoded; so no `>`, `;`, `?`, `@`, space or
 * control character gets through.
 */
export function cleanUser(user: string): string {
  const bytes = Buffer.from(cut(user, MAX_USER_CHARS), 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    const c = String.fromCharCode(byte);
    const escape = c === '%' && /^[0-9A-Fa-f]{2}$/.test(String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0));
    out += escape || /[A-Za-z0-9\-_.!~*'()&=+$,/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
