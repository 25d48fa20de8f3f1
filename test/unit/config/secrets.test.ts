/**
 * The one place that knows which configuration values are secrets (issue 12):
 * the problems of a bad configuration never show one, and pino's redaction
 * hides them in every log line, at any depth the configuration has.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { formatProblems, validateConfig } from '../../../src/config/load.js';
import { LOG_REDACTION, REDACTED, printableValue, redactDeep } from '../../../src/config/secrets.js';

const PLANTED = 'PLANTED-s3cret-7f3a';

describe('configuration problems never show a secret', () => {
  const raw = {
    http: { token: 'short', tokn: `${PLANTED}-typo` },
    accounts: [{ name: 'acme', type: 'business-pcp', authToken: [`${PLANTED}-authtoken`], apiKeys: [{ sid: 'SK1', secret: { value: `${PLANTED}-secret` } }] }],
    trunks: [
      {
        name: 'acme',
        account: 'acme',
        auth: {
          credentials: [
            { username: 'pbx', password: 12345678, pasword: `${PLANTED}-misspelt` },
            { username: 'ops', passwd: `${PLANTED}-passwd` },
          ],
        },
      },
      { name: 'acme2', account: 'acme', auth: { credentials: `pbx:${PLANTED}-as-a-string` } },
      { name: 'acme3', account: 'acme', auth: 'not-an-object', route: { password: `${PLANTED}-deep`, nested: [{ token: `${PLANTED}-deeper` }] } },
    ],
  };
  const result = validateConfig(raw);
  const problems = result.ok ? [] : result.problems;
  const text = formatProblems(problems);

  it('the configuration has the problems planted (so the test sees them printed)', () => {
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        'http.token',
        'http.tokn',
        'accounts[0].authToken',
        'accounts[0].apiKeys[0].secret',
        'trunks[0].auth.credentials[0].password',
        'trunks[0].auth.credentials[0].pasword',
        'trunks[0].auth.credentials[1].passwd',
        'trunks[1].auth.credentials',
        'trunks[2].route',
      ]),
    );
  });

  it(`no value planted appears; each shows ${REDACTED}`, () => {
    expect(text).not.toContain(PLANTED);
    expect(text).not.toContain('12345678');
    expect(text).not.toContain('"short"');
    for (const path of ['http.token', 'http.tokn', 'accounts[0].authToken', 'accounts[0].apiKeys[0].secret', 'trunks[0].auth.credentials[0].password', 'trunks[1].auth.credentials']) {
      expect(problems.find((p) => p.path === path)?.value, path).toBe(REDACTED);
    }
    // an object printed whole keeps its shape, without the secrets inside (and the unknown key next to one)
    expect(problems.find((p) => p.path === 'trunks[2].route')?.value).toEqual({ password: REDACTED, nested: REDACTED });
  });

  it('other values are still shown: they say what is wrong', () => {
    const r = validateConfig({ trunks: [{ name: 'Bad Name', account: 'x' }], http: { listen: 'nowhere' } });
    const shown = r.ok ? [] : r.problems.map((p) => p.value);
    expect(shown).toEqual(expect.arrayContaining(['Bad Name', 'nowhere']));
  });
});

describe('printableValue and redactDeep', () => {
  it('redacts under a secret key, an unknown key next to one, and an unknown key that looks secret', () => {
    const raw = { a: { username: 'u', password: 'p', extra: 'e' }, b: { apiSecretKey: 'k', listen: 'x' } };
    expect(printableValue(raw, ['a', 'password'], 'p')).toBe(REDACTED);
    expect(printableValue(raw, ['a', 'extra'], 'e')).toBe(REDACTED);
    expect(printableValue(raw, ['a', 'username'], 'u')).toBe('u');
    expect(printableValue(raw, ['b', 'apiSecretKey'], 'k')).toBe(REDACTED);
    expect(printableValue(raw, ['b', 'listen'], 'x')).toBe('x');
    expect(redactDeep([{ credentials: [{ username: 'u', password: 'p' }] }])).toEqual([{ credentials: REDACTED }]);
    // credentials written as a string where trunks[].auth (an object) belongs
    expect(printableValue({ auth: 'pbx:Secret-pass' }, ['auth'], 'pbx:Secret-pass')).toBe(REDACTED);
    expect(printableValue({ auth: { ipAcl: 'x' } }, ['auth'], { ipAcl: 'x' })).toEqual({ ipAcl: 'x' });
  });
});

describe('LOG_REDACTION (pino redact)', () => {
  it('hides every secret key in a log line, up to the depth of the configuration, and request credentials', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = pino({ level: 'trace', redact: LOG_REDACTION }, sink);
    log.info(
      {
        config: {
          http: { token: `${PLANTED}-1` },
          accounts: [{ authToken: `${PLANTED}-2`, apiKeys: [{ secret: `${PLANTED}-3` }] }],
          trunks: [{ auth: { credentials: [{ username: 'pbx', password: `${PLANTED}-4` }] } }],
        },
        headers: { authorization: `Bearer ${PLANTED}-5`, 'proxy-authorization': `Digest response="${PLANTED}-6"` },
        proxyAuthorization: `${PLANTED}-7`,
        deep: { a: { b: { c: { d: { e: { passwd: `${PLANTED}-8` } } } } } },
      },
      'a line',
    );
    expect(out).toContain('"trunks":[{"auth":{"credentials":"<redacted>"}}]');
    expect(out).toContain('"msg":"a line"');
    expect(out).not.toContain(PLANTED);
  });
});
