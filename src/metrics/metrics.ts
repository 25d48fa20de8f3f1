/**
 * The gateway's metrics on one prom-client Registry per gateway instance
 * (never the global one: tests stay isolated). Counters the hot path bumps
 * are cached per label set; point-in-time values and counts kept elsewhere
 * (transport, leases, alerts) are read in collect().
 */
import { Counter, Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS } from './definitions.js';

export interface TransportCounts {
  messages: Record<'in' | 'out', Record<'udp' | 'tcp', Map<string, number>>>;
  parseErrors: Record<'udp' | 'tcp', number>;
}

/** What the metrics read when scraped. */
export interface MetricsSources {
  /** Trunk names currently configured (labels come from this closed set). */
  trunks(): readonly string[];
  /** Active calls per trunk. */
  activeCalls(trunk: string): number;
  /** CPS in force per (trunk, region). */
  cpsLimits(): Array<{ trunk: string; region: string; cps: number }>;
  /** The concurrency cap that applies to each trunk (null: unlimited). */
  concurrencyLimit(trunk: string): number | null;
  transport: TransportCounts;
  doubleReleases(): number;
  /** New INVITEs dropped for an unknown domain. */
  droppedInvites(): number;
  /** Live transactions by side. */
  transactions(): { server: number; client: number };
  alertCounts(): ReadonlyMap<number, number>;
}

export class GatewayMetrics {
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
    version: string,
  ) {
    const r = [registry];
    collectDefaultMetrics({ register: registry });
    const m = METRICS;
    this.attempts = new Counter({ name: m.callAttempts.name, help: m.callAttempts.help, labelNames: m.callAttempts.labels, registers: r });
    this.ended = new Counter({ name: m.callsEnded.name, help: m.callsEnded.help, labelNames: m.callsEnded.labels, registers: r });
    new Gauge({
      name: m.activeCalls.name,
      help: m.activeCalls.help,
      labelNames: m.activeCalls.labels,
      registers: r,
      collect() {
        this.reset();
        for (const trunk of sources.trunks()) this.set({ trunk }, sources.activeCalls(trunk));
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
        for (const trunk of sources.trunks()) {
          const cap = sources.concurrencyLimit(trunk);
          if (cap !== null) this.set({ trunk }, cap);
        }
      },
    });
    new Counter({
      name: m.alerts.name,
      help: m.alerts.help,
      labelNames: m.alerts.labels,
      registers: r,
      collect() {
        this.reset();
        for (const [code, n] of sources.alertCounts()) this.inc({ code: String(code) }, n);
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
          for (const transport of ['udp', 'tcp'] as const) {
            for (const [kind, n] of sources.transport.messages[direction][transport]) this.inc({ direction, transport, kind }, n);
          }
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
        for (const transport of ['udp', 'tcp'] as const) this.inc({ transport }, sources.transport.parseErrors[transport]);
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
    this.reloads = new Counter({ name: m.configReloads.name, help: m.configReloads.help, labelNames: m.configReloads.labels, registers: r });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    const buildInfo = new Gauge({ name: m.buildInfo.name, help: m.buildInfo.help, labelNames: m.buildInfo.labels, registers: r });
    buildInfo.set({ version, node_version: process.version }, 1);
  }

  attempt(trunk: string, region: string, outcome: string): void {
    const key = `${trunk}\u0000${region}\u0000${outcome}`;
    let child = this.attemptChildren.get(key);
    if (child === undefined) {
      child = this.attempts.labels(trunk, region, outcome);
      this.attemptChildren.set(key, child);
    }
    child.inc();
  }

  callEnded(trunk: string, disposition: string): void {
    const key = `${trunk}\u0000${disposition}`;
    let child = this.endedChildren.get(key);
    if (child === undefined) {
      child = this.ended.labels(trunk, disposition);
      this.endedChildren.set(key, child);
    }
    child.inc();
  }

  admission(seconds: number): void {
    this.admissionSeconds.observe(seconds);
  }

  callSetup(trunk: string, seconds: number): void {
    this.setupSeconds.observe({ trunk }, seconds);
  }

  configReload(result: 'success' | 'failure'): void {
    this.reloads.inc({ result });
  }
}
