/**
 * The gateway's metrics on one prom-client Registry per gateway instance
 * (never the global one: tests stay isolated). The layers report through
 * their typed events, which are counted here; point-in-time values (active
 * calls, limits, live transactions) are read in collect().
 */
import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';
import { ALERTS, type AlertCode } from '../alerts/alert-codes.js';
import type { B2buaEventMap } from '../b2bua/b2bua.js';
import { DISPOSITIONS, type Disposition } from '../b2bua/call.js';
import { REGIONS, type Region } from '../config/schema.js';
import { type LimitStoreEventMap, STORE_OPERATIONS } from '../limits/limit-store.js';
import type { TransportEvents } from '../sip/transport/index.js';
import { ATTEMPT_OUTCOMES, type AttemptOutcome } from '../termination/admission.js';
import { BAN_KINDS, type BanKind } from '../termination/digest-guard.js';
import type { FrontDoorEventMap } from '../termination/front-door.js';
import { INSTANCE_LABEL, METRICS } from './definitions.js';
import { TransportCounters } from './transport-counters.js';

/** What the metrics read when scraped. */
export interface MetricsSources {
  /** Active calls per trunk: every configured trunk, plus any a reload removed that still has calls. */
  activeCalls(): Iterable<{ trunk: string; active: number }>;
  /** CPS in force per (trunk, region). */
  cpsLimits(): Iterable<{ trunk: string; region: Region; cps: number }>;
  /** The concurrency cap that applies to each configured trunk (null: unlimited). */
  concurrencyLimits(): Iterable<{ trunk: string; cap: number | null }>;
  doubleReleases(): number;
  /** New INVITEs dropped for an unknown domain. */
  droppedInvites(): number;
  /** Live transactions by side, and the transaction layer's counters. */
  transactions(): { server: number; client: number };
  transactionStats(): {
    retransmissionsAbsorbed: number;
    statelessReplies: number;
    strayResponses: number;
    cancelsUnmatched: number;
    answeredOnce: number;
    answersRepeated: number;
  };
  /** The digest ban: failures counted, bans started and in force, by kind. */
  digestBans(): { failures: number; started: Readonly<Record<BanKind, number>>; active: Readonly<Record<BanKind, number>> };
  alertCounts(): ReadonlyMap<AlertCode, number>;
  /** Whether the limit store can be used now (always in memory). */
  limitStoreUp(): boolean;
  /** The configured trunks' names (their counters start at 0). */
  trunkNames(): Iterable<string>;
}

/**
 * prom-client's default gauges that end in `_total`, which `promtool check
 * metrics` refuses (only counters may); the same figures without the suffix
 * (`nodejs_active_handles`, …) stay.
 */
const NON_COUNTERS_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The event sources the metrics subscribe to. */
export interface MetricsEvents {
  transport: TransportEvents;
  frontDoor: EventEmitter<FrontDoorEventMap>;
  b2bua: EventEmitter<B2buaEventMap>;
  limits: EventEmitter<LimitStoreEventMap>;
}

export class GatewayMetrics {
  /** The transport's counters (messages, malformed, connections, keep-alives). */
  readonly transport: TransportCounters;
  private readonly attempts: Counter<'trunk' | 'region' | 'outcome'>;
  private readonly ended: Counter<'trunk' | 'disposition'>;
  private readonly admissionSeconds: Histogram;
  private readonly setupSeconds: Histogram<'trunk'>;
  private readonly reloads: Counter<'result'>;
  private readonly attemptChildren = new Map<string, { inc(): void }>();
  private readonly endedChildren = new Map<string, { inc(): void }>();

