/**
 * The transaction layer (RFC 3261 §17): creates, matches and owns every
 * client and server transaction, and hands the transaction user (TU) exactly
 * one copy of each new request.
 */
import type { Logger } from 'pino';
import {
  type SipMessage,
  type SipRequest,
  type SipResponse,
  SipHeaders,
  SipRequest as Request,
  createResponse,
  newBranch,
} from '../message/index.js';
import type { Destination, MessageReceiver, SipTransport } from '../transport/sip-transport.js';
import {
  type ClientTransaction,
  type ClientTransactionHandlers,
  type ClientTransactionHost,
  InviteClientTransaction,
  NonInviteClientTransaction,
} from './client-transactions.js';
import { clientKey, inviteKeyFor, serverKey } from './matching.js';
import {
  InviteServerTransaction,
  NonInviteServerTransaction,
  type ServerTransaction,
  type ServerTransactionHost,
} from './server-transactions.js';
import { DEFAULT_TIMERS, type TimerConfig } from './timers.js';

/** What sits above the transaction layer (the dialog layer / UA core). */
export interface TransactionUser {
  /**
   * A request that starts a new server transaction, or an ACK that matched
   * none (the ACK for a 2xx, §17.2.3; `tx` is then undefined). Called
   * synchronously: for an INVITE, the TU may `drop()` it here, before the
   * automatic `100 Trying` goes out.
   */
  onRequest(req: SipRequest, tx: ServerTransaction | undefined): void;
  /**
   * A CANCEL matched an INVITE server transaction in Proceeding; the 200 to the
   * CANCEL is already sent. If the TU has not sent a final response to the
   * INVITE when this returns, the layer answers it with 487.
   */
  onCancel?(invite: InviteServerTransaction, cancel: SipRequest): void;
  /** A response that matched no client transaction (e.g. a retransmitted 2xx after Timer M). */
  onStrayResponse?(res: SipResponse): void;
  /**
   * A new non-INVITE request the TU can answer at once without a transaction
   * (RFC 3261 §8.2.7 stateless UAS: OPTIONS pings, REGISTER refusals). Returning
   * a response means no state is kept: a retransmission is answered again.
   */
  statelessReply?(req: SipRequest): SipResponse | undefined;
}

export interface TransactionLayerOptions {
  timers?: Partial<TimerConfig>;
  /** Reason phrase of the automatic 100 (SPEC §4.1 uses the provider's). Default "Trying". */
  tryingReason?: string;
  logger?: Logger | undefined;
}

export interface SendRequestOptions {
  /** Reuse this branch (CANCEL, §9.1). Default: a new one. */
  branch?: string;
}

/**
 * Most ended INVITE transactions remembered at once (dropped ones, and ones
 * answered once), so their retransmissions are known: bounded under floods.
 * One forgotten early is harmless: its retransmission is taken as new and
 * answered (or dropped) again, still one datagram per datagram.
 */
const MAX_REMEMBERED = 10_000;

/** An INVITE transaction that ended at once: dropped (no `wire`), or answered once with `wire`. */
interface Remembered {
  /** performance.now() after which it is forgotten (64·T1 after it ended). */
  until: number;
  wire: Buffer | undefined;
}

export class TransactionLayer implements ServerTransactionHost, ClientTransactionHost, MessageReceiver {
  /** T1/T2/T4 for new transactions (a reload may change them; live ones keep theirs). */
  timerConfig: TimerConfig;
  private tu: TransactionUser | undefined;
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientTransaction>();
  /**
   * INVITE transactions that ended at once, by key: the ones the TU dropped
   * (SPEC §4.1: an unknown trunk gets no answer) and the ones it answered
   * once (`replyOnce`). Their retransmissions are absorbed (a dropped one's)
   * or answered again with the same bytes, never seen as new INVITEs; their
   * ACKs are absorbed. Oldest first; bounded.
   */
  private readonly remembered = new Map<string, Remembered>();
  private readonly tryingReason: string;
  private readonly log: Logger | undefined;
  /** Counters for the metrics layer and tests. */
  readonly stats = {
    retransmissionsAbsorbed: 0,
    strayResponses: 0,
    cancelsUnmatched: 0,
    statelessReplies: 0,
    /** Final responses sent once, without retransmissions or a wait for the ACK (`replyOnce`). */
    answeredOnce: 0,
    /** Retransmitted INVITEs of those, answered again with the same bytes (one for one). */
    answersRepeated: 0,
  };

