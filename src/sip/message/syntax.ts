/**
 * Character classes and small scanners shared by the header grammars
 * (RFC 3261 §25.1). All work on char codes; none allocates on the hot path.
 */

const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

/** RFC 3261 `token` character. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True when `s` is a non-empty RFC 3261 `token`. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

/** SP or HTAB. */
export function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** LWS characters as they survive unfolding (SP, HTAB, CR, LF). */
export function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

export function skipLws(s: string, i: number, end: number = s.length): number {
  while (i < end && isLws(s.charCodeAt(i))) i++;
  return i;
}

export function trimEnd(s: string, start: number, end: number): number {
  while (end > start && isLws(s.charCodeAt(end - 1))) end--;
  return end;
}

/** Is `s` all decimal digits (and non-empty)? */
export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Parse a non-negative decimal integer no larger than `max`. Returns -1 when
 * the text is not digits or the value is over `max` (RFC 4475 §3.1.2.4).
 */
export function parseBoundedInt(s: string, max: number): number {
  if (s.length === 0 || s.length > 20) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
    if (n > max) return -1;
  }
  return n;
}

/**
 * Index just past the closing quote of a quoted-string starting at `i` (which
 * must be a `"`), honouring `\` escapes. -1 when unterminated.
 */
export function skipQuoted(s: string, i: number, end: number = s.length): number {
  i++;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  return -1;
}

/** Remove the quotes and `\` escapes of a quoted-string. */
export function unquote(s: string): string {
  if (s.length < 2 || s.charCodeAt(0) !== 0x22) return s;
  const inner = s.slice(1, -1);
  return inner.indexOf('\\') === -1 ? inner : inner.replace(/\\(.)/g, '$1');
}

/**
 * Split a header value on commas that are outside quoted strings and `<…>`
 * (RFC 3261 §7.3.1), trimming each element. Empty elements are kept as ''
 * so callers can reject them.
 */
export function splitList(value: string, out: string[]): void {
  let start = 0;
  let angle = false;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) {
      const q = skipQuoted(value, i, n);
      if (q === -1) break;
      i = q - 1;
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      out.push(value.slice(skipLws(value, start, i), trimEnd(value, start, i)));
      start = i + 1;
    }
  }
  out.push(value.slice(skipLws(value, start, n), trimEnd(value, start, n)));
}

/**
 * Parameters (`;name=value;flag`) in order. Lower-case names; a flag has the
 * value null. A handful of entries at most, so lookups are linear scans,
 * which beat hashing here.
 */
export class Params {
  readonly names: string[] = [];
  readonly values: (string | null)[] = [];

  get size(): number {
    return this.names.length;
  }

  /** The value (null for a flag), or undefined when absent. `name` must be lower-case. */
  get(name: string): string | null | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.values[i];
    return undefined;
  }

  has(name: string): boolean {
    return this.names.indexOf(name) !== -1;
  }

  set(name: string, value: string | null): this {
    const i = this.names.indexOf(name);
    if (i === -1) {
      this.names.push(name);
      this.values.push(value);
    } else this.values[i] = value;
    return this;
  }

  delete(name: string): boolean {
    const i = this.names.indexOf(name);
    if (i === -1) return false;
    this.names.splice(i, 1);
    this.values.splice(i, 1);
    return true;
  }

  /** `;a=b;c` */
  toString(): string {
    let out = '';
    for (let i = 0; i < this.names.length; i++) {
      const v = this.values[i];
      out += v === null || v === undefined ? ';' + this.names[i] : ';' + this.names[i] + '=' + v;
    }
    return out;
  }
}

function lowerName(s: string, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.slice(start, end).toLowerCase();
  }
  return s.slice(start, end);
}

/**
 * Parse `*( LWS? ";" LWS? name [ LWS? "=" LWS? value ] )` starting at `i`.
 * Values may be tokens, quoted strings (kept with quotes) or IPv6 references.
 * Stops at `end` or at a character that cannot continue the list; returns the
 * index it stopped at, or -1 on a syntax error (empty name, dangling `=`).
 */
export function parseParams(s: string, i: number, end: number, out: Params): number {
  for (;;) {
    i = skipLws(s, i, end);
    if (i >= end || s.charCodeAt(i) !== 0x3b) return i;
    i = skipLws(s, i + 1, end);
    const nameStart = i;
    while (i < end && isTokenChar(s.charCodeAt(i))) i++;
    if (i === nameStart) return -1;
    const name = lowerName(s, nameStart, i);
    let j = skipLws(s, i, end);
    if (j < end && s.charCodeAt(j) === 0x3d) {
      j = skipLws(s, j + 1, end);
      const valueStart = j;
      const c = s.charCodeAt(j);
      if (c === 0x22) {
        const q = skipQuoted(s, j, end);
        if (q === -1) return -1;
        j = q;
      } else if (c === 0x5b) {
        const close = s.indexOf(']', j);
        if (close === -1 || close >= end) return -1;
        j = close + 1;
      } else {
        while (j < end && isParamValueChar(s.charCodeAt(j))) j++;
      }
      if (j === valueStart) return -1;
      out.names.push(name);
      out.values.push(s.slice(valueStart, j));
      i = j;
    } else {
      out.names.push(name);
      out.values.push(null);
    }
  }
}

function isParamValueChar(c: number): boolean {
  // token chars plus the extra characters seen in URI-ish parameter values
  return isTokenChar(c) || c === 0x3a || c === 0x2f || c === 0x5b || c === 0x5d || c === 0x40 || c === 0x26 || c === 0x24 || c === 0x3f;
}