  constructor(
    readonly registry: Registry,
    sources: MetricsSources,
    events: MetricsEvents,
    version: string,
    /** The `instance` label of every series (config `instance`). */
    instance: string,
  ) {
    const r = [registry];
    registry.setDefaultLabels({ [INSTANCE_LABEL]: instance });
    collectDefaultMetrics({ register: registry });
    for (const name of NON_COUNTERS_NAMED_TOTAL) registry.removeSingleMetric(name);
    const m = METRICS;
    const transport = (this.transport = new TransportCounters(events.transport));
    // Every configured trunk's series start at 0 (for each region and outcome, each disposition), so
    // dashboards need no `or vector(0)`; a trunk a reload adds gets its zeros at the next scrape.
    const zeroed = new Set<string>();
    const zeroTrunks = (): void => {
      for (const trunk of sources.trunkNames()) {
        if (zeroed.has(trunk)) continue;
        zeroed.add(trunk);
        for (const region of REGIONS) for (const outcome of ATTEMPT_OUTCOMES) this.attempts.labels(trunk, region, outcome).inc(0);
        for (const disposition of DISPOSITIONS) this.ended.labels(trunk, disposition).inc(0);
      }
    };
    this.attempts = new Counter({ name: m.callAttempts.name, help: m.callAttempts.help, labelNames: m.callAttempts.labels, registers: r, collect: zeroTrunks });
    this.ended = new Counter({ name: m.callsEnded.name, help: m.callsEnded.help, labelNames: m.callsEnded.labels, registers: r, collect: zeroTrunks });
    new Gauge({
      name: m.activeCalls.name,
      help: m.activeCalls.help,
      labelNames: m.activeCalls.labels,
      registers: r,
      collect() {
        this.reset();
        for (const { trunk, active } of sources.activeCalls()) this.set({ trunk }, active);
      },
    });
    new Gauge({
      name: m.transactions.name,
      help: m.transactions.help,
      labelNames: m.transactions.labels,
      registers: r,
      collect() {
        const t = sources.transactions();
        this.set({ side: 'server' }, t.server);
        this.set({ side: 'client' }, t.client);
      },
    });
    new Gauge({
      name: m.cpsLimit.name,
      help: m.cpsLimit.help,
      labelNames: m.cpsLimit.labels,
      registers: r,
      collect() {
        this.reset();
        for (const { trunk, region, cps } of sources.cpsLimits()) this.set({ trunk, region }, cps);
      },
    });
    new Gauge({
      name: m.concurrencyLimit.name,
      help: m.concurrencyLimit.help,
      labelNames: m.concurrencyLimit.labels,
      registers: r,
      collect() {
        this.reset();
        for (const { trunk, cap } of sources.concurrencyLimits()) if (cap !== null) this.set({ trunk }, cap);
      },
    });
    new Counter({
      name: m.alerts.name,
      help: m.alerts.help,
      labelNames: m.alerts.labels,
      registers: r,
      collect() {
        this.reset();
        const counts = sources.alertCounts();
        for (const code of Object.keys(ALERTS)) this.inc({ code }, counts.get(Number(code) as AlertCode) ?? 0);
      },
    });
    this.admissionSeconds = new Histogram({ name: m.admissionSeconds.name, help: m.admissionSeconds.help, buckets: [...m.admissionSeconds.buckets], registers: r });
    this.setupSeconds = new Histogram({
      name: m.callSetupSeconds.name,
      help: m.callSetupSeconds.help,
      labelNames: m.callSetupSeconds.labels,
      buckets: [...m.callSetupSeconds.buckets],
      registers: r,
    });
    new Counter({
      name: m.sipMessages.name,
      help: m.sipMessages.help,
      labelNames: m.sipMessages.labels,
      registers: r,
      collect() {
        this.reset();
        for (const direction of ['in', 'out'] as const) {
          for (const [name, kinds] of transport.messages[direction]) for (const [kind, n] of kinds) this.inc({ direction, transport: name, kind }, n);
        }
      },
    });
    new Counter({
      name: m.sipParseErrors.name,
      help: m.sipParseErrors.help,
      labelNames: m.sipParseErrors.labels,
      registers: r,
      collect() {
        this.reset();
        for (const [name, n] of transport.parseErrors) this.inc({ transport: name }, n);
      },
    });
    new Counter({
      name: m.sipConnections.name,
      help: m.sipConnections.help,
      labelNames: m.sipConnections.labels,
      registers: r,
      collect() {
        this.reset();
        for (const [name, events] of transport.connections) for (const [event, n] of events) this.inc({ transport: name, event: event.replaceAll('-', '_') }, n);
      },
    });
    new Counter({
      name: m.sipKeepAlives.name,
      help: m.sipKeepAlives.help,
      labelNames: m.sipKeepAlives.labels,
      registers: r,
      collect() {
        this.reset();
        for (const [name, n] of transport.keepAlives) this.inc({ transport: name }, n);
      },
    });
    new Counter({
      name: m.sipTransactionEvents.name,
      help: m.sipTransactionEvents.help,
      labelNames: m.sipTransactionEvents.labels,
      registers: r,
      collect() {
        this.reset();
        const s = sources.transactionStats();
        this.inc({ event: 'retransmission_absorbed' }, s.retransmissionsAbsorbed);
        this.inc({ event: 'stateless_reply' }, s.statelessReplies);
        this.inc({ event: 'stray_response' }, s.strayResponses);
        this.inc({ event: 'cancel_unmatched' }, s.cancelsUnmatched);
        this.inc({ event: 'answered_once' }, s.answeredOnce);
        this.inc({ event: 'answer_repeated' }, s.answersRepeated);
      },
    });
    new Counter({
      name: m.sipSourceLimited.name,
      help: m.sipSourceLimited.help,
      labelNames: m.sipSourceLimited.labels,
      registers: r,
      collect() {
        this.reset();
        for (const [name, n] of transport.sourceLimited) this.inc({ transport: name }, n);
      },
    });
    new Counter({
      name: m.digestFailures.name,
      help: m.digestFailures.help,
      registers: r,
      collect() {
        this.reset();
        this.inc(sources.digestBans().failures);
      },
    });
    new Counter({
      name: m.digestBans.name,
      help: m.digestBans.help,
      labelNames: m.digestBans.labels,
      registers: r,
      collect() {
        this.reset();
        const started = sources.digestBans().started;
        for (const kind of BAN_KINDS) this.inc({ kind }, started[kind]);
      },
    });
    new Gauge({
      name: m.digestBanned.name,
      help: m.digestBanned.help,
      labelNames: m.digestBanned.labels,
      registers: r,
      collect() {
        const active = sources.digestBans().active;
        for (const kind of BAN_KINDS) this.set({ kind }, active[kind]);
      },
    });
    new Counter({
      name: m.leaseDoubleRelease.name,
      help: m.leaseDoubleRelease.help,
      registers: r,
      collect() {
        this.reset();
        this.inc(sources.doubleReleases());
      },
    });
    new Counter({
      name: m.invitesDropped.name,
      help: m.invitesDropped.help,
      labelNames: m.invitesDropped.labels,
      registers: r,
      collect() {
        this.reset();
        this.inc({ reason: 'unknown_domain' }, sources.droppedInvites());
      },
    });
    new Gauge({
      name: m.limitStoreUp.name,
      help: m.limitStoreUp.help,
      registers: r,
      collect() {
        this.set(sources.limitStoreUp() ? 1 : 0);
      },
    });
    const storeErrors = new Counter({ name: m.limitStoreErrors.name, help: m.limitStoreErrors.help, labelNames: m.limitStoreErrors.labels, registers: r });
    const storeSeconds = new Histogram({
      name: m.limitStoreSeconds.name,
      help: m.limitStoreSeconds.help,
      labelNames: m.limitStoreSeconds.labels,
      buckets: [...m.limitStoreSeconds.buckets],
      registers: r,
    });
    const failedOpen = new Counter({ name: m.limitStoreFailedOpen.name, help: m.limitStoreFailedOpen.help, registers: r });
    const leasesExpired = new Counter({ name: m.leasesExpired.name, help: m.leasesExpired.help, registers: r });
    for (const operation of STORE_OPERATIONS) storeErrors.inc({ operation }, 0);
    events.limits.on('operation', (operation, seconds, error) => {
      if (error === undefined) storeSeconds.observe({ operation }, seconds);
      else storeErrors.inc({ operation });
    });
    events.limits.on('failedOpen', () => failedOpen.inc());
    events.limits.on('leasesExpired', (leases) => leasesExpired.inc(leases.length));
    this.reloads = new Counter({ name: m.configReloads.name, help: m.configReloads.help, labelNames: m.configReloads.labels, registers: r });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    const buildInfo = new Gauge({ name: m.buildInfo.name, help: m.buildInfo.help, labelNames: m.buildInfo.labels, registers: r });
    buildInfo.set({ version, node_version: process.version }, 1);

    events.frontDoor.on('decision', (decision, req) => {
      const arrived = req.source?.receivedAt;
      if (arrived !== undefined) this.admissionSeconds.observe((performance.now() - arrived) / 1000);
      if (decision.kind === 'drop' || decision.match === undefined) return;
      this.attempt(decision.match.trunk.name, decision.match.region, decision.kind === 'admit' ? 'admitted' : decision.outcome);
    });
    events.b2bua.on('callEnded', (call, disposition) => this.callEnded(call.info.trunk, disposition));
    events.b2bua.on('callSetUp', (call, seconds) => this.setupSeconds.observe({ trunk: call.info.trunk }, seconds));
  }

  attempt(trunk: string, region: Region, outcome: AttemptOutcome): void {
    const key = `${trunk}\u0000${region}\u0000${outcome}`;
    let child = this.attemptChildren.get(key);
    if (child === undefined) {
      child = this.attempts.labels(trunk, region, outcome);
      this.attemptChildren.set(key, child);
    }
    child.inc();
  }

  callEnded(trunk: string, disposition: Disposition): void {
    const key = `${trunk}\u0000${disposition}`;
    let child = this.endedChildren.get(key);
    if (child === undefined) {
      child = this.ended.labels(trunk, disposition);
      this.endedChildren.set(key, child);
    }
    child.inc();
  }

  configReload(result: 'success' | 'failure'): void {
    this.reloads.inc({ result });
  }
}
