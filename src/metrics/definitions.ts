/**
 * Every metric trunkgate exports (SPEC §7.4), in one table: name, type, help,
 * labels (closed sets only: never numbers, Call-IDs or IPs) and buckets.
 * docs/metrics.md is generated from this table (`npm run docs:metrics`), and
 * a test fails when the doc is stale.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDefinition {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  /** Where each label's values come from (documentation). */
  labelValues?: Readonly<Record<string, string>>;
  buckets?: readonly number[];
}

export const METRICS = {
  callAttempts: {
    name: 'trunkgate_call_attempts_total',
    type: 'counter',
    help: 'New INVITEs that reached a trunk, by admission outcome.',
    labels: ['trunk', 'region', 'outcome'],
    labelValues: {
      trunk: 'configured trunk names',
      region: 'us1 us2 ie1 de1 sg1 jp1 br1 au1',
      outcome:
        'admitted cps_limited pooled_cps_limited concurrency_limited challenged unauthorized invalid_number forbidden unsupported_media draining inactive too_many_hops unverified bad_extension',
    },
  },
  invitesDropped: {
    name: 'trunkgate_invites_dropped_total',
    type: 'counter',
    help: 'New INVITEs dropped without any response (a Request-URI host that names no trunk, as the provider does); their retransmissions are not counted again.',
    labels: ['reason'],
    labelValues: { reason: 'unknown_domain' },
  },
  callsEnded: {
    name: 'trunkgate_calls_ended_total',
    type: 'counter',
    help: 'Admitted calls that ended, by how they ended.',
    labels: ['trunk', 'disposition'],
    labelValues: { trunk: 'configured trunk names', disposition: 'answered busy no_answer canceled failed timeout max_duration admin shutdown' },
  },
  activeCalls: {
    name: 'trunkgate_active_calls',
    type: 'gauge',
    help: 'Calls holding a concurrency lease right now (ringing or answered).',
    labels: ['trunk'],
  },
  transactions: {
    name: 'trunkgate_sip_transactions',
    type: 'gauge',
    help: 'Live SIP transactions (they end when their RFC 3261 timers run out).',
    labels: ['side'],
    labelValues: { side: 'server client' },
  },
  cpsLimit: {
    name: 'trunkgate_cps_limit',
    type: 'gauge',
    help: 'The CPS in force per trunk and region (the Console API setting, else the config).',
    labels: ['trunk', 'region'],
  },
  concurrencyLimit: {
    name: 'trunkgate_concurrency_limit',
    type: 'gauge',
    help: 'The concurrent call cap that applies to the trunk: the lower of its own cap and its account cap; absent when unlimited.',
    labels: ['trunk'],
  },
  alerts: {
    name: 'trunkgate_alerts_total',
    type: 'counter',
    help: "Alerts raised, by the provider's alert code.",
    labels: ['code'],
    labelValues: { code: 'the codes of docs/alerts.md' },
  },
  admissionSeconds: {
    name: 'trunkgate_admission_seconds',
    type: 'histogram',
    help: 'Time from an INVITE arriving to its admission decision.',
    labels: [],
    buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
  },
  callSetupSeconds: {
    name: 'trunkgate_call_setup_seconds',
    type: 'histogram',
    help: 'Time from an admitted INVITE to its final response.',
    labels: ['trunk'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  sipMessages: {
    name: 'trunkgate_sip_messages_total',
    type: 'counter',
    help: 'SIP messages received and sent.',
    labels: ['direction', 'transport', 'kind'],
    labelValues: { direction: 'in out', transport: 'udp tcp', kind: 'a standard method (INVITE, ACK, BYE, …) or other, or a status class 1xx-6xx' },
  },
  sipParseErrors: {
    name: 'trunkgate_sip_parse_errors_total',
    type: 'counter',
    help: 'Messages that could not be parsed or failed validation (answered 400 where possible, else dropped).',
    labels: ['transport'],
  },
  sipConnections: {
    name: 'trunkgate_sip_connection_events_total',
    type: 'counter',
    help: 'Stream (TCP) connection events: accepted and opened, refused at the connection cap, closed for idleness or for a message not finished in time (slowloris).',
    labels: ['transport', 'event'],
    labelValues: { transport: 'tcp', event: 'accepted connected refused idle_timeout partial_timeout' },
  },
  sipKeepAlives: {
    name: 'trunkgate_sip_keepalives_total',
    type: 'counter',
    help: 'CRLF keep-alive pings received (RFC 5626 §4.4.1; answered with a CRLF pong on streams).',
    labels: ['transport'],
  },
  sipTransactionEvents: {
    name: 'trunkgate_sip_transaction_events_total',
    type: 'counter',
    help: 'Transaction layer events: retransmissions absorbed, requests answered without a transaction (OPTIONS, REGISTER, stray BYE), responses matching no transaction, CANCELs matching no INVITE.',
    labels: ['event'],
    labelValues: { event: 'retransmission_absorbed stateless_reply stray_response cancel_unmatched' },
  },
  leaseDoubleRelease: {
    name: 'trunkgate_lease_double_release_total',
    type: 'counter',
    help: 'Leases released a second time. Always 0 unless there is a bug.',
    labels: [],
  },
  configReloads: {
    name: 'trunkgate_config_reloads_total',
    type: 'counter',
    help: 'Configuration reloads (SIGHUP or POST /v1/reload), by result.',
    labels: ['result'],
    labelValues: { result: 'success failure' },
  },
  buildInfo: {
    name: 'trunkgate_build_info',
    type: 'gauge',
    help: 'Always 1; the labels say which build is running.',
    labels: ['version', 'node_version'],
  },
} as const satisfies Record<string, MetricDefinition>;

export const METRIC_LIST: readonly MetricDefinition[] = Object.values(METRICS);

/** docs/metrics.md, from the table. */
export function renderMetricsDoc(): string {
  const lines = [
    '# Metrics',
    '',
    '<!-- generated from src/metrics/definitions.ts by `npm run docs:metrics`; a test fails when this file is stale -->',
    '',
    'trunkgate serves Prometheus text format on `GET /metrics` (http.listen, 127.0.0.1:8080 by default).',
    'Labels come from closed sets only: never numbers, Call-IDs or IP addresses. prom-client\'s default',
    'process metrics (`process_*`, `nodejs_*`) are exported too, except its `nodejs_active_handles_total`,',
    '`nodejs_active_requests_total` and `nodejs_active_resources_total` gauges (only counters may end in `_total`;',
    'the same figures stay as `nodejs_active_handles`, `nodejs_active_requests` and `nodejs_active_resources`).',
    'The output passes `promtool check metrics` (a test runs it).',
    '',
    'Counters whose label values are known start at 0: `trunkgate_call_attempts_total` for every configured',
    'trunk, region and outcome, `trunkgate_calls_ended_total` for every trunk and disposition,',
    '`trunkgate_alerts_total` for every alert code. Dashboards need no `or vector(0)`; a trunk added by a',
    'reload gets its zeros at the next scrape.',
    '',
    '| metric | type | labels | help |',
    '|---|---|---|---|',
  ];
  for (const m of METRIC_LIST) {
    lines.push(`| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '—'} | ${m.help} |`);
  }
  lines.push('', '## Label values', '');
  for (const m of METRIC_LIST) {
    if (m.labelValues === undefined) continue;
    for (const [label, values] of Object.entries(m.labelValues)) lines.push(`- \`${m.name}\` \`${label}\`: ${values}`);
  }
  lines.push('', '## Histogram buckets (seconds)', '');
  for (const m of METRIC_LIST) if (m.buckets !== undefined) lines.push(`- \`${m.name}\`: ${m.buckets.join(', ')}`);
  lines.push('');
  return lines.join('\n');
}
