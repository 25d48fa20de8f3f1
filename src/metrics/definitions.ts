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
        'admitted cps_limited pooled_cps_limited concurrency_limited challenged unauthorized invalid_number forbidden unsupported_media draining inactive too_many_hops unverified bad_extension banned store_unavailable',
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
    labelValues: { direction: 'in out', transport: 'udp tcp tls ws wss', kind: 'a standard method (INVITE, ACK, BYE, …) or other, or a status class 1xx-6xx' },
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
    help: 'Stream (TCP) connection events: accepted and opened, refused at the connection cap or at the per-source cap, closed for idleness or for a message not finished in time (slowloris).',
    labels: ['transport', 'event'],
    labelValues: { transport: 'tcp', event: 'accepted connected refused source_refused idle_timeout partial_timeout' },
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
    help: 'Transaction layer events: retransmissions absorbed, requests answered without a transaction (OPTIONS, REGISTER, stray BYE), responses matching no transaction, CANCELs matching no INVITE, refusals answered once (no retransmissions, no wait for the ACK: refusals before authentication), and retransmitted INVITEs of those answered again one for one.',
    labels: ['event'],
    labelValues: { event: 'retransmission_absorbed stateless_reply stray_response cancel_unmatched answered_once answer_repeated' },
  },
  sipSourceLimited: {
    name: 'trunkgate_sip_source_limited_total',
    type: 'counter',
    help: 'Requests dropped unparsed because their source IP address ran over security.sourceRateLimit (per-source rate limiting, off by default).',
    labels: ['transport'],
  },
  digestFailures: {
    name: 'trunkgate_digest_failures_total',
    type: 'counter',
    help: 'Failed digest attempts that count toward a ban: a wrong password, unknown user, used-up nonce or wrong digest uri, with an authentic nonce issued to the source.',
    labels: [],
  },
  digestBans: {
    name: 'trunkgate_digest_bans_total',
    type: 'counter',
    help: 'Bans started after security.digest.maxFailures failed attempts (alert 32216), by what is banned.',
    labels: ['kind'],
    labelValues: { kind: 'source username' },
  },
  digestBanned: {
    name: 'trunkgate_digest_banned',
    type: 'gauge',
    help: 'Bans in force right now (GET /v1/security/bans lists them), by what is banned.',
    labels: ['kind'],
    labelValues: { kind: 'source username' },
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
  voiceApiRequests: {
    name: 'trunkgate_voice_api_requests_total',
    type: 'counter',
    help: 'Programmable Voice REST API requests (Calls resource), by operation and outcome; refused credentials count as operation auth.',
    labels: ['operation', 'outcome'],
    labelValues: { operation: 'create list fetch update delete auth', outcome: 'success unauthorized invalid queue_full not_found invalid_state not_allowed' },
  },
  voiceQueueDepth: {
    name: 'trunkgate_voice_queue_depth',
    type: 'gauge',
    help: 'API-created calls waiting in the account\'s CPS queue right now.',
    labels: ['account'],
    labelValues: { account: 'configured account names' },
  },
  voiceQueueEstimatedWait: {
    name: 'trunkgate_voice_queue_estimated_wait_seconds',
    type: 'gauge',
    help: 'The estimated wait of the last call in the account\'s queue (its queue_time still to come).',
    labels: ['account'],
  },
  voiceQueueSeconds: {
    name: 'trunkgate_voice_queue_seconds',
    type: 'histogram',
    help: 'How long placed calls waited in the queue (their final queue_time), per account.',
    labels: ['account'],
    buckets: [0, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 86400],
  },
  voiceActiveCalls: {
    name: 'trunkgate_voice_active_calls',
    type: 'gauge',
    help: 'Programmable Voice calls holding the account\'s voice concurrency lease (placed API calls).',
    labels: ['account'],
  },
  voiceConcurrencyLimit: {
    name: 'trunkgate_voice_concurrency_limit',
    type: 'gauge',
    help: 'The account\'s Programmable Voice concurrency cap (account type, or limits.voiceConcurrentCalls); absent when unlimited.',
    labels: ['account'],
  },
  voiceCallsEnded: {
    name: 'trunkgate_voice_calls_ended_total',
    type: 'counter',
    help: 'Programmable Voice calls that ended, by final status and direction (outbound-api: created through the API; outbound-dial: <Dial> legs; inbound: placed by a client, or to a number\'s voice URL or a trunk\'s disaster-recovery URL).',
    labels: ['account', 'status', 'direction'],
    labelValues: { status: 'completed busy failed no-answer canceled', direction: 'outbound-api outbound-dial inbound' },
  },
  voiceWebhookSeconds: {
    name: 'trunkgate_voice_webhook_seconds',
    type: 'histogram',
    help: 'Time for a request to the application to finish (TwiML fetch, fallback, <Dial action>, <Redirect>, status callback), failures included.',
    labels: ['kind'],
    labelValues: { kind: 'twiml fallback action redirect status_callback' },
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
  },
  voiceWebhookFailures: {
    name: 'trunkgate_voice_webhook_failures_total',
    type: 'counter',
    help: 'Requests to the application that failed: no connection (11205), no response in time or a non-2xx status (11200), a body over 64 kB (11750).',
    labels: ['kind', 'reason'],
    labelValues: { reason: 'connection timeout http_status too_large' },
  },
  limitStoreUp: {
    name: 'trunkgate_limit_store_up',
    type: 'gauge',
    help: 'Whether the limit store can be used: always 1 in memory; with limits.store redis, 1 while Redis answers, 0 while it cannot be reached (new calls are then refused, or admitted uncounted, by limits.onStoreFailure).',
    labels: [],
  },
  limitStoreErrors: {
    name: 'trunkgate_limit_store_errors_total',
    type: 'counter',
    help: 'Round trips to the shared limit store (limits.store redis) that failed or timed out, by what they were for.',
    labels: ['operation'],
    labelValues: { operation: 'admission release heartbeat register sweep snapshot console' },
  },
  limitStoreSeconds: {
    name: 'trunkgate_limit_store_seconds',
    type: 'histogram',
    help: 'Round trips to the shared limit store (limits.store redis), by what they were for: an admission is checks 12-14 in one script.',
    labels: ['operation'],
    labelValues: { operation: 'admission release heartbeat register sweep snapshot console' },
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  },
  limitStoreFailedOpen: {
    name: 'trunkgate_limit_store_failed_open_total',
    type: 'counter',
    help: 'Calls admitted without the shared limits because the store could not be reached (limits.onStoreFailure: open); each also raises alert 99101.',
    labels: [],
  },
  leasesExpired: {
    name: 'trunkgate_leases_expired_total',
    type: 'counter',
    help: 'Leases found in the shared store past their expiry (the instance that held them stopped heartbeating: crashed, killed, or cut off from Redis for longer than limits.leaseTtlMs) and removed by this instance; each batch raises alert 99102.',
    labels: [],
  },
  clientRegistrations: {
    name: 'trunkgate_client_registrations',
    type: 'gauge',
    help: 'Registered client contacts (bindings), by account and the transport their REGISTER came over.',
    labels: ['account', 'transport'],
    labelValues: { account: 'configured account names', transport: 'udp tcp tls ws wss' },
  },
  clientRequests: {
    name: 'trunkgate_client_requests_total',
    type: 'counter',
    help: 'REGISTERs and INVITEs from clients to a client domain, by outcome (challenged: answered 401/407 for digest credentials).',
    labels: ['method', 'outcome'],
    labelValues: { method: 'REGISTER INVITE', outcome: 'ok challenged forbidden interval_too_brief bad_request not_found server_error' },
  },
  clientRegistrationsRemoved: {
    name: 'trunkgate_client_registrations_removed_total',
    type: 'counter',
    help: 'Client registrations that ended, by why: un-registered, expired, their flow (WebSocket, TCP) closed, replaced by a newer one, or removed from the configuration.',
    labels: ['reason'],
    labelValues: { reason: 'unregistered expired flow-closed replaced removed' },
  },
  conferences: {
    name: 'trunkgate_conferences',
    type: 'gauge',
    help: 'Conference rooms not yet completed, by account and status (init: waiting for a participant that starts it).',
    labels: ['account', 'status'],
    labelValues: { account: 'configured account names', status: 'init in-progress' },
  },
  conferenceParticipants: {
    name: 'trunkgate_conference_participants',
    type: 'gauge',
    help: 'Participants in the account\'s live conference rooms, every room together.',
    labels: ['account'],
  },
  conferenceLargestRoom: {
    name: 'trunkgate_conference_largest_room_participants',
    type: 'gauge',
    help: 'Participants in the account\'s fullest live conference room (a room holds at most its maxParticipants, 250 at most).',
    labels: ['account'],
  },
  conferenceJoins: {
    name: 'trunkgate_conference_joins_total',
    type: 'counter',
    help: 'Participants that joined a conference room.',
    labels: ['account'],
  },
  conferenceRefusals: {
    name: 'trunkgate_conference_refusals_total',
    type: 'counter',
    help: 'Participants refused by a conference room: full (its maxParticipants reached, alert 16020) or completed (alert 16022); each such call ends failed.',
    labels: ['account', 'reason'],
    labelValues: { reason: 'full completed' },
  },
  originationCalls: {
    name: 'trunkgate_origination_calls_total',
    type: 'counter',
    help: 'Inbound calls (towards the PBX through a trunk\'s origination URIs, or to a number\'s voice URL) that ended, by outcome: answered by a URI; rejected by one with a status that does not fail over; no_answer (rang past ringTimeoutMs); failed (every URI failed and there is no disaster-recovery URL); disaster_recovery (the disaster-recovery webhook took it); webhook (a number\'s voice URL took it); concurrency_limited (not delivered: the trunk or account was at its cap, alert 10004); canceled (the caller hung up first: a run stopped, shutdown).',
    labels: ['trunk', 'outcome'],
    labelValues: { trunk: 'configured trunk names (empty for a number with a voice URL)', outcome: 'answered rejected no_answer failed disaster_recovery webhook concurrency_limited canceled' },
  },
  originationAttempts: {
    name: 'trunkgate_origination_attempts_total',
    type: 'counter',
    help: 'Attempts of inbound calls at origination URIs, by result: answered; rejected (a final response that does not fail over); ring_timeout; failover_response, failover_timeout (no response within 4 s, or none at all), failover_transport (could not be reached): the call went on to the next URI (alert 32011).',
    labels: ['trunk', 'result'],
    labelValues: { trunk: 'configured trunk names', result: 'answered rejected ring_timeout failover_response failover_timeout failover_transport' },
  },
  transfers: {
    name: 'trunkgate_transfers_total',
    type: 'counter',
    help: 'REFERs from the PBX (termination and inbound calls), by outcome: refused by transferMode (403, alert 32218), invalid (400), completed (the target answered and was bridged), failed (the target did not answer).',
    labels: ['trunk', 'outcome'],
    labelValues: { trunk: 'configured trunk names', outcome: 'refused invalid completed failed' },
  },
  buildInfo: {
    name: 'trunkgate_build_info',
    type: 'gauge',
    help: 'Always 1; the labels say which build is running.',
    labels: ['version', 'node_version'],
  },
} as const satisfies Record<string, MetricDefinition>;

export const METRIC_LIST: readonly MetricDefinition[] = Object.values(METRICS);

/**
 * The label every metric of an instance carries (prom-client's default
 * labels), its value the config's `instance` (default: the host name), so
 * that several instances' series stay apart. Not in the table's `labels`.
 */
export const INSTANCE_LABEL = 'instance';

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
    'Every series, these and the process metrics, also carries the label `instance`: the configuration\'s',
    '`instance` (default: the host name), so that the series of several instances sharing limits through',
    'Redis stay apart. Prometheus renames a scraped `instance` label to `exported_instance` unless the scrape',
    'job sets `honor_labels: true` (docker/prometheus/prometheus.yml does). The table below leaves it out.',
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
