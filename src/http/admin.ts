/**
 * The admin API's views and actions over the gateway's parts: trunks with
 * their live limits, the Console's CPS setting, calls, alerts, reload. It
 * reads state; the parts own it.
 */
import type { Registry } from 'prom-client';
import type { Alert, AlertLog } from '../alerts/alert-log.js';
import type { B2bua } from '../b2bua/b2bua.js';
import { REGIONS } from '../config/schema.js';
import { type Result, errorOf } from '../errors.js';
import type { Clock } from '../limits/clock.js';
import type { CpsConsole } from '../termination/cps-console.js';
import type { CompiledTrunk, Directory } from '../termination/directory.js';
import type { AdminApi, CallView, ReloadView, TrunkView } from './admin-api.js';
import type { CpsChangeBody } from './bodies.js';
import { type ObservabilityApi, ObservabilityViews } from './observability-views.js';
import type { Observability } from '../observability/observability.js';

export interface AdminParts {
  /** The compiled configuration in force (swapped on reload). */
  directory(): Directory;
  b2bua: B2bua;
  alerts: AlertLog;
  cpsConsole: CpsConsole;
  registry: Registry;
  observability: Observability;
  clock: Clock;
  ready(): boolean;
  reload(): Result<ReloadView>;
}

export class Admin implements AdminApi {
  readonly observability: ObservabilityApi;

  constructor(private readonly parts: AdminParts) {
    this.observability = new ObservabilityViews(
      parts.observability,
      { trunks: () => this.trunks(), calls: () => this.calls(), alerts: () => parts.alerts.list(), now: () => parts.clock.now() },
      () => parts.directory().config.observability.messageStore.maxCalls,
    );
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.parts.registry.contentType, body: await this.parts.registry.metrics() };
  }

  ready(): boolean {
    return this.parts.ready();
  }

  trunks(): TrunkView[] {
    return [...this.parts.directory().trunks.values()].map((t) => this.trunkView(t));
  }

  trunk(name: string): TrunkView | undefined {
    const t = this.parts.directory().trunks.get(name);
    return t === undefined ? undefined : this.trunkView(t);
  }

  setCps(name: string, body: CpsChangeBody): Result<TrunkView> {
    const directory = this.parts.directory();
    const trunk = directory.trunks.get(name);
    if (trunk === undefined) return { ok: false, error: errorOf('TRUNK_NOT_FOUND', name) };
    const r = this.parts.cpsConsole.change(trunk, body, directory.config.cps.selfServeMaxCps);
    return r.ok ? { ok: true, value: this.trunkView(trunk) } : r;
  }

  private trunkView(t: CompiledTrunk): TrunkView {
    const config = this.parts.directory().config;
    const now = this.parts.clock.now();
    const account = t.account;
    return {
      name: t.name,
      terminationUri: `${t.name}.${config.sip.domainSuffix}`,
      account: { name: account.name, sid: account.sid, type: account.config.type, legacy: account.config.legacy, active: account.config.active },
      homeRegion: t.config.region,
      route: t.config.route,
      cpsAlgorithm: config.cps.algorithm,
      regions: REGIONS.map((region) => {
        const inForce = this.parts.cpsConsole.inForce(t, region);
        const limiter = t.cps.get(region)?.peek({ algorithm: config.cps.algorithm, cps: inForce.cps, burst: t.config.burst });
        return {
          region,
          cps: inForce.cps,
          source: inForce.source,
          pending: inForce.pending === undefined ? null : { cps: inForce.pending.cps, effectiveAt: new Date(inForce.pending.effectiveAtMs).toISOString() },
          available: limiter === undefined ? null : limiter.available(now),
          burst: limiter?.burst ?? Math.max(1, t.config.burst ?? Math.ceil(inForce.cps)),
        };
      }),
      pooledCps: account.config.pooledCps === undefined ? null : { ...account.config.pooledCps },
      concurrency: {
        active: t.leaseScope.active,
        trunkCap: t.leaseScope.cap,
        accountActive: account.leaseScope.active,
        accountCap: account.leaseScope.cap,
      },
      auth: { ipAcl: [...t.config.auth.ipAcl], credentialUsernames: t.config.auth.credentials.map((c) => c.username) },
      maxCallDurationSeconds: t.maxDurationMs / 1000,
      pstnAnswerAfterMs: t.route.kind === 'builtin' ? config.pstn.answerAfterMs : null,
    };
  }

  calls(): CallView[] {
    return [...this.parts.b2bua.calls.values()].map((c) => ({
      id: c.id,
      trunk: c.info.trunk,
      account: c.info.account,
      region: c.info.region,
      edge: c.info.edge ?? null,
      route: c.info.route.kind === 'builtin' ? 'builtin' : c.info.route.uri,
      state: c.state,
      from: c.caller,
      to: c.called,
      createdAt: new Date(c.createdAt).toISOString(),
      answeredAt: c.answeredAt === undefined ? null : new Date(c.answeredAt).toISOString(),
    }));
  }

  hangup(id: string): boolean {
    return this.parts.b2bua.hangup(id);
  }

  listAlerts(since?: { time?: number; seq?: number }): Alert[] {
    return this.parts.alerts.list(since);
  }

  reload(): Result<ReloadView> {
    return this.parts.reload();
  }
}
