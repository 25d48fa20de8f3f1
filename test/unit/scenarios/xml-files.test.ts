/**
 * Every SIPp scenario we ship or run (sip-scenarios/, test/scenarios/,
 * bench/) is well-formed XML that declares the encoding it is written in.
 * SIPp's own parser is lenient (it takes `--` inside a comment), but editors,
 * linters and other tools are not. saxes is a conforming non-validating XML
 * 1.0 parser (jsdom's): it reports every well-formedness error, and the
 * DOCTYPE's sipp.dtd is not fetched.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FOLDERS = ['sip-scenarios', 'test/scenarios', 'bench'];

const files = FOLDERS.flatMap((folder) =>
  readdirSync(join(ROOT, folder))
    .filter((f) => f.endsWith('.xml'))
    .map((f) => `${folder}/${f}`),
);

interface Checked {
  errors: string[];
  encoding: string | undefined;
  root: string | undefined;
}

/** Parse `bytes` as XML: the well-formedness errors (with line:column), the declared encoding and the root element. */
export function checkXml(bytes: Buffer): Checked {
  const errors: string[] = [];
  let encoding: string | undefined;
  let root: string | undefined;
  const parser = new SaxesParser({ position: true });
  parser.on('error', (err) => errors.push(err.message));
  parser.on('xmldecl', (decl) => (encoding = decl.encoding));
  parser.on('opentag', (tag) => (root ??= tag.name));
  const text = decodeAs(bytes, declaredEncoding(bytes));
  parser.write(text.ok ? text.text : bytes.toString('latin1')).close();
  if (!text.ok) errors.push(text.error);
  return { errors, encoding, root };
}

/** The encoding named in the XML declaration, read from the ASCII bytes before the first `?>`. */
function declaredEncoding(bytes: Buffer): string | undefined {
  const head = bytes.subarray(0, 200).toString('latin1');
  return /^<\?xml[^?]*\bencoding\s*=\s*["']([^"']+)["']/.exec(head)?.[1];
}

/**
 * The text, decoded the way the declaration says. A file that says ISO-8859-1 (or US-ASCII) but
 * whose non-ASCII bytes are valid UTF-8 sequences is UTF-8 under a wrong label: an error.
 */
function decodeAs(bytes: Buffer, encoding: string | undefined): { ok: true; text: string } | { ok: false; error: string } {
  const label = (encoding ?? 'UTF-8').toUpperCase();
  const asciiOnly = bytes.every((b) => b < 0x80);
  const utf8 = ((): string | undefined => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return undefined;
    }
  })();
  if (label === 'UTF-8') return utf8 === undefined ? { ok: false, error: 'declared UTF-8, but the bytes are not valid UTF-8' } : { ok: true, text: utf8 };
  if (label === 'US-ASCII') return asciiOnly ? { ok: true, text: bytes.toString('latin1') } : { ok: false, error: 'declared US-ASCII, but has non-ASCII bytes' };
  if (label === 'ISO-8859-1' || label === 'LATIN1') {
    if (!asciiOnly && utf8 !== undefined) return { ok: false, error: `declared ${encoding}, but the non-ASCII bytes are UTF-8 (declare UTF-8)` };
    return { ok: true, text: bytes.toString('latin1') };
  }
  return { ok: false, error: `declared ${encoding}: expected UTF-8, ISO-8859-1 or US-ASCII` };
}

describe('the SIPp scenario files', () => {
  it('finds them (the pack, the tests’ own, the benchmarks’)', () => {
    expect(files.filter((f) => f.startsWith('sip-scenarios/')).length).toBeGreaterThanOrEqual(7);
    expect(files.filter((f) => f.startsWith('test/scenarios/')).length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s is well-formed, declares its encoding and is a <scenario>', (file) => {
    const r = checkXml(readFileSync(join(ROOT, file)));
    expect(r.errors, `${file}:\n${r.errors.join('\n')}`).toEqual([]);
    expect(r.encoding, `${file} has no encoding="…" in its XML declaration`).toBeDefined();
    expect(r.root).toBe('scenario');
  });
});

describe('the checks find what they are for', () => {
  const ok = '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<!-- ok: caf\u00e9 -->\n<scenario name="x"></scenario>\n';

  it('a good file passes (the DTD is not fetched)', () => {
    expect(checkXml(Buffer.from(ok))).toEqual({ errors: [], encoding: 'UTF-8', root: 'scenario' });
  });

  it('-- inside a comment', () => {
    const r = checkXml(Buffer.from(ok.replace('ok: caf', 'npm run scenario -- cps-burst')));
    expect(r.errors.join('\n')).toMatch(/malformed comment/);
  });

  it('an unclosed element, and a bare & in text', () => {
    expect(checkXml(Buffer.from(ok.replace('</scenario>', ''))).errors).not.toEqual([]);
    expect(checkXml(Buffer.from(ok.replace('></scenario>', '>a & b</scenario>'))).errors).not.toEqual([]);
  });

  it('no encoding declared', () => {
    expect(checkXml(Buffer.from(ok.replace(' encoding="UTF-8"', ''))).encoding).toBeUndefined();
  });

  it('UTF-8 text under an ISO-8859-1 label, and Latin-1 bytes under a UTF-8 label', () => {
    expect(checkXml(Buffer.from(ok.replace('UTF-8', 'ISO-8859-1'))).errors.join('\n')).toContain('declare UTF-8');
    expect(checkXml(Buffer.from(ok, 'latin1')).errors.join('\n')).toContain('not valid UTF-8');
    // real Latin-1 under its own label is fine
    expect(checkXml(Buffer.from(ok.replace('UTF-8', 'ISO-8859-1'), 'latin1')).errors).toEqual([]);
  });
});
