/**
 * The composition root: wires transport → transactions → UA core → the
 * application, and owns start-up and shutdown. No globals: tests start as
 * many gateways as they like, on port 0.
 */
import pino, { type Logger } from 'pino';
import { AnsweringUas } from './pstn/answering-uas.js';
import { RtpSink } from './pstn/rtp-sink.js';
import { UserAgentCore } from './sip/dialog/index.js';
import { type TimerConfig, TransactionLayer } from './sip/transaction/index.js';
import { type BoundListener, type ListenSpec, TransportLayer } from './sip/transport/index.js';

export interface GatewayOptions {
  sipListen: ListenSpec[];
  timers?: Partial<TimerConfig>;
  /** Reason phrase of the automatic 100 Trying (SPEC §4.1). */
  tryingReason?: string;
  tcpIdleTimeoutMs?: number;
  /** The stand-in answering UAS answers after this long (0: at once). */
  answerAfterMs?: number;
  logger?: Logger;
}

export const PROVIDER_TRYING_REASON = 'trying -- your call is important to us';

export class Gateway {
  readonly log: Logger;
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly core: UserAgentCore;
  readonly uas: AnsweringUas;
  private readonly rtp: RtpSink;

  constructor(options: GatewayOptions) {
    this.log = options.logger ?? pino({ level: 'silent' });
    this.transport = new TransportLayer({
      listen: options.sipListen,
      tcpIdleTimeoutMs: options.tcpIdleTimeoutMs,
      logger: this.log.child({ layer: 'transport' }),
    });
    this.transactions = new TransactionLayer(this.transport, {
      timers: options.timers,
      tryingReason: options.tryingReason ?? PROVIDER_TRYING_REASON,
      logger: this.log.child({ layer: 'transaction' }),
    });
    const mediaAddress = options.sipListen[0]?.host ?? '127.0.0.1';
    this.rtp = new RtpSink(mediaAddress);
    this.core = new UserAgentCore(this.transactions, { onRequest: () => undefined });
    this.uas = new AnsweringUas(this.core, { media: this.rtp, answerAfterMs: options.answerAfterMs });
    this.core.app = this.uas;
  }

  async start(): Promise<void> {
    await this.rtp.start();
    await this.transport.start();
    this.log.info({ listen: this.listeners.map((l) => `${l.transport}://${l.address}:${l.port}`) }, 'trunkgate listening');
  }

  async stop(): Promise<void> {
    this.uas.stopAll();
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
