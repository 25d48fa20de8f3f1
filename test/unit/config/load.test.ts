import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConfigProblem,
  formatPath,
  formatProblems,
  loadConfigFile,
  parseConfigRaw,
  parseConfigText,
  readConfigRaw,
  validateConfig,
} from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'trunkgate-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('formatPath', () => {
  it('joins keys with dots and indexes with brackets', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['sip'])).toBe('sip');
    expect(formatPath(['trunks', 0, 'cps', 'ie1'])).toBe('trunks[0].cps.ie1');
    expect(formatPath(['pstn', 'rules', 2])).toBe('pstn.rules[2]');
    expect(formatPath([0, 'a'])).toBe('[0].a');
  });
});

describe('YAML and JSON input', () => {
  it('a YAML syntax error is a problem, not a throw', () => {
    const r = parseConfigText('sip:\n  listen: [udp://127.0.0.1:5060\nhttp: {');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.length).toBeGreaterThan(0);
    for (const p of r.problems) {
      expect(p.path).toBe('');
      // the headline, then a code frame whose caret line points at the column
      expect(p.message).toMatch(/^YAML syntax: .*\(line \d+, column \d+\)\n/);
      expect(p.message.split('\n').at(-1)).toMatch(/^ +\| *\^$/);
    }
  });

  it('a duplicate key is a YAML problem (a silent override would hide a mistake)', () => {
    const r = parseConfigRaw('shutdown:\n  drainMs: 1\n  drainMs: 2\n');
    expect(r).toEqual({
      ok: false,
      problems: [{ path: '', value: undefined, message: expect.stringMatching(/^YAML syntax: Map keys must be unique/) as unknown }],
    });
  });

  it('JSON is read as YAML', () => {
    const r = parseConfigText(
      JSON.stringify({
        accounts: [{ name: 'acme', type: 'trial' }],
        trunks: [{ name: 'acme', account: 'acme', cps: { default: 2 } }],
        shutdown: { drainMs: 10 },
      }),
    );
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    expect(r.config.trunks[0]?.cps).toEqual({ default: 2 });
    expect(r.config.shutdown.drainMs).toBe(10);
    expect(r.config.accounts[0]?.type).toBe('trial');
  });

  it('JSON with a problem reports it with its path', () => {
    const r = parseConfigText('{"sip": {"unknownDomain": "maybe"}}');
    expect(r.ok ? [] : r.problems.map((p) => [p.path, p.value])).toEqual([['sip.unknownDomain', 'maybe']]);
  });

  it('parseConfigRaw gives the document without validating it', () => {
    expect(parseConfigRaw('sip: { whatever: 1 }')).toEqual({ ok: true, raw: { sip: { whatever: 1 } } });
    expect(parseConfigRaw('')).toEqual({ ok: true, raw: {} });
  });
});

describe('files', () => {
  it('loadConfigFile reads and validates a YAML file', () => {
    const path = file(
      'good.yaml',
      'accounts:\n  - { name: a, type: no-pcp }\ntrunks:\n  - { name: t, account: a, maxConcurrentCalls: 2 }\n',
    );
    const r = loadConfigFile(path);
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (r.ok) expect(r.config.trunks[0]?.maxConcurrentCalls).toBe(2);
  });

  it('loadConfigFile reads a .json file', () => {
    const r = loadConfigFile(file('good.json', '{"cps": {"algorithm": "fixed-window"}}'));
    expect(r.ok && r.config.cps.algorithm).toBe('fixed-window');
  });

  it('a file that does not exist is a problem naming the file, not a throw', () => {
    const path = join(dir, 'missing.yaml');
    const r = loadConfigFile(path);
    expect(r).toEqual({
      ok: false,
      problems: [{ path: '', value: path, message: expect.stringMatching(/^cannot read the file: ENOENT/) as unknown }],
    });
  });

  it('a directory is a problem, not a throw', () => {
    const r = readConfigRaw(dir);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems).toEqual([{ path: '', value: dir, message: expect.stringMatching(/^cannot read the file: EISDIR/) as unknown }]);
  });

  it('a file with a YAML syntax error lists the problem', () => {
    const r = loadConfigFile(file('bad-syntax.yaml', 'trunks: [\n'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.message).toMatch(/^YAML syntax:/);
  });

  it('a file with schema problems lists them all', () => {
    const r = loadConfigFile(file('bad.yaml', 'sip:\n  unknownDomian: drop\ntrunks:\n  - { name: t, acount: a }\n'));
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['sip.unknownDomian', 'trunks[0].account', 'trunks[0].acount']);
  });
});

describe('formatProblems', () => {
  it('prints one indented line per problem: path, message, and the value found as JSON', () => {
    const problems: ConfigProblem[] = [
      { path: 'trunks[0].cps.eu1', value: 2, message: 'unknown region "eu1"' },
      { path: 'sip.unknownDomain', value: 'maybe', message: 'expected drop or reject' },
      { path: 'pstn.rules[0].status', value: undefined, message: 'a reject rule needs a status (300-699)' },
      { path: '', value: '/no/such/file', message: 'cannot read the file' },
      { path: 'trunks[0].auth', value: { ipAcl: [] }, message: 'x' },
    ];
    expect(formatProblems(problems)).toBe(
      [
        '  trunks[0].cps.eu1: unknown region "eu1" (found: 2)',
        '  sip.unknownDomain: expected drop or reject (found: "maybe")',
        '  pstn.rules[0].status: a reject rule needs a status (300-699)',
        '  (file): cannot read the file (found: "/no/such/file")',
        '  trunks[0].auth: x (found: {"ipAcl":[]})',
      ].join('\n'),
    );
  });

  it('prints nothing for no problems', () => {
    expect(formatProblems([])).toBe('');
  });

  it('prints what validateConfig found', () => {
    const r = validateConfig({ sip: { unknownDomian: 'drop' } });
    expect(r.ok ? '' : formatProblems(r.problems)).toBe(
      '  sip.unknownDomian: unknown key; did you mean "unknownDomain"? (see docs/configuration.md) (found: "drop")',
    );
  });
});
