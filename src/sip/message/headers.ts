/**
 * An ordered header list. Names are stored canonical (lower-case, compact
 * forms expanded); values are stored raw and parsed only when read.
 */
import { LIST_HEADERS, canonicalHeaderName, displayHeaderName } from './header-names.js';
import { splitList } from './syntax.js';

export class SipHeaders {
  /** Canonical lower-case names, in order. */
  readonly names: string[] = [];
  /** Names as written on the wire (or the display spelling for headers we added). */
  readonly wireNames: string[] = [];
  /** Raw values, folding already joined. */
  readonly values: string[] = [];

  get size(): number {
    return this.names.length;
  }

  /** Append a header as parsed (name already canonical). Internal to the parser. */
  pushParsed(canonical: string, wireName: string, value: string): void {
    this.names.push(canonical);
    this.wireNames.push(wireName);
    this.values.push(value);
  }

  /** First value of a header, or undefined. */
  get(name: string): string | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.values[i];
    const canonical = canonicalHeaderName(name);
    if (canonical === name) return undefined;
    for (let i = 0; i < names.length; i++) if (names[i] === canonical) return this.values[i];
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Number of header lines with this name. */
  count(name: string): number {
    const canonical = canonicalHeaderName(name);
    let n = 0;
    for (const h of this.names) if (h === canonical) n++;
    return n;
  }

  /**
   * Every value of a header. List headers (Via, Contact, Route, Allow, …) are
   * split on their commas, so `getAll('via')` returns one entry per Via hop.
   */
  getAll(name: string): string[] {
    const canonical = canonicalHeaderName(name);
    const out: string[] = [];
    const split = LIST_HEADERS.has(canonical);
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] !== canonical) continue;
      const v = this.values[i] as string;
      if (split && v.indexOf(',') !== -1) splitList(v, out);
      else out.push(v);
    }
    return out;
  }

  /** Replace every occurrence by a single header (kept at the first one's position). */
  set(name: string, value: string): this {
    const canonical = canonicalHeaderName(name);
    const first = this.names.indexOf(canonical);
    if (first === -1) return this.append(name, value);
    this.values[first] = value;
    for (let i = this.names.length - 1; i > first; i--) {
      if (this.names[i] === canonical) this.removeAt(i);
    }
    return this;
  }

  append(name: string, value: string): this {
    const canonical = canonicalHeaderName(name);
    this.names.push(canonical);
    this.wireNames.push(displayHeaderName(canonical));
    this.values.push(value);
    return this;
  }

  /** Insert before the first header of the same name (or at the top). Used for Via. */
  prepend(name: string, value: string): this {
    const canonical = canonicalHeaderName(name);
    let at = this.names.indexOf(canonical);
    if (at === -1) at = 0;
    this.names.splice(at, 0, canonical);
    this.wireNames.splice(at, 0, displayHeaderName(canonical));
    this.values.splice(at, 0, value);
    return this;
  }

  /**
   * Replace the first element of a list header (the top Via, say), which may
   * share its line with others (`Via: a, b`): the rest of the line is kept.
   * Appends the header when it is absent.
   */
  setFirstElement(name: string, value: string): this {
    const canonical = canonicalHeaderName(name);
    const at = this.names.indexOf(canonical);
    if (at === -1) return this.append(name, value);
    const line = this.values[at] as string;
    if (line.indexOf(',') === -1) {
      this.values[at] = value;
      return this;
    }
    const parts: string[] = [];
    splitList(line, parts);
    parts[0] = value;
    this.values[at] = parts.join(', ');
    return this;
  }

  /** Remove every occurrence. Returns how many were removed. */
  remove(name: string): number {
    const canonical = canonicalHeaderName(name);
    let removed = 0;
    for (let i = this.names.length - 1; i >= 0; i--) {
      if (this.names[i] === canonical) {
        this.removeAt(i);
        removed++;
      }
    }
    return removed;
  }

  private removeAt(i: number): void {
    this.names.splice(i, 1);
    this.wireNames.splice(i, 1);
    this.values.splice(i, 1);
  }

  /** A copy (values are immutable strings, so this is shallow and cheap). */
  clone(): SipHeaders {
    const h = new SipHeaders();
    h.names.push(...this.names);
    h.wireNames.push(...this.wireNames);
    h.values.push(...this.values);
    return h;
  }
}
