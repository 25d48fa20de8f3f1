/**
 * The composition root: builds transport → transactions → UA core → front
 * door → B2BUA → PSTN emulator / carriers, the metrics and the HTTP admin
 * API, wires each layer to the next at construction, and owns start-up,
 * reload, drain and shutdown. No globals: tests start as many gateways as
 * they like, on port 0.
 */
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { AlertLog } from './alerts/alert-log.js';
import { B2bua } from './b2bua/b2bua.js';
import { httpListenAddress, transportOptions as sipTransportOptions } from './config/listen.js';
import type { ConfigResult } from './config/load.js';
import { restartOnlyChanges } from './config/restart-only.js';
import { exposureWarnings, sourceRatePolicy } from './config/security.js';
import { type Config, redactedStoreUrl } from './config/schema.js';
import { type Result, errorOf, errorWithDetails } from './errors.js';
import { Admin } from './http/admin.js';
import type { ReloadView } from './http/admin-api.js';
import { startHttpServer } from './http/server.js';
import { type Clock, systemClock } from './limits/clock.js';
import { ConcurrencyTracker } from './limits/concurrency.js';
import { SourceRateLimiter } from './limits/source-rate-limiter.js';
import type { LimitStore } from './limits/limit-store.js';
import { GatewayMetrics } from './metrics/metrics.js';
import { Observability } from './observability/observability.js';
import { metricsSources } from './metrics/sources.js';
import { PstnEmulator } from './pstn/emulator.js';
import { createLimitStore } from './store/create.js';
import { RtpSink } from './pstn/rtp-sink.js';
import { UserAgentCore } from './sip/dialog/index.js';
import { TransactionLayer } from './sip/transaction/index.js';
import { type BoundListener, TransportLayer } from './sip/transport/index.js';
import type { TransportName } from './sip/message/index.js';
import type { AdmissionContext } from './termination/admission.js';
import { CpsConsole } from './termination/cps-console.js';
import { DigestAuth } from './termination/digest.js';
import { DigestGuard } from './termination/digest-guard.js';
import { Directory } from './termination/directory.js';
import { FrontDoor, PROVIDER_TRYING_REASON } from './termination/front-door.js';
import { VERSION } from './version.js';
import { VoiceMetrics } from './metrics/voice-metrics.js';
import { VoiceEngine } from './voice/voice-engine.js';
import { ClientDomain } from './clients/client-domain.js';
import { DomainRouter } from './clients/domain-router.js';
import { Registrar } from './clients/registrar.js';
import { ClientMetrics } from './metrics/client-metrics.js';
import { TransferLegs } from './b2bua/transfer-legs.js';
import { OriginationMetrics } from './metrics/origination-metrics.js';
import { Origination } from './origination/origination.js';
import { OriginationPlan } from './origination/plan.js';

export { VERSION };

export interface GatewayOptions {
  config: Config;
  /** Produces the configuration again for a reload (SIGHUP, POST /v1/reload); no reload without it. */
  reloadConfig?: () => ConfigResult;
  logger?: Logger;
  /** Start the HTTP server (default true). */
  http?: boolean;
  /** What reads time: limiters, digest nonces, alert and call times (default: the system clock). */
  clock?: Clock;
}

export class Gateway {
  readonly log: Logger;
  readonly clock: Clock;
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly core: UserAgentCore;
  readonly alerts: AlertLog;
  readonly tracker = new ConcurrencyTracker();
  /** Digest authentication with the ban on password guessing. */
  readonly auth: DigestGuard;
  /** Per-source request-rate limiting (security.sourceRateLimit), asked by the transport. */
  readonly sourceLimiter: SourceRateLimiter;
  /** Checks 12-14's state: this process's (memory), or shared through Redis (limits.store). */
  readonly limits: LimitStore;
  readonly cpsConsole: CpsConsole;
  /** Where SDP answers point: accepts and discards RTP. */
  readonly rtp: RtpSink;
  readonly emulator: PstnEmulator;
  readonly b2bua: B2bua;
  readonly frontDoor: FrontDoor;
  /** Programmable Voice: the Calls API, its CPS queues, webhooks and TwiML. */
  readonly voice: VoiceEngine;
  /** Clients' registrations, and the client domains that take their REGISTERs and INVITEs. */
  readonly registrar: Registrar;
  readonly clientDomain: ClientDomain;
  /** The inbound side: calls towards the PBX through the trunks' origination URIs, and load runs. */
  readonly origination: Origination;
  readonly registry = new Registry();
  readonly metrics: GatewayMetrics;
  readonly admin: Admin;
  /** The message store, HEP export, refusal and SIP trace logs, the status page's figures. */
  readonly observability: Observability;
  /** Shutting down: new INVITEs get 503 with Retry-After, /readyz 503. */
  draining = false;
  private current: { config: Config; directory: Directory; context: AdmissionContext };
  private http: { app: FastifyInstance; port: number; host: string } | undefined;
  private started = false;

