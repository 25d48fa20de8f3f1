/**
 * The metric table (SPEC §7.4) is the single source of the metrics, their
 * documentation and what /metrics serves: checked here against the SPEC, the
 * generated doc and a real scrape.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DISPOSITIONS } from '../../../src/b2bua/call.js';
import { METRICS, METRIC_LIST, type MetricType, renderMetricsDoc } from '../../../src/metrics/definitions.js';
import { ATTEMPT_OUTCOMES } from '../../../src/termination/admission.js';

/** SPEC §7.4, as written there. */
const SPEC_METRICS: Array<[string, MetricType, string[]]> = [
  ['trunkgate_call_attempts_total', 'counter', ['trunk', 'region', 'outcome']],
  ['trunkgate_calls_ended_total', 'counter', ['trunk', 'disposition']],
  ['trunkgate_active_calls', 'gauge', ['trunk']],
  ['trunkgate_cps_limit', 'gauge', ['trunk', 'region']],
  ['trunkgate_concurrency_limit', 'gauge', ['trunk']],
  ['trunkgate_alerts_total', 'counter', ['code']],
  ['trunkgate_admission_seconds', 'histogram', []],
  ['trunkgate_call_setup_seconds', 'histogram', ['trunk']],
  ['trunkgate_sip_messages_total', 'counter', ['direction', 'transport', 'kind']],
  ['trunkgate_sip_parse_errors_total', 'counter', ['transport']],
  ['trunkgate_lease_double_release_total', 'counter', []],
  ['trunkgate_build_info', 'gauge', ['version', 'node_version']],
];
const SPEC_OUTCOMES = [
  'admitted',
  'cps_limited',
  'pooled_cps_limited',
  'concurrency_limited',
  'unauthorized',
  'invalid_number',
  'forbidden',
  'unsupported_media',
  'draining',
];
const SPEC_DISPOSITIONS = ['answered', 'busy', 'no_answer', 'canceled', 'failed', 'timeout', 'max_duration', 'admin'];

const DOC_PATH = new URL('../../../docs/metrics.md', import.meta.url);

describe('the metric table', () => {
  it.each(SPEC_METRICS)('%s is a %s with labels %j (SPEC §7.4)', (name, type, labels) => {
    const def = METRIC_LIST.find((m) => m.name === name);
    expect(def, `${name} is missing from src/metrics/definitions.ts`).toBeDefined();
    expect(def?.type).toBe(type);
    expect([...(def?.labels ?? [])]).toEqual(labels);
  });

  it('names are unique, start with trunkgate_, and only counters end in _total', () => {
    const names = METRIC_LIST.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRIC_LIST) {
      expect(m.name).toMatch(/^trunkgate_[a-z0-9_]+$/);
      expect(m.name.endsWith('_total'), `${m.name} (${m.type})`).toBe(m.type === 'counter');
      expect(m.help.length).toBeGreaterThan(10);
    }
  });

  it('histograms are in seconds with increasing buckets; other types have none', () => {
    for (const m of METRIC_LIST) {
      if (m.type !== 'histogram') {
        expect(m.buckets, m.name).toBeUndefined();
        continue;
      }
      expect(m.name).toMatch(/_seconds$/);
      const buckets = m.buckets ?? [];
      expect(buckets.length).toBeGreaterThan(3);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i] as number).toBeGreaterThan(buckets[i - 1] as number);
    }
  });

  it('labels come from closed sets: never numbers, Call-IDs or addresses', () => {
    for (const m of METRIC_LIST) {
      for (const label of m.labels) {
        const words = label.toLowerCase().split('_');
        for (const w of words)
          expect(
            ['id', 'callid', 'ip', 'address', 'addr', 'number', 'host', 'port', 'user', 'uri', 'tag'],
            `${m.name} label ${label}`,
          ).not.toContain(w);
      }
      for (const label of Object.keys(m.labelValues ?? {}))
        expect(m.labels, `${m.name} documents values of a label it does not have`).toContain(label);
    }
  });

  it('documents the outcomes the SPEC lists and exactly the ones admission produces', () => {
    const documented = METRICS.callAttempts.labelValues.outcome.split(' ');
    for (const o of SPEC_OUTCOMES) expect(documented).toContain(o);
    expect([...documented].sort()).toEqual([...ATTEMPT_OUTCOMES].sort());
  });

  it('documents the dispositions the SPEC lists and exactly the ones a call can end with', () => {
    const documented = METRICS.callsEnded.labelValues.disposition.split(' ');
    for (const d of SPEC_DISPOSITIONS) expect(documented).toContain(d);
    expect([...documented].sort()).toEqual([...DISPOSITIONS].sort());
  });
});

describe('docs/metrics.md', () => {
  it('is what renderMetricsDoc() makes from the table', () => {
    const stale = 'docs/metrics.md is stale (or missing): run `npm run docs:metrics` and commit the result';
    expect(existsSync(DOC_PATH), stale).toBe(true);
    expect(readFileSync(DOC_PATH, 'utf8'), stale).toBe(renderMetricsDoc());
  });

  it('has a row for every metric, with its type', () => {
    const doc = renderMetricsDoc();
    for (const m of METRIC_LIST) expect(doc).toContain(`| \`${m.name}\` | ${m.type} |`);
  });
});
