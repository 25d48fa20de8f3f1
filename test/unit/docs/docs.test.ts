/**
 * The docs follow the code (STYLE: docs in the Kamailio template): every
 * configuration key of the zod schema is documented in docs/configuration.md,
 * every alert code in docs/alerts.md with its SIP status, and every HTTP
 * route in docs/http-api.md with a curl example.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS, type AlertCode } from '../../../src/alerts/alert-codes.js';
import { createGateway } from '../../../src/gateway.js';
import { ERRORS } from '../../../src/errors.js';
import { buildHttpServer, routesOf } from '../../../src/http/server.js';
import { ConfigSchema, REGIONS } from '../../../src/config/schema.js';
import { keyPaths } from '../../../src/config/suggest.js';
import { testConfig } from '../../support/gateway.js';

function doc(name: string): string {
  return readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');
}

// ------------------------------------------------------------------ the schema's keys

/** Every key path of the configuration, read from the schema's JSON Schema (src/config/suggest.ts). */
function schemaKeyPaths(): string[] {
  return keyPaths(ConfigSchema, REGIONS);
}

describe('docs/configuration.md', () => {
  const text = doc('configuration.md');
  const keys = schemaKeyPaths();

  it('the schema walker finds every key (a sane number, the nested ones too)', () => {
    expect(keys.length).toBeGreaterThanOrEqual(40);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of [
      'sip',
      'sip.listen',
      'sip.timers.t1Ms',
      'sip.fallbackTrunk',
      'http.token',
      'cps.selfServeMaxCps',
      'accounts[].limits.maxCallDurationSeconds',
      'accounts[].pooledCps.<region>',
      'trunks[].cps.default',
      'trunks[].cps.<region>',
      'trunks[].auth.ipAcl',
      'trunks[].auth.credentials[].username',
      'pstn.rules[].ringTimeoutMs',
    ]) {
      expect(keys, k).toContain(k);
    }
  });

  it.each(schemaKeyPaths())('documents `%s`', (key) => {
    expect(text, `docs/configuration.md does not mention \`${key}\``).toContain(`\`${key}\``);
  });

  it('documents the command line', () => {
    for (const flag of [
      '--config',
      'check-config',
      '--cps',
      '--account-type',
      '--max-concurrent',
      '--route',
      '--sip-listen',
      '--http-listen',
      '--log-level',
    ]) {
      expect(text, flag).toContain(flag);
    }
  });
});

// ------------------------------------------------------------------ alerts