  constructor(private readonly options: GatewayOptions) {
    const config = options.config;
    const log = (this.log = options.logger ?? pino({ level: 'silent' }));
    const clock = (this.clock = options.clock ?? systemClock);
    this.alerts = new AlertLog(1000, () => clock.now());
    this.auth = new DigestGuard(new DigestAuth({ now: () => clock.now() }), clock, this.alerts);
    this.sourceLimiter = new SourceRateLimiter(sourceRatePolicy(config), clock);
    const store = createLimitStore({
      limits: config.limits,
      instance: config.instance,
      tracker: this.tracker,
      clock,
      alerts: this.alerts,
      logger: log.child({ layer: 'limits' }),
      leaseScopes: () => this.directory.leaseScopes(),
    });
    this.limits = store.limits;
    this.cpsConsole = new CpsConsole(clock, this.alerts, store.consoleSettings);
    this.current = this.compile(config);

    const transportOptions = sipTransportOptions(config, log.child({ layer: 'transport' }));
    this.transport = new TransportLayer({ ...transportOptions, requestGate: this.sourceLimiter });
    this.transactions = new TransactionLayer(this.transport, { timers: config.sip.timers, tryingReason: PROVIDER_TRYING_REASON, logger: log.child({ layer: 'transaction' }) });
    this.core = new UserAgentCore(this.transactions);
    const mediaHost = transportOptions.listen[0]?.host ?? '127.0.0.1';
    this.rtp = new RtpSink(mediaHost, this.transport.advertise(mediaHost));
    this.emulator = new PstnEmulator(config.pstn, this.rtp);
    this.b2bua = new B2bua({ core: this.core, emulator: this.emulator, media: this.rtp, alerts: this.alerts, clock, logger: log.child({ layer: 'b2bua' }) });
    this.frontDoor = new FrontDoor({
      calls: this.b2bua,
      alerts: this.alerts,
      context: () => this.current.context,
      tryingReason: PROVIDER_TRYING_REASON,
      draining: () => this.draining,
      logger: log.child({ layer: 'front-door' }),
    });
    this.registrar = new Registrar(config.sip.clientRegistration);
    this.voice = new VoiceEngine({ config, clock, alerts: this.alerts, tracker: this.tracker, parts: { core: this.core, emulator: this.emulator, media: this.rtp }, logger: log.child({ layer: 'voice' }), userAgent: `TwilioProxy/1.1 (trunkgate ${VERSION})`, registrar: this.registrar });
    this.clientDomain = new ClientDomain({ config, core: this.core, auth: this.auth, registrar: this.registrar, clock, calls: this.voice, logger: log.child({ layer: 'clients' }) });
    this.core.attach(new DomainRouter(this.clientDomain, this.frontDoor));

    const transferLegs = new TransferLegs(this.core, this.emulator, this.rtp, 180_000);
    this.origination = new Origination({ core: this.core, alerts: this.alerts, media: this.rtp, emulator: this.emulator, voice: this.voice, transferLegs, limits: this.limits, logger: log.child({ layer: 'origination' }) }, new OriginationPlan(config, this.current.directory));

    this.tracker.events.on('doubleRelease', (lease, reason) => log.error({ reason, firstReason: lease.releaseReason }, 'lease released twice: this is a bug'));
    this.auth.events.on('banned', (kind, ban) => log.warn({ kind, value: ban.key, failures: ban.failures, until: new Date(ban.untilMs).toISOString() }, 'digest: banned after too many failed attempts'));
    const directory = (): Directory => this.current.directory;
    const sources = metricsSources({ directory, cpsConsole: this.cpsConsole, tracker: this.tracker, frontDoor: this.frontDoor, transactions: this.transactions, alerts: this.alerts, auth: this.auth, limits: this.limits });
    const events = { transport: this.transport.events, frontDoor: this.frontDoor.events, b2bua: this.b2bua.events, limits: this.limits.events };
    this.metrics = new GatewayMetrics(this.registry, sources, events, VERSION, config.instance);
    new VoiceMetrics(this.registry, this.voice);
    new ClientMetrics(this.registry, { registrar: this.registrar, clientDomain: this.clientDomain, conferences: this.voice.conferences, clock });
    new OriginationMetrics(this.registry, this.origination, this.b2bua);
    this.observability = new Observability({ config: config.observability, log, now: () => clock.now(), ...events });
    this.admin = new Admin({
      directory,
      b2bua: this.b2bua,
      alerts: this.alerts,
      cpsConsole: this.cpsConsole,
      auth: this.auth,
      limits: this.limits,
      registry: this.registry,
      observability: this.observability,
      clock,
      ready: () => this.started && !this.draining,
      reload: () => this.reload(),
      voice: this.voice,
      clients: this.clientDomain,
      conferences: this.voice.conferenceApi,
      origination: this.origination,
    });
  }

