/**
 * The admin API's views and actions over the gateway's parts: trunks with
 * their live limits, the Console's CPS setting, calls, alerts, reload, the
 * digest bans. It
 * reads state; the parts own it.
 */
import type { Registry } from 'prom-client';
import type { Alert, AlertLog } from '../alerts/alert-log.js';
import type { B2bua } from '../b2bua/b2bua.js';
import { REGIONS } from '../config/schema.js';
import { type Result, errorOf } from '../errors.js';
import type { Clock } from '../limits/clock.js';
import type { LimitStore } from '../limits/limit-store.js';
import type { CpsConsole } from '../termination/cps-console.js';
import type { BanKind, DigestGuard } from '../termination/digest-guard.js';
import { type CompiledTrunk, type Directory, trunkCpsSettings } from '../termination/directory.js';
import { defaultToleranceMs } from '../limits/rate-limiters.js';
import type { AdminApi, BansView, CallView, Readiness, ReloadView, TrunkView } from './admin-api.js';
import type { CpsChangeBody } from './bodies.js';
import type { VoiceApi } from '../voice/voice-api-types.js';
import type { ClientsView } from '../clients/client-domain.js';
import type { ConferenceApi } from '../voice/conference-api.js';
import { type ObservabilityApi, ObservabilityViews } from './observability-views.js';
import type { Observability } from '../observability/observability.js';
import type { OriginationApi } from './origination-routes.js';

export interface AdminParts {
  /** The compiled configuration in force (swapped on reload). */
  directory(): Directory;
  b2bua: B2bua;
  alerts: AlertLog;
  cpsConsole: CpsConsole;
  auth: DigestGuard;
  /** Where checks 12-14 keep their state (memory, or shared through Redis): live figures come from there. */
  limits: LimitStore;
  registry: Registry;
  observability: Observability;
  clock: Clock;
  /** Listening and not draining. */
  ready(): boolean;
  reload(): Result<ReloadView>;
  voice?: VoiceApi;
  clients?: ClientsView;
  conferences?: ConferenceApi;
  origination?: OriginationApi;
}

export class Admin implements AdminApi {
  readonly voice: VoiceApi | undefined;
  readonly clients: ClientsView | undefined;
  readonly conferences: ConferenceApi | undefined;
  readonly origination: OriginationApi | undefined;
  readonly observability: ObservabilityApi;

  constructor(private readonly parts: AdminParts) {
    this.voice = parts.voice;
    this.clients = parts.clients;
    this.conferences = parts.conferences;
    this.origination = parts.origination;
    this.observability = new ObservabilityViews(
      parts.observability,
      { trunks: () => this.trunks(), calls: () => this.calls(), alerts: () => parts.alerts.list(), now: () => parts.clock.now() },
      () => parts.directory().config.observability.messageStore.maxCalls,
    );
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.parts.registry.contentType, body: await this.parts.registry.metrics() };
  }

  /**
   * Ready: listening, not draining, and able to admit calls (a shared limit
   * store that cannot be reached with onStoreFailure: closed is not).
   */
  readiness(): Readiness {
    const store = this.parts.limits.state();
    const storeView = { kind: store.kind, status: store.status, onFailure: store.onFailure };
    if (!this.parts.ready()) return { ready: false, status: 'draining', store: storeView };
    if (!store.admitting) return { ready: false, status: 'store-unavailable', store: storeView };
    return { ready: true, status: 'ready', store: storeView };
  }

  async trunks(): Promise<TrunkView[]> {
    return Promise.all([...this.parts.directory().trunks.values()].map((t) => this.trunkView(t)));
  }

  async trunk(name: string): Promise<TrunkView | undefined> {
    const t = this.parts.directory().trunks.get(name);
    return t === undefined ? undefined : this.trunkView(t);
  }

  async setCps(name: string, body: CpsChangeBody): Promise<Result<TrunkView>> {
    const directory = this.parts.directory();
    const trunk = directory.trunks.get(name);
    if (trunk === undefined) return { ok: false, error: errorOf('TRUNK_NOT_FOUND', name) };
    const r = await this.parts.cpsConsole.change(trunk, body, directory.config.cps.selfServeMaxCps);
    return r.ok ? { ok: true, value: await this.trunkView(trunk) } : r;
  }

  private async trunkView(t: CompiledTrunk): Promise<TrunkView> {
    const config = this.parts.directory().config;
    const account = t.account;
    const inForce = REGIONS.map((region) => ({ region, inForce: this.parts.cpsConsole.inForce(t, region) }));
    const cps = inForce.flatMap(({ region, inForce: f }) => {
      const scope = t.cps.get(region);
      return scope === undefined ? [] : [{ scope, settings: trunkCpsSettings(config, t, f.cps) }];
    });
    const snapshot = await this.parts.limits.snapshot({ cps, leases: [t.leaseScope, account.leaseScope] });
    return {
      name: t.name,
      terminationUri: `${t.name}.${config.sip.domainSuffix}`,
      account: { name: account.name, sid: account.sid, type: account.config.type, legacy: account.config.legacy, active: account.config.active },
      homeRegion: t.config.region,
      route: t.config.route,
      cpsAlgorithm: config.cps.algorithm,
      sharedState: snapshot.shared,
      regions: inForce.map(({ region, inForce: f }, i) => {
        const limiter = t.cps.get(region)?.peek(trunkCpsSettings(config, t, f.cps));
        return {
          region,
          cps: f.cps,
          source: f.source,
          pending: f.pending === undefined ? null : { cps: f.pending.cps, effectiveAt: new Date(f.pending.effectiveAtMs).toISOString() },
          available: snapshot.available[i] ?? null,
          burst: limiter?.burst ?? Math.max(1, t.config.burst ?? Math.ceil(f.cps)),
          toleranceMs: limiter?.toleranceMs ?? (config.cps.algorithm === 'token-bucket' ? (config.cps.toleranceMs ?? defaultToleranceMs(f.cps)) : 0),
        };
      }),
      pooledCps: account.config.pooledCps === undefined ? null : { ...account.config.pooledCps },
      concurrency: {
        active: snapshot.active[0] ?? t.leaseScope.active,
        trunkCap: t.leaseScope.cap,
        accountActive: snapshot.active[1] ?? account.leaseScope.active,
        accountCap: account.leaseScope.cap,
        thisInstance: t.leaseScope.active,
        accountThisInstance: account.leaseScope.active,
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

  bans(): BansView {
    const p = this.parts.directory().config.security.digest;
    return {
      bans: this.parts.auth.bans(),
      policy: { maxFailures: p.maxFailures, failureWindowSeconds: p.failureWindowSeconds, banSeconds: p.banSeconds, algorithms: [...p.algorithms], requireUriMatch: p.requireUriMatch },
    };
  }

  clearBans(): number {
    return this.parts.auth.clearAll();
  }

  clearBan(kind: BanKind, value: string): boolean {
    return this.parts.auth.clear(kind, value);
  }
}