describe('docs/alerts.md', () => {
  const text = doc('alerts.md');
  /** The status that goes with each alert (none for the ones raised after admission). */
  const STATUS: Record<AlertCode, string> = {
    10001: '603',
    10004: '503',
    11200: 'FallbackUrl',
    11205: 'FallbackUrl',
    11750: 'FallbackUrl',
    12100: 'FallbackUrl',
    12200: 'skipped',
    13910: 'Pause',
    15003: 'StatusCallback',
    16020: 'failed',
    16022: 'failed',
    21251: '403',
    31480: '410',
    31486: '486',
    32001: '503',
    32006: '483',
    32010: 'disaster',
    32011: 'failover',
    32012: '503',
    32015: 'BYE',
    32019: 'Url',
    32022: 'BYE',
    32100: '400',
    32101: '400',
    32102: '400',
    32200: '403',
    32201: '403',
    32202: '403',
    32203: '403',
    32204: '403',
    32205: '403',
    32207: '488',
    32208: '488',
    32209: '403',
    32216: '403',
    32218: '403',
    99101: '503',
    99102: 'lease',
  };
  const codes = Object.keys(ALERTS).map((c) => Number(c) as AlertCode);

  it('STATUS covers exactly the codes of src/alerts/alert-codes.ts', () => {
    expect(codes.length).toBeGreaterThan(10);
    expect(Object.keys(STATUS).map(Number).sort()).toEqual([...codes].sort());
  });

  it.each(codes)('documents alert %i with its status', (code) => {
    const heading = text.split('\n').findIndex((line) => line.startsWith(`### ${code} `));
    expect(heading, `no "### ${code} — …" section in docs/alerts.md`).toBeGreaterThanOrEqual(0);
    const section = text
      .split('\n')
      .slice(heading)
      .join('\n')
      .split(/\n### /)[0] as string;
    expect(section, `the ${code} section names ${STATUS[code]}`).toContain(STATUS[code]);
    expect(section).toContain(ALERTS[code]);
  });
});

// ------------------------------------------------------------------ HTTP API

/** The routes the real app serves, from fastify's own route list, on a Gateway that is never started (no sockets). */
async function servedRoutes(): Promise<string[]> {
  const gateway = createGateway({ config: testConfig(), http: false });
  const app = buildHttpServer(gateway.admin, { host: '127.0.0.1', port: 0, token: null });
  await app.ready();
  try {
    return routesOf(app).map((r) => `${r.method} ${r.url}`);
  } finally {
    await app.close();
  }
}

describe('docs/http-api.md', async () => {
  const text = doc('http-api.md');
  const routes = await servedRoutes();

  it('finds the routes fastify serves (a sane number, /v1 ones among them)', () => {
    expect(routes.length).toBeGreaterThanOrEqual(10);
    expect(routes).toContain('GET /metrics');
    expect(routes).toContain('POST /v1/trunks/:name/cps');
    expect(new Set(routes).size).toBe(routes.length);
  });

  it.each(routes)('documents %s with a curl example', (route) => {
    const [method, path] = route.split(' ') as [string, string];
    // the doc writes path parameters as in the SPEC: /v1/trunks/{name}
    const documented = `${method} ${path.replace(/:([a-z]+)/gi, '{$1}')}`;
    const heading = text.split('\n').findIndex((line) => line === `## ${documented}` || line.startsWith(`## ${documented} `));
    expect(heading, `no "## ${documented}" section in docs/http-api.md`).toBeGreaterThanOrEqual(0);
    const section = text
      .split('\n')
      .slice(heading + 1)
      .join('\n')
      .split(/\n## /)[0] as string;
    // a curl line for this path: `:name`/`:id` are filled in with an example value
    const pathPattern = path.replace(/:[a-z]+/gi, '[^/\\s?\'"]+').replace(/\//g, '\\/');
    const curl = new RegExp(`^.*curl .*127\\.0\\.0\\.1:8080${pathPattern}(?:[?'"\\s]|$)`, 'm');
    expect(section, `the ${route} section has a curl example`).toMatch(curl);
    if (method !== 'GET') expect(section, `the ${route} curl example uses -X ${method}`).toMatch(new RegExp(`curl .*-X ${method}\\b`));
  });

  it.each(Object.entries(ERRORS).filter(([, e]) => e.surface !== 'cli'))('documents the error %s with its code and HTTP status', (_name, e) => {
    const row = text.split('\n').find((line) => line.startsWith(`| ${e.status} | \`${e.code}\``));
    expect(row, `no "| ${e.status} | \`${e.code}\` |" row in the errors table of docs/http-api.md`).toBeDefined();
  });

  it('documents the bearer token', () => {
    expect(text).toContain('Authorization: Bearer');
  });
});

// ------------------------------------------------------------------ the user docs stand alone

describe('the user docs', () => {
  const USER_DOCS = ['README.md', 'docker/README.md', ...readdirSync(new URL('../../../docs/', import.meta.url)).map((f) => `docs/${f}`)];
  const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

  /** The anchors GitHub makes of a page's headings (lower case, punctuation dropped, spaces to hyphens, repeats numbered). */
  function anchorsOf(text: string): Set<string> {
    const anchors = new Set<string>();
    const seen = new Map<string, number>();
    let fenced = false;
    for (const line of text.split('\n')) {
      if (line.startsWith('```')) fenced = !fenced;
      const heading = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
      if (heading === null) continue;
      const slug = (heading[1] as string).trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
      const n = seen.get(slug) ?? 0;
      seen.set(slug, n + 1);
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
    }
    return anchors;
  }

  it.each(USER_DOCS.filter((p) => p.endsWith('.md')))('%s links only to files that exist and headings they have', (path) => {
    const broken: string[] = [];
    for (const m of read(path).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [file = '', anchor] = target.split('#');
      const resolved = file === '' ? path : normalize(join(dirname(path), file));
      if (!existsSync(new URL(`../../../${resolved}`, import.meta.url))) broken.push(`${target}: no such file`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor)) broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });

  it("the anchors are GitHub's: lower case, punctuation dropped, spaces to hyphens, repeats numbered", () => {
    expect(anchorsOf('# Set-up\n## What is shared, and how\n## Figures\n## Figures\n')).toEqual(new Set(['set-up', 'what-is-shared-and-how', 'figures', 'figures-1']));
  });

  it.each(USER_DOCS)('%s refers to no SPEC (it is not in the repository): each rule is stated where it is used', (path) => {
    const lines = read(path)
      .split('\n')
      .map((line, i) => [i + 1, line] as const)
      .filter(([, line]) => /\bSPEC\b/.test(line));
    expect(lines.map(([n, l]) => `${path}:${n}: ${l}`)).toEqual([]);
  });

  it('every key marked *Extension* in docs/configuration.md is in its extensions table, and the table lists nothing else', () => {
    const text = doc('configuration.md');
    const marked: string[] = [];
    let heading: string | undefined;
    for (const line of text.split('\n')) {
      const h = /^#### `([^`]+)`/.exec(line);
      if (h !== null) heading = h[1];
      else if (line.trim() === '*Extension.*' && heading !== undefined) marked.push(heading);
    }
    const section = text.slice(text.indexOf('## Extensions'));
    const listed = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(marked.length).toBeGreaterThanOrEqual(8);
    expect(listed.sort()).toEqual(marked.sort());
  });

  it('each sip.* key is documented under the sip section (before shutdown)', () => {
    const text = doc('configuration.md');
    const shutdown = text.indexOf('### `shutdown`');
    for (const m of text.matchAll(/^#### `(sip\.[^`]+)`/gm)) expect(m.index, m[1]).toBeLessThan(shutdown);
  });

  it('the command line page documents --version, check-config --strict and the scenario command', () => {
    const text = doc('configuration.md');
    for (const s of ['--version', 'check-config FILE [--strict]', 'trunkgate scenario NAME', 'did you mean', 'code frame']) expect(text, s).toContain(s);
  });
});
