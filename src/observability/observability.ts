/**
 * Watching calls (docs/http-api.md, docs/configuration.md `observability`):
 * the message store, HEP export, the SIP trace log, the refusal log and the
 * status page's traffic figures, all fed by the layers' events. Nothing here
 * changes how a call goes.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { B2buaEventMap } from '../b2bua/b2bua.js';
import type { ObservabilityConfig } from '../config/schema.js';
import { type SipRequest, detach } from '../sip/message/index.js';
import { type TransportEvents, type WireMessage, formatHostPort, parseListenUrl } from '../sip/transport/index.js';
import type { AdmissionDecision } from '../termination/admission.js';
import type { FrontDoorEventMap } from '../termination/front-door.js';
import { HepExporter } from './hep.js';
import { MessageStore, type MessageStoreBounds } from './message-store.js';
import { type Refusal, RefusalLog } from './refusal-log.js';
import { SipTrace } from './sip-trace.js';
import { Traffic } from './traffic.js';

export interface ObservabilityOptions {
  config: ObservabilityConfig;
  log: Logger;
  /** The gateway's clock (ms since the epoch). */
  now: () => number;
  transport: TransportEvents;
  frontDoor: EventEmitter<FrontDoorEventMap>;
  b2bua: EventEmitter<B2buaEventMap>;
  /** Shown by Homer as the node name. */
  nodeName?: string;
}

export class Observability {
  readonly store: MessageStore;
  readonly traffic: Traffic;
  readonly refusalLog: RefusalLog;
  private readonly trace: SipTrace;
  private hep: HepExporter | undefined;
  private config: ObservabilityConfig;
  private storing = false;
  private readonly record = (wire: WireMessage): void => this.store.record(wire);

  constructor(private readonly options: ObservabilityOptions) {
    const { config, log, now } = options;
    this.config = config;
    this.store = new MessageStore(bounds(config), now);
    this.traffic = new Traffic(now);
    this.refusalLog = new RefusalLog(log.child({ layer: 'front-door' }), config.refusalLogLinesPerSecond, now);
    this.trace = new SipTrace(log.child({ layer: 'sip' }));
    this.syncStore();
    if (this.trace.enabled) options.transport.on('wire', this.trace.write);
    this.hep = this.exporterFor(config);

    options.frontDoor.on('decision', (decision, req) => this.decided(decision, req));
    options.b2bua.on('callStarted', (call, carrierCallId) => this.store.associate(call.sipCallId, call.id, carrierCallId));
    options.b2bua.on('callEnded', (call, disposition) => this.store.ended(call.id, disposition));
  }

  /** Open the HEP socket, when a collector is configured. */
  start(): void {
    if (this.hep !== undefined) {
      this.hep.start();
      this.options.transport.on('wire', this.hep.send);
    }
  }

  async stop(): Promise<void> {
    this.refusalLog.stop();
    await this.stopHep();
  }

  /** A reload: new bounds, log rate and HEP collector take effect at once. */
  async applyConfig(config: ObservabilityConfig): Promise<void> {
    const hepChanged = config.hep !== this.config.hep || config.hepCaptureId !== this.config.hepCaptureId;
    this.config = config;
    this.store.setBounds(bounds(config));
    this.syncStore();
    this.refusalLog.setRate(config.refusalLogLinesPerSecond);
    if (hepChanged) {
      await this.stopHep();
      this.hep = this.exporterFor(config);
      this.start();
    }
  }

  /** The HEP exporter's counters, when one runs. */
  get hepStats(): { sent: number; failed: number } | undefined {
    return this.hep?.stats;
  }

  private exporterFor(config: ObservabilityConfig): HepExporter | undefined {
    if (config.hep === null) return undefined;
    const r = parseListenUrl(config.hep);
    if (!r.ok) throw new Error(r.reason); // the schema checked it
    return new HepExporter(
      { host: r.spec.host, port: r.spec.port },
      { captureId: config.hepCaptureId, nodeName: this.options.nodeName ?? 'trunkgate' },
      this.options.now,
      this.options.log.child({ layer: 'hep' }),
    );
  }

  private async stopHep(): Promise<void> {
    const hep = this.hep;
    if (hep === undefined) return;
    this.options.transport.off('wire', hep.send);
    this.hep = undefined;
    await hep.stop();
  }

  /** Listen to the wire only while the store keeps something (maxCalls 0 turns it off). */
  private syncStore(): void {
    const want = this.config.messageStore.maxCalls > 0;
    if (want === this.storing) return;
    this.storing = want;
    if (want) this.options.transport.on('wire', this.record);
    else this.options.transport.off('wire', this.record);
  }

  private decided(decision: AdmissionDecision, req: SipRequest): void {
    const match = decision.kind === 'drop' ? undefined : decision.match;
    const trunk = match?.trunk.name;
    const region = match?.region;
    if (match !== undefined) this.traffic.attempt(match.trunk.name, match.region, decision.kind === 'admit');
    if (decision.kind === 'admit') {
      this.store.decided(req.callId, trunk, region, { kind: 'admitted', disposition: undefined });
      return;
    }
    const callId = detach(req.callId);
    const source = req.source === undefined ? '' : formatHostPort(req.source.address, req.source.port);
    const refusal: Refusal =
      decision.kind === 'drop'
        ? { time: this.options.now(), status: 0, reason: 'the Request-URI host names no trunk', outcome: 'dropped', trunk, region, callId, source, alert: undefined }
        : { time: this.options.now(), status: decision.status, reason: decision.reason, outcome: decision.outcome, trunk, region, callId, source, alert: decision.alert };
    this.refusalLog.refused(refusal);
    this.traffic.refused(refusal);
    this.store.decided(
      req.callId,
      trunk,
      region,
      decision.kind === 'drop' ? { kind: 'dropped', reason: refusal.reason } : { kind: 'refused', status: decision.status, reason: decision.reason, outcome: decision.outcome },
    );
  }
}

function bounds(config: ObservabilityConfig): MessageStoreBounds {
  return { ...config.messageStore };
}
