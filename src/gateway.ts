/**
 * The composition root: wires transport → transactions → UA core → front
 * door → B2BUA → PSTN emulator / carriers, plus metrics and the HTTP admin
 * API, and owns start-up, reload, drain and shutdown. No globals: tests start
 * as many gateways as they like, on port 0.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { type Alert, AlertLog } from './alerts/alert-log.js';
import { B2bua } from './b2bua/b2bua.js';
import type { ConfigResult } from './config/load.js';
import { type Config, REGIONS, type Region } from './config/schema.js';
import type { AdminApi, AdminResult, CallView, CpsChangeBody, TrunkView } from './http/admin-api.js';
import { startHttpServer } from './http/server.js';
import { type Clock, systemClock } from './limits/clock.js';
import { ConcurrencyTracker } from './limits/concurrency.js';
import { CpsRegistry } from './limits/cps-registry.js';
import { GatewayMetrics } from './metrics/metrics.js';
import { PstnEmulator } from './pstn/emulator.js';
import { RtpSink } from './pstn/rtp-sink.js';
import { UserAgentCore } from './sip/dialog/index.js';
import { TransactionLayer } from './sip/transaction/index.js';
import { type BoundListener, type ListenSpec, TransportLayer, parseListenUrl } from './sip/transport/index.js';
import type { AdmissionContext } from './termination/admission.js';
import { decideCpsChange } from './termination/cps-policy.js';
import { DigestAuth } from './termination/digest.js';
import { type CompiledTrunk, Directory } from './termination/directory.js';
import { FrontDoor } from './termination/front-door.js';

export interface GatewayOptions {
  config: Config;
  /** Produces the configuration again for a reload (SIGHUP, POST /v1/reload); no reload without it. */
  reloadConfig?: () => ConfigResult;
  logger?: Logger;
  /** Start the HTTP server (default true). */
  http?: boolean;
}

/** The provider's reason phrase for 100 (SPEC §4.1, seen on the wire). */
export const PROVIDER_TRYING_REASON = 'trying -- your call is important to us';

export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

interface CpsSetting {
  cps: number;
  /** A decrease waiting for the 1st of next month. */
  pending: { cps: number; effectiveAtMs: number } | undefined;
}

export class Gateway implements AdminApi {
  readonly log: Logger;
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly core: UserAgentCore;
  readonly alerts = new AlertLog(1000);
  readonly tracker = new ConcurrencyTracker();
  readonly emulator: PstnEmulator;
  readonly b2bua: B2bua;
  readonly frontDoor: FrontDoor;
  /** Where SDP answers point: accepts and discards RTP. */
  readonly rtp: RtpSink;
  readonly clock: Clock = systemClock;
  readonly cps = new CpsRegistry(this.clock);
  readonly digest = new DigestAuth();
  readonly registry = new Registry();
  readonly metrics: GatewayMetrics;
  /** CPS set through the Console-style API, per `trunk:region`; wins over the file (also across reloads) until a restart. */
  readonly cpsSettings = new Map<string, CpsSetting>();
  /** Shutting down: new INVITEs get 503 with Retry-After, /readyz 503. */
  draining = false;
  private current: { config: Config; directory: Directory };
  private readonly admissionContext: AdmissionContext;
  private readonly reloadConfig: (() => ConfigResult) | undefined;
  private http: { app: FastifyInstance; port: number; host: string } | undefined;
  private readonly withHttp: boolean;
  private started = false;