  /** Compile a configuration: the directory (handing on the limit scopes) and the admission context over it. */
  private compile(config: Config): { config: Config; directory: Directory; context: AdmissionContext } {
    const directory = new Directory(config, this.current?.directory);
    const context: AdmissionContext = { directory, limits: this.limits, auth: this.auth, cpsFor: (t, r) => this.cpsConsole.inForce(t, r).cps };
    return { config, directory, context };
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

  get listeners(): BoundListener[] {
    return this.transport.listeners;
  }

  /** The bound address of the first listener of a transport (tests bind port 0). */
  address(transport: TransportName): BoundListener {
    const l = this.listeners.find((x) => x.transport === transport);
    if (l === undefined) throw new Error(`no ${transport} listener`);
    return l;
  }

  async start(): Promise<void> {
    await this.limits.start();
    await this.rtp.start();
    try {
      await this.transport.start();
      this.observability.start();
      if (this.options.http ?? true) {
        const { token, allowedHosts, metricsRequireToken } = this.config.http;
        this.http = await startHttpServer(this.admin, { ...httpListenAddress(this.config), token, allowedHosts, metricsRequireToken, logger: this.log.child({ layer: 'http' }) });
      }
    } catch (err) {
      await this.observability.stop();
      await this.transport.stop();
      await this.rtp.stop();
      await this.limits.stop();
      throw err;
    }
    this.started = true;
    for (const warning of exposureWarnings(this.config)) this.log.warn(warning);
    const limits = { store: redactedStoreUrl(this.config.limits.store), status: this.limits.state().status };
    this.log.info({ listen: this.listeners.map((l) => `${l.transport}://${l.address}:${l.port}`), http: this.httpAddress, instance: this.config.instance, limits }, 'trunkgate listening');
  }

  /**
   * Graceful stop (SIGTERM/SIGINT, SPEC §7.1): refuse new calls (503 with
   * Retry-After, /readyz 503), let calls end by themselves for up to
   * `shutdown.drainMs`, then BYE the rest and stop.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.voice.drain();
    this.origination.drain();
    const deadline = Date.now() + this.config.shutdown.drainMs;
    this.log.info({ activeCalls: this.b2bua.activeCalls, voiceCalls: this.voice.liveCalls, drainMs: this.config.shutdown.drainMs }, 'draining');
    while (this.b2bua.activeCalls + this.voice.liveCalls + this.origination.liveCalls > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.stop();
  }

  /** End every call (BYE both legs), give the BYEs a moment, then close everything. */
  async stop(): Promise<void> {
    this.draining = true;
    this.origination.stop();
    this.voice.stop();
    this.clientDomain.stop();
    this.b2bua.endAll();
    const deadline = Date.now() + 2000;
    while (this.transactions.size.client > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.transactions.terminateAll();
    await this.http?.app.close();
    this.http = undefined;
    await this.observability.stop();
    await this.transport.stop();
    await this.rtp.stop();
    await this.limits.stop();
    this.started = false;
  }

  /**
   * Swap in a new configuration: limits change atomically for new calls;
   * calls in progress keep their leases; calls on a removed trunk run until
   * they end. Listen addresses and transport limits need a restart (warned).
   */
  applyConfig(config: Config): string[] {
    const warnings = restartOnlyChanges(this.current.config, config);
    this.current = this.compile(config);
    this.transactions.timerConfig = { ...config.sip.timers };
    this.emulator.updateConfig(config.pstn);
    this.voice.applyConfig(config);
    this.clientDomain.applyConfig(config);
    this.origination.applyConfig(new OriginationPlan(config, this.current.directory));
    this.sourceLimiter.configure(sourceRatePolicy(config));
    this.observability.applyConfig(config.observability).catch((err: unknown) => this.log.error({ err }, 'applying the observability settings failed'));
    return warnings;
  }

  /** Read the configuration again and apply it; a bad one changes nothing (422 with every problem). */
  reload(): Result<ReloadView> {
    if (this.options.reloadConfig === undefined) return { ok: false, error: errorOf('RELOAD_UNAVAILABLE') };
    const result = this.options.reloadConfig();
    if (!result.ok) {
      this.metrics.configReload('failure');
      this.log.error({ problems: result.problems }, 'reload failed: the running configuration stays in place');
      return { ok: false, error: errorWithDetails('CONFIG_INVALID', result.problems, result.problems.length, 'reload; the running configuration stays in place') };
    }
    const warnings = this.applyConfig(result.config);
    this.metrics.configReload('success');
    this.log.info({ trunks: result.config.trunks.length, warnings }, 'configuration reloaded');
    return { ok: true, value: { trunks: result.config.trunks.length, accounts: result.config.accounts.length, warnings } };
  }
}

export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(options);
}