  constructor(
    readonly transport: SipTransport,
    options: TransactionLayerOptions = {},
  ) {
    this.timerConfig = { ...DEFAULT_TIMERS, ...options.timers };
    this.tryingReason = options.tryingReason ?? 'Trying';
    this.log = options.logger;
    transport.attach(this);
  }

  /** Connect the transaction user (once; a second call throws). */
  attach(tu: TransactionUser): void {
    if (this.tu !== undefined) throw new Error('the transaction layer already has a transaction user');
    this.tu = tu;
  }

  private get user(): TransactionUser {
    if (this.tu === undefined) throw new Error('the transaction layer has no transaction user');
    return this.tu;
  }

  /** Live transactions (RFC 3261 §17: they end when their timers run out). */
  get size(): { server: number; client: number; total: number } {
    return { server: this.servers.size, client: this.clients.size, total: this.servers.size + this.clients.size };
  }

  // ------------------------------------------------------------ receiving

  receive(msg: SipMessage): void {
    if (msg.isRequest) this.receiveRequest(msg);
    else this.receiveResponse(msg);
  }

  private receiveRequest(req: SipRequest): void {
    const key = serverKey(req);
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      this.stats.retransmissionsAbsorbed++;
      if (req.method === 'ACK' && existing.kind === 'ist' && existing.state === 'accepted') {
        // RFC 6026 §7.1: an ACK matching an Accepted INVITE transaction goes to the TU.
        this.user.onRequest(req, undefined);
        return;
      }
      existing.receiveRequest(req);
      return;
    }
    if (req.method === 'ACK') {
      if (this.recall(key) !== undefined) {
        // the ACK of a refusal answered once: nothing waits for it
        this.stats.retransmissionsAbsorbed++;
        return;
      }
      // ACK for a 2xx: a transaction of its own, belongs to the dialog (§17.2.3, §13.2.2.4).
      this.user.onRequest(req, undefined);
      return;
    }
    if (req.method === 'CANCEL') {
      this.receiveCancel(req, key);
      return;
    }
    if (req.method === 'INVITE') {
      const known = this.recall(key);
      if (known !== undefined) {
        this.stats.retransmissionsAbsorbed++;
        if (known.wire !== undefined) {
          // answered once: answer this retransmission again, one datagram for one
          this.stats.answersRepeated++;
          this.transport.resend(known.wire, this.transport.responseDestination(req));
        }
        return;
      }
      const tx = new InviteServerTransaction(this, key, req);
      this.servers.set(key, tx);
      this.user.onRequest(req, tx);
      if (tx.dropped) {
        this.remember(key, undefined);
        return;
      }
      // §17.2.1 / SPEC §4.1: 100 Trying at once, unless the TU already answered.
      if (!tx.responded && tx.state === 'proceeding') tx.respond(createResponse(req, 100, this.tryingReason));
      return;
    }
    const stateless = this.user.statelessReply?.(req);
    if (stateless !== undefined) {
      this.stats.statelessReplies++;
      this.transport.send(stateless, this.transport.responseDestination(req));
      return;
    }
    const tx = new NonInviteServerTransaction(this, key, req);
    this.servers.set(key, tx);
    this.user.onRequest(req, tx);
  }

  /** The INVITE transaction of this key that ended at once, while it is remembered. */
  private recall(key: string): Remembered | undefined {
    const r = this.remembered.get(key);
    if (r === undefined) return undefined;
    if (r.until > performance.now()) return r;
    this.remembered.delete(key);
    return undefined;
  }

  private remember(key: string, wire: Buffer | undefined): void {
    if (this.remembered.size >= MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
    this.remembered.set(key, { until: performance.now() + 64 * this.timerConfig.t1Ms, wire });
  }

  /** ServerTransactionHost: an INVITE transaction answered once (`replyOnce`) and ended. */
  answeredOnce(tx: ServerTransaction, wire: Buffer): void {
    this.stats.answeredOnce++;
    this.remember(tx.key, wire);
  }

  /** §9.2: 200 to the CANCEL and 487 to the INVITE; 481 when no INVITE transaction matches. */
  private receiveCancel(cancel: SipRequest, key: string): void {
    const nist = new NonInviteServerTransaction(this, key, cancel);
    this.servers.set(key, nist);
    const invite = this.servers.get(inviteKeyFor(cancel));
    if (!(invite instanceof InviteServerTransaction)) {
      this.stats.cancelsUnmatched++;
      nist.reply(481);
      return;
    }
    nist.reply(200);
    if (invite.state !== 'proceeding') return;
    invite.cancelled = true;
    try {
      this.user.onCancel?.(invite, cancel);
    } finally {
      if (invite.state === 'proceeding') invite.reply(487);
    }
  }

  private receiveResponse(res: SipResponse): void {
    const tx = this.clients.get(clientKey(res));
    if (tx === undefined) {
      this.stats.strayResponses++;
      this.user.onStrayResponse?.(res);
      return;
    }
    tx.receiveResponse(res);
  }

  // ------------------------------------------------------------ sending

  /**
   * Send a request in a new client transaction. Adds our Via (with a new
   * branch and `rport`) on top, and Max-Forwards when missing.
   */
  sendRequest(req: SipRequest, dest: Destination, handlers: ClientTransactionHandlers, options?: SendRequestOptions): ClientTransaction {
    if (req.method === 'ACK') throw new Error('ACK is not sent in a client transaction; use sendAck');
    const branch = options?.branch ?? newBranch();
    this.addVia(req, dest, branch);
    const key = branch + '\u0000' + req.method;
    const tx =
      req.method === 'INVITE'
        ? new InviteClientTransaction(this, key, req, dest, handlers)
        : new NonInviteClientTransaction(this, key, req, dest, handlers);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Send an ACK for a 2xx (outside any transaction, §13.2.2.4). Returns the bytes, for resending. */
  sendAck(ack: SipRequest, dest: Destination): Buffer {
    this.addVia(ack, dest, newBranch());
    return this.transport.send(ack, dest);
  }

  /** Resend bytes returned by `sendAck` (a retransmitted 2xx arrived), or a 2xx the TU retransmits. */
  resend(wire: Buffer, dest: Destination): void {
    this.transport.resend(wire, dest);
  }

  /** CANCEL for an INVITE client transaction (§9.1): same branch, Request-URI, Call-ID, From, To, CSeq number, Route. */
  sendCancel(tx: InviteClientTransaction): void {
    const invite = tx.request;
    const h = new SipHeaders();
    for (const route of invite.headers.getAll('route')) h.append('Route', route);
    h.append('Max-Forwards', '70');
    h.append('From', invite.headers.get('from') ?? '');
    h.append('To', invite.headers.get('to') ?? '');
    h.append('Call-ID', invite.callId);
    h.append('CSeq', `${invite.cseq?.seq ?? 1} CANCEL`);
    const cancel = new Request('CANCEL', invite.uri, h);
    const branch = invite.topVia?.branch ?? newBranch();
    this.sendRequest(cancel, tx.destination, { onResponse: () => undefined }, { branch });
  }

  private addVia(req: SipRequest, dest: Destination, branch: string): void {
    req.headers.prepend('Via', `SIP/2.0/${dest.transport.toUpperCase()} ${this.transport.localHostPort(dest)};branch=${branch};rport`);
    if (!req.headers.has('max-forwards')) req.headers.append('Max-Forwards', '70');
  }

  removeServer(tx: ServerTransaction): void {
    if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
  }

  removeClient(tx: ClientTransaction): void {
    if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
  }

  /** End every transaction now (shutdown). */
  terminateAll(): void {
    for (const tx of [...this.servers.values()]) tx.terminate('shutdown');
    for (const tx of [...this.clients.values()]) tx.terminate('shutdown');
    this.log?.debug('all transactions terminated');
  }
}