  constructor(options: GatewayOptions) {
    const config = options.config;
    this.log = options.logger ?? pino({ level: 'silent' });
    this.reloadConfig = options.reloadConfig;
    this.withHttp = options.http ?? true;
    this.current = { config, directory: new Directory(config) };
    const current = (): Directory => this.current.directory;
    this.admissionContext = {
      get directory() {
        return current();
      },
      tracker: this.tracker,
      cps: this.cps,
      digest: this.digest,
      cpsFor: (trunk, region) => this.cpsInForce(trunk, region).cps,
    };
    const listen = listenSpecs(config);
    this.transport = new TransportLayer({
      listen,
      tcpIdleTimeoutMs: config.sip.tcpIdleTimeoutMs,
      tcpMessageTimeoutMs: config.sip.tcpMessageTimeoutMs,
      maxTcpConnections: config.sip.maxTcpConnections,
      maxMessageBytes: config.sip.maxMessageBytes,
      advertisedAddress: config.sip.advertisedAddress,
      logger: this.log.child({ layer: 'transport' }),
    });
    this.transactions = new TransactionLayer(this.transport, {
      timers: config.sip.timers,
      tryingReason: PROVIDER_TRYING_REASON,
      logger: this.log.child({ layer: 'transaction' }),
    });
    const mediaHost = listen[0]?.host ?? '127.0.0.1';
    this.rtp = new RtpSink(mediaHost, this.transport.advertise(mediaHost));
    this.emulator = new PstnEmulator(config.pstn, this.rtp);
    this.tracker.onDoubleRelease = (lease, reason) => this.log.error({ reason, firstReason: lease.releaseReason }, 'lease released twice: this is a bug');
    this.core = new UserAgentCore(this.transactions, { onRequest: () => undefined });
    this.b2bua = new B2bua({ core: this.core, emulator: this.emulator, alerts: this.alerts, logger: this.log.child({ layer: 'b2bua' }) });
    this.frontDoor = new FrontDoor({
      b2bua: this.b2bua,
      alerts: this.alerts,
      context: () => this.admissionContext,
      tryingReason: PROVIDER_TRYING_REASON,
      draining: () => this.draining,
      logger: this.log.child({ layer: 'front-door' }),
    });
    this.core.app = this.frontDoor;

    this.metrics = new GatewayMetrics(
      this.registry,
      {
        // configured trunks, plus any a reload removed that still have calls
        trunks: () => [...new Set([...this.current.directory.trunks.keys(), ...this.tracker.keysWithPrefix('trunk:')])],
        activeCalls: (trunk) => this.tracker.count(`trunk:${trunk}`),
        cpsLimits: () => {
          const out: Array<{ trunk: string; region: string; cps: number }> = [];
          for (const trunk of this.current.directory.trunks.values()) {
            for (const region of REGIONS) out.push({ trunk: trunk.name, region, cps: this.cpsInForce(trunk, region).cps });
          }
          return out;
        },
        concurrencyLimit: (name) => {
          const trunk = this.current.directory.trunks.get(name);
          if (trunk === undefined) return null;
          const caps = trunk.leaseScopes.map((s) => s.cap).filter((c): c is number => c !== null);
          return caps.length === 0 ? null : Math.min(...caps);
        },
        transport: this.transport.stats,
        doubleReleases: () => this.tracker.doubleReleases,
        droppedInvites: () => this.frontDoor.stats.dropped,
        transactions: () => this.transactions.size,
        alertCounts: () => this.alerts.counts,
      },
      VERSION,
    );
    this.frontDoor.onDecision = (decision, req) => {
      const arrived = req.source?.receivedAt;
      if (arrived !== undefined) this.metrics.admission((performance.now() - arrived) / 1000);
      if (decision.kind === 'drop' || decision.match === undefined) return;
      this.metrics.attempt(decision.match.trunk.name, decision.match.region, decision.kind === 'admit' ? 'admitted' : decision.outcome);
    };
    this.b2bua.onCallEnded = (call, disposition) => this.metrics.callEnded(call.info.trunk, disposition);
    this.b2bua.onCallSetUp = (call, seconds) => this.metrics.callSetup(call.info.trunk, seconds);
  }

  get config(): Config {
    return this.current.config;
  }

  get directory(): Directory {
    return this.current.directory;
  }

