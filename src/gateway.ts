/**
 * The composition root: wires transport → transactions → UA core → front
 * door → B2BUA → PSTN emulator / carriers, and owns start-up and shutdown.
 * No globals: tests start as many gateways as they like, on port 0.
 */
import pino, { type Logger } from 'pino';
import { AlertLog } from './alerts/alert-log.js';
import { B2bua } from './b2bua/b2bua.js';
import type { Config } from './config/schema.js';
import { ConcurrencyTracker } from './limits/concurrency.js';
import { PstnEmulator } from './pstn/emulator.js';
import { RtpSink } from './pstn/rtp-sink.js';
import { UserAgentCore } from './sip/dialog/index.js';
import { TransactionLayer } from './sip/transaction/index.js';
import { type BoundListener, type ListenSpec, TransportLayer, parseListenUrl } from './sip/transport/index.js';
import { Directory } from './termination/directory.js';
import { FrontDoor } from './termination/front-door.js';
import type { AdmissionContext } from './termination/admission.js';
import { DigestAuth } from './termination/digest.js';
import { CpsRegistry } from './limits/cps-registry.js';
import { type Clock, systemClock } from './limits/clock.js';

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
}

/** The provider's reason phrase for 100 (SPEC §4.1, seen on the wire). */
export const PROVIDER_TRYING_REASON = 'trying -- your call is important to us';

export class Gateway {
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
  /** CPS set through the Console-style API, per `trunk:region`; wins over the file until a reload. */
  readonly cpsOverrides = new Map<string, number>();
  /** Shutting down: new INVITEs get 503 with Retry-After. */
  draining = false;
  private current: { config: Config; directory: Directory };
  private readonly admissionContext: AdmissionContext;

  constructor(options: GatewayOptions) {
    const config = options.config;
    this.log = options.logger ?? pino({ level: 'silent' });
    this.current = { config, directory: new Directory(config) };
    const current = (): Directory => this.current.directory;
    this.admissionContext = {
      get directory() {
        return current();
      },
      tracker: this.tracker,
      cps: this.cps,
      digest: this.digest,
      cpsFor: (trunk, region) => this.cpsOverrides.get(`${trunk.name}:${region}`) ?? trunk.config.cps[region] ?? trunk.config.cps.default,
    };
    const listen: ListenSpec[] = config.sip.listen.map((url) => {
      const r = parseListenUrl(url);
      if (!r.ok) throw new Error(r.reason);
      return r.spec;
    });
    this.transport = new TransportLayer({
      listen,
      tcpIdleTimeoutMs: config.sip.tcpIdleTimeoutMs,
      maxMessageBytes: config.sip.maxMessageBytes,
      logger: this.log.child({ layer: 'transport' }),
    });
    this.transactions = new TransactionLayer(this.transport, {
      timers: config.sip.timers,
      tryingReason: PROVIDER_TRYING_REASON,
      logger: this.log.child({ layer: 'transaction' }),
    });
    this.rtp = new RtpSink(listen[0]?.host ?? '127.0.0.1');
    this.emulator = new PstnEmulator(config.pstn, this.rtp);
    this.tracker.onDoubleRelease = (lease, reason) =>
      this.log.error({ reason, firstReason: lease.releaseReason }, 'lease released twice: this is a bug');
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
  }

  get config(): Config {
    return this.current.config;
  }

  get directory(): Directory {
    return this.current.directory;
  }

  async start(): Promise<void> {
    await this.rtp.start();
    try {
      await this.transport.start();
    } catch (err) {
      await this.rtp.stop();
      throw err;
    }
    this.log.info({ listen: this.listeners.map((l) => `${l.transport}://${l.address}:${l.port}`) }, 'trunkgate listening');
  }

  /** End every call (BYE both legs), give the BYEs a moment, then close everything. */
  async stop(): Promise<void> {
    this.b2bua.endAll();
    const deadline = Date.now() + 2000;
    while (this.transactions.size.client > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.transactions.terminateAll();
    await this.transport.stop();
    await this.rtp.stop();
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
}

export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(options);
}