  /** The HTTP server's bound address, once started. */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.http === undefined ? undefined : { host: this.http.host, port: this.http.port };
  }

  async start(): Promise<void> {
    await this.rtp.start();
    try {
      await this.transport.start();
      if (this.withHttp) {
        const { host, port } = splitHostPort(this.config.http.listen);
        this.http = await startHttpServer(this, { host, port, token: this.config.http.token, logger: this.log.child({ layer: 'http' }) });
      }
    } catch (err) {
      await this.transport.stop();
      await this.rtp.stop();
      throw err;
    }
    this.started = true;
    this.log.info({ listen: this.listeners.map((l) => `${l.transport}://${l.address}:${l.port}`), http: this.httpAddress }, 'trunkgate listening');
  }

  /**
   * Graceful stop (SIGTERM/SIGINT, SPEC §7.1): refuse new calls (503 with
   * Retry-After, /readyz 503), let calls end by themselves for up to
   * `shutdown.drainMs`, then BYE the rest and stop.
   */
  async drain(): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + this.config.shutdown.drainMs;
    this.log.info({ activeCalls: this.b2bua.activeCalls, drainMs: this.config.shutdown.drainMs }, 'draining');
    while (this.b2bua.activeCalls > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.stop();
  }

  /** End every call (BYE both legs), give the BYEs a moment, then close everything. */
  async stop(): Promise<void> {
    this.draining = true;
    this.b2bua.endAll();
    const deadline = Date.now() + 2000;
    while (this.transactions.size.client > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.transactions.terminateAll();
    await this.http?.app.close();
    this.http = undefined;
    await this.transport.stop();
    await this.rtp.stop();
    this.started = false;
  }

  get listeners(): BoundListener[] {
    return this.transport.listeners;
  }

  /** The bound address of the first listener of a transport (tests bind port 0). */
  address(transport: 'udp' | 'tcp'): BoundListener {
    const l = this.listeners.find((x) => x.transport === transport);
    if (l === undefined) throw new Error(`no ${transport} listener`);
    return l;
  }

  // ------------------------------------------------------------ reload

  /**
   * Swap in a new configuration: limits change atomically for new calls;
   * calls in progress keep their leases; calls on a removed trunk run until
   * they end. Listen addresses and transport limits need a restart.
   */
  applyConfig(config: Config): string[] {
    const old = this.current.config;
    const warnings: string[] = [];
    if (JSON.stringify(old.sip.listen) !== JSON.stringify(config.sip.listen)) warnings.push('sip.listen changes take effect on restart');
    if (old.http.listen !== config.http.listen || old.http.token !== config.http.token) warnings.push('http.listen and http.token changes take effect on restart');
    for (const key of ['tcpIdleTimeoutMs', 'maxMessageBytes', 'tcpMessageTimeoutMs', 'maxTcpConnections', 'advertisedAddress'] as const) {
      if (old.sip[key] !== config.sip[key]) warnings.push(`sip.${key} changes take effect on restart`);
    }
    const directory = new Directory(config);
    this.current = { config, directory };
    this.transactions.timerConfig = { ...config.sip.timers };
    this.emulator.updateConfig(config.pstn);
    this.cps.retain((key) => {
      const [kind, name] = key.split(':');
      return kind === 'trunk' ? directory.trunks.has(name as string) : directory.accounts.has(name as string);
    });
    for (const key of [...this.cpsSettings.keys()]) if (!directory.trunks.has(key.split(':')[0] as string)) this.cpsSettings.delete(key);
    return warnings;
  }

  reload(): AdminResult<{ trunks: number; accounts: number; warnings: string[] }> {
    if (this.reloadConfig === undefined) {
      return { ok: false, status: 409, code: 'RELOAD_UNAVAILABLE', message: 'this gateway was started without a configuration source to reload' };
    }
    const result = this.reloadConfig();
    if (!result.ok) {
      this.metrics.configReload('failure');
      this.log.error({ problems: result.problems }, 'reload failed: the running configuration stays in place');
      return {
        ok: false,
        status: 422,
        code: 'CONFIG_INVALID',
        message: `the configuration has ${result.problems.length} problem(s); the running configuration stays in place`,
        details: result.problems,
      };
    }
    const warnings = this.applyConfig(result.config);
    this.metrics.configReload('success');
    this.log.info({ trunks: result.config.trunks.length, warnings }, 'configuration reloaded');
    return { ok: true, value: { trunks: result.config.trunks.length, accounts: result.config.accounts.length, warnings } };
  }

  // ------------------------------------------------------------ CPS (the Console)

  /** The CPS in force for (trunk, region), applying a due pending change. */
  private cpsInForce(trunk: CompiledTrunk, region: Region): { cps: number; source: 'config' | 'console'; pending: CpsSetting['pending'] } {
    const key = `${trunk.name}:${region}`;
    const setting = this.cpsSettings.get(key);
    if (setting === undefined) return { cps: trunk.config.cps[region] ?? trunk.config.cps.default, source: 'config', pending: undefined };
    if (setting.pending !== undefined && setting.pending.effectiveAtMs <= this.clock.now()) {
      setting.cps = setting.pending.cps;
      setting.pending = undefined;
    }
    return { cps: setting.cps, source: 'console', pending: setting.pending };
  }

  setCps(name: string, body: CpsChangeBody): AdminResult<TrunkView> {
    const trunk = this.current.directory.trunks.get(name);
    if (trunk === undefined) return { ok: false, status: 404, code: 'TRUNK_NOT_FOUND', message: `no trunk named "${name}"` };
    const region = body.region as Region;
    const current = this.cpsInForce(trunk, region).cps;
    const decision = decideCpsChange({
      accountType: trunk.account.type,
      current,
      requested: body.cps,
      selfServeMaxCps: this.config.cps.selfServeMaxCps,
      force: body.force ?? false,
      effective: body.effective ?? 'now',
      nowMs: this.clock.now(),
    });
    if (!decision.ok) {
      this.alerts.raise(21251, { trunk: name, detail: decision.message });
      return { ok: false, status: 403, code: decision.code, message: decision.message };
    }
    const key = `${trunk.name}:${region}`;
    if (decision.immediate) this.cpsSettings.set(key, { cps: body.cps, pending: undefined });
    else this.cpsSettings.set(key, { cps: current, pending: { cps: body.cps, effectiveAtMs: decision.effectiveAtMs } });
    this.log.info({ trunk: name, region, cps: body.cps, effective: body.effective ?? 'now' }, 'trunk CPS changed');
    return { ok: true, value: this.trunkView(trunk) };
  }

  // ------------------------------------------------------------ AdminApi views

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  ready(): boolean {
    return this.started && !this.draining;
  }

  trunks(): TrunkView[] {
    return [...this.current.directory.trunks.values()].map((t) => this.trunkView(t));
  }

  trunk(name: string): TrunkView | undefined {
    const t = this.current.directory.trunks.get(name);
    return t === undefined ? undefined : this.trunkView(t);
  }

  private trunkView(t: CompiledTrunk): TrunkView {
    const config = this.current.config;
    const now = this.clock.now();
    const trunkScope = t.leaseScopes[0];
    const accountScope = t.leaseScopes[1];
    return {
      name: t.name,
      terminationUri: `${t.name}.${config.sip.domainSuffix}`,
      account: { name: t.account.name, sid: t.account.sid ?? accountSid(t.account.name), type: t.account.type, legacy: t.account.legacy, active: t.account.active },
      homeRegion: t.config.region,
      route: t.config.route,
      cpsAlgorithm: config.cps.algorithm,
      regions: REGIONS.map((region) => {
        const inForce = this.cpsInForce(t, region);
        const limiter = this.cps.peek(`trunk:${t.name}:${region}`, { algorithm: config.cps.algorithm, cps: inForce.cps, burst: t.config.burst });
        return {
          region,
          cps: inForce.cps,
          source: inForce.source,
          pending: inForce.pending === undefined ? null : { cps: inForce.pending.cps, effectiveAt: new Date(inForce.pending.effectiveAtMs).toISOString() },
          available: limiter === undefined ? null : limiter.available(now),
          burst: limiter?.burst ?? Math.max(1, t.config.burst ?? Math.ceil(inForce.cps)),
        };
      }),
      pooledCps: t.account.pooledCps === undefined ? null : { ...t.account.pooledCps },
      concurrency: {
        active: this.tracker.count(`trunk:${t.name}`),
        trunkCap: trunkScope?.cap ?? null,
        accountActive: this.tracker.count(`account:${t.account.name}`),
        accountCap: accountScope?.cap ?? null,
      },
      auth: { ipAcl: [...t.config.auth.ipAcl], credentialUsernames: t.config.auth.credentials.map((c) => c.username) },
      maxCallDurationSeconds: t.maxDurationMs / 1000,
      pstnAnswerAfterMs: t.config.route === 'builtin' ? config.pstn.answerAfterMs : null,
    };
  }

  calls(): CallView[] {
    return [...this.b2bua.calls.values()].map((c) => ({
      id: c.id,
      trunk: c.info.trunk,
      account: c.info.account,
      region: c.info.region,
      edge: c.info.edge ?? null,
      route: c.info.route,
      state: c.state,
      from: c.caller,
      to: c.called,
      createdAt: new Date(c.createdAt).toISOString(),
      answeredAt: c.answeredAt === undefined ? null : new Date(c.answeredAt).toISOString(),
    }));
  }

  hangup(id: string): boolean {
    return this.b2bua.hangup(id);
  }

  listAlerts(since?: { time?: number; seq?: number }): Alert[] {
    return this.alerts.list(since);
  }
}

/** An account's SID when the config gives none (SPEC §7.2: "generated if absent"): stable across restarts. */
export function accountSid(name: string): string {
  return 'AC' + createHash('md5').update(`trunkgate account ${name}`).digest('hex');
}

function listenSpecs(config: Config): ListenSpec[] {
  return config.sip.listen.map((url) => {
    const r = parseListenUrl(url);
    if (!r.ok) throw new Error(r.reason);
    return r.spec;
  });
}

function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(hostPort.slice(i + 1)) };
}

export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(options);
}
