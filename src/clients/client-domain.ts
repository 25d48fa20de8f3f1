/**
 * The client domains (SPEC §10): requests whose Request-URI host is
 * `<account>.<sip.clientDomainSuffix>`. Clients (browser softphones over
 * WebSocket, or any SIP UA) REGISTER there with their identity's digest
 * password, and send their calls there; this application answers them.
 *
 * - REGISTER (RFC 3261 §10.3): challenged with 401 (`WWW-Authenticate`,
 *   MD5: what SIP.js and JsSIP answer), then the registrar adds, refreshes
 *   or removes the contacts and the 200 lists every binding with its
 *   `expires`. A binding lives on the flow its REGISTER came on and goes
 *   when that flow closes (RFC 5626 §5.2). A REGISTER to a trunk's
 *   termination domain is not ours: the front door answers it 405.
 * - INVITE from a client: challenged with 407 (`Proxy-Authenticate`) like a
 *   trunk's, then handed to the voice engine, which runs the account's
 *   client voice application (`accounts[].clientVoiceUrl`).
 * - Wrong passwords count toward the digest bans (issue 12), like a PBX's.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../limits/clock.js';
import type { UserAgentApplication, UserAgentCore } from '../sip/dialog/index.js';
import { type SipRequest, type TransportName, detach, isStandardMethod, parseNameAddr, parseUri, splitList } from '../sip/message/index.js';
import { type Destination, formatHostPort } from '../sip/transport/index.js';
import { InviteServerTransaction, type ServerTransaction } from '../sip/transaction/index.js';
import type { DigestGuard, DigestPolicy } from '../termination/digest-guard.js';
import type { Config } from '../config/schema.js';
import { type ClientAccount, ClientDirectory } from './client-directory.js';
import type { ContactRequest, Registrar } from './registrar.js';

/** Where authenticated INVITEs from clients go (the voice engine). */
export interface ClientCallHandler {
  /** Run the account's client voice application for this INVITE; the handler answers `tx`. */
  clientInvite(tx: InviteServerTransaction, caller: { account: ClientAccount; identity: string }): void;
  /** A CANCEL for such an INVITE, before it was answered (the transaction answers 487 after). */
  clientCancel(tx: InviteServerTransaction): void;
}

/** Outcomes of client REGISTERs and INVITEs, for metrics. */
export type ClientRequestOutcome = 'ok' | 'challenged' | 'forbidden' | 'interval_too_brief' | 'bad_request' | 'not_found' | 'server_error';
export const CLIENT_REQUEST_OUTCOMES: readonly ClientRequestOutcome[] = ['ok', 'challenged', 'forbidden', 'interval_too_brief', 'bad_request', 'not_found', 'server_error'];

export interface ClientDomainEventMap {
  request: [method: 'REGISTER' | 'INVITE', outcome: ClientRequestOutcome];
}

export interface ClientDomainOptions {
  config: Config;
  core: UserAgentCore;
  auth: DigestGuard;
  registrar: Registrar;
  clock: Clock;
  calls: ClientCallHandler;
  logger: Logger;
}

/** One registration as `GET /v1/clients` shows it. */
export interface RegistrationView {
  account: string;
  identity: string;
  aor: string;
  contact: string;
  transport: TransportName;
  /** Where the REGISTER came from: the flow requests to the client go over. */
  source: string;
  userAgent: string | null;
  registeredAt: string;
  expiresAt: string;
  expiresInSeconds: number;
  /** The identity is in a call (a call to it now gets 486). */
  inCall: boolean;
}

/** What the admin API reads (GET /v1/clients). */
export interface ClientsView {
  registrations(): RegistrationView[];
}

/** The methods a client domain takes, for Allow. */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO';

function statusOutcome(status: number): ClientRequestOutcome {
  switch (status) {
    case 423:
      return 'interval_too_brief';
    case 400:
      return 'bad_request';
    case 404:
      return 'not_found';
    default:
      return status >= 500 ? 'server_error' : 'forbidden';
  }
}

export class ClientDomain implements UserAgentApplication, ClientsView {
  readonly events = new EventEmitter<ClientDomainEventMap>();
  /** Connections with bindings on them, and how to stop watching each. */
  private readonly watched = new Map<number, () => void>();
  private directory: ClientDirectory;
  private digest: DigestPolicy;

  constructor(private readonly options: ClientDomainOptions) {
    this.directory = new ClientDirectory(options.config);
    this.digest = options.config.security.digest;
    options.registrar.configure(options.config.sip.clientRegistration);
  }

  /**
   * A reload: new domains, passwords and applications at once; the
   * registrations of identities no longer configured are dropped.
   */
  applyConfig(config: Config): void {
    const directory = (this.directory = new ClientDirectory(config));
    this.digest = config.security.digest;
    this.options.registrar.configure(config.sip.clientRegistration);
    const dropped = this.options.registrar.retain((account, identity) => directory.has(account, identity));
    if (dropped > 0) this.options.logger.info({ dropped }, 'reload: registrations of clients no longer configured were dropped');
  }

  /** Whether a request is for a client domain (its Request-URI host). */
  owns(req: SipRequest): boolean {
    if (!this.directory.mayName(req.uri)) return false;
    const host = req.requestUri?.host;
    return host !== undefined && this.directory.forHost(host) !== undefined;
  }

  registrations(): RegistrationView[] {
    const now = this.options.clock.now();
    const registrar = this.options.registrar;
    return registrar.list(now).map((b) => {
      const account = this.directory.byName.get(b.account);
      return {
        account: b.account,
        identity: b.identity,
        aor: `sip:${b.identity}@${account?.domain ?? b.account}`,
        contact: b.contact,
        transport: b.flow.transport,
        source: formatHostPort(b.flow.address, b.flow.port),
        userAgent: b.userAgent ?? null,
        registeredAt: new Date(b.registeredAt).toISOString(),
        expiresAt: new Date(b.expiresAt).toISOString(),
        expiresInSeconds: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
        inCall: registrar.isBusy(b.account, b.identity),
      };
    });
  }

  onRequest(req: SipRequest, tx: ServerTransaction): void {
    const account = this.directory.forHost(req.requestUri?.host ?? '');
    if (account === undefined) {
      tx.reply(404);
      return;
    }
    if (tx instanceof InviteServerTransaction) {
      this.onInvite(req, tx, account);
      return;
    }
    switch (req.method) {
      case 'REGISTER':
        this.onRegister(req, tx, account);
        return;
      case 'OPTIONS':
        tx.reply(200, undefined, { headers: [['Allow', ALLOW]] });
        return;
      case 'BYE':
      case 'UPDATE':
      case 'INFO':
        tx.reply(481);
        return;
      default:
        tx.reply(isStandardMethod(req.method) ? 405 : 501, undefined, { headers: [['Allow', ALLOW]] });
    }
  }

  onCancel(invite: InviteServerTransaction): void {
    this.options.calls.clientCancel(invite);
  }

  private policy(): DigestPolicy {
    return { ...this.digest, algorithms: ['MD5'] };
  }

  /** The identity a From or To names in this account's domain, when it is a configured client. */
  private identityOf(value: string | undefined, account: ClientAccount): string | undefined {
    if (value === undefined) return undefined;
    const na = parseNameAddr(value);
    if (!na.ok) return undefined;
    const uri = parseUri(na.value.uri);
    if (!uri.ok || (uri.uri.scheme !== 'sip' && uri.uri.scheme !== 'sips') || uri.uri.user === undefined) return undefined;
    if (uri.uri.host.toLowerCase() !== account.domain) return undefined;
    return account.clients.has(uri.uri.user) ? uri.uri.user : undefined;
  }

  // ------------------------------------------------------------ REGISTER

  private onRegister(req: SipRequest, tx: ServerTransaction, account: ClientAccount): void {
    const o = this.options;
    const identity = this.identityOf(req.headers.get('to'), account);
    // challenge first whoever asks: an unknown identity learns only 403, like a wrong password
    const credential = identity === undefined ? undefined : account.clients.get(identity);
    const verdict = o.auth.authenticate(req, credential === undefined ? [] : [credential], this.policy(), undefined, { header: 'authorization', rechallenge: true });
    if (!verdict.ok) {
      if (verdict.kind === 'challenge') {
        tx.reply(401, undefined, { headers: verdict.challenges.map((c) => ['WWW-Authenticate', c] as const) });
        this.events.emit('request', 'REGISTER', 'challenged');
      } else {
        tx.reply(403);
        this.events.emit('request', 'REGISTER', 'forbidden');
      }
      return;
    }
    if (identity === undefined || verdict.username !== identity || !account.active) {
      tx.reply(403);
      this.events.emit('request', 'REGISTER', 'forbidden');
      return;
    }
    const contacts = readContacts(req);
    if (contacts === undefined) {
      tx.reply(400, undefined, { headers: [['Warning', '399 trunkgate "a Contact header cannot be read"']] });
      this.events.emit('request', 'REGISTER', 'bad_request');
      return;
    }
    const now = o.clock.now();
    const expiresText = req.headers.get('expires');
    const expiresHeader = expiresText !== undefined && /^\d{1,10}$/.test(expiresText.trim()) ? Number(expiresText.trim()) : undefined;
    const source = req.source;
    if (source === undefined) throw new Error('a REGISTER without a source');
    const flow = { transport: source.transport, address: source.address, port: source.port, connectionId: source.connectionId };
    if (contacts.length === 0) {
      // a query (RFC 3261 §10.2.3): the current bindings
      this.replyBindings(tx, account.name, identity, now, false);
      this.events.emit('request', 'REGISTER', 'ok');
      return;
    }
    const outcome = o.registrar.register(
      {
        account: account.name,
        identity,
        contacts,
        expiresHeader,
        // copies: a binding outlives the message these strings were sliced from
        callId: detach(req.callId),
        cseq: req.cseq?.seq ?? 0,
        flow,
        userAgent: detachOptional(req.headers.get('user-agent')),
      },
      now,
    );
    if (!outcome.ok) {
      tx.reply(outcome.status, outcome.reason, { headers: outcome.headers });
      this.events.emit('request', 'REGISTER', statusOutcome(outcome.status));
      return;
    }
    for (const b of outcome.added) this.watch(b.flow);
    this.replyBindings(tx, account.name, identity, now, outcome.outbound);
    this.events.emit('request', 'REGISTER', 'ok');
  }

  private replyBindings(tx: ServerTransaction, account: string, identity: string, now: number, outbound: boolean): void {
    const headers: Array<readonly [string, string]> = [];
    for (const b of this.options.registrar.bindingsOf(account, identity, now)) {
      headers.push(['Contact', `<${b.contact}>;expires=${Math.max(1, Math.ceil((b.expiresAt - now) / 1000))}`]);
    }
    headers.push(['Date', new Date(now).toUTCString()]);
    if (outbound) headers.push(['Require', 'outbound']);
    tx.reply(200, undefined, { headers });
  }

  /** Drop the bindings of a connection when it closes. */
  private watch(flow: Destination): void {
    const id = flow.connectionId;
    if (id === undefined || this.watched.has(id)) return;
    const unwatch = this.options.core.watchFlow(flow, () => {
      this.watched.get(id)?.();
      this.watched.delete(id);
      const n = this.options.registrar.flowClosed(id);
      if (n > 0) this.options.logger.debug({ connectionId: id, bindings: n }, 'client flow closed: its registrations are gone');
    });
    this.watched.set(id, unwatch);
  }

  /** Stop watching flows (shutdown). */
  stop(): void {
    for (const unwatch of this.watched.values()) unwatch();
    this.watched.clear();
  }

  // ------------------------------------------------------------ INVITE

  private onInvite(req: SipRequest, tx: InviteServerTransaction, account: ClientAccount): void {
    const o = this.options;
    const identity = this.identityOf(req.headers.get('from'), account);
    const credential = identity === undefined ? undefined : account.clients.get(identity);
    const verdict = o.auth.authenticate(req, credential === undefined ? [] : [credential], this.policy(), undefined, { rechallenge: true });
    if (!verdict.ok) {
      if (verdict.kind === 'challenge') {
        tx.reply(407, undefined, { headers: verdict.challenges.map((c) => ['Proxy-Authenticate', c] as const) });
        this.events.emit('request', 'INVITE', 'challenged');
      } else {
        tx.reply(403);
        this.events.emit('request', 'INVITE', 'forbidden');
      }
      return;
    }
    if (identity === undefined || verdict.username !== identity || !account.active) {
      tx.reply(403);
      this.events.emit('request', 'INVITE', 'forbidden');
      return;
    }
    if (account.voiceUrl === null) {
      tx.reply(404, undefined, { headers: [['Warning', `399 trunkgate "account ${account.name} has no clientVoiceUrl: its clients cannot place calls"`]] });
      this.events.emit('request', 'INVITE', 'not_found');
      return;
    }
    this.events.emit('request', 'INVITE', 'ok');
    o.calls.clientInvite(tx, { account, identity });
  }
}

/** The Contact values of a REGISTER: `[]` for none (a query), `*`, or undefined when one cannot be read. */
export function readContacts(req: SipRequest): ContactRequest[] | '*' | undefined {
  const out: ContactRequest[] = [];
  let wildcard = false;
  for (const line of req.headers.getAll('contact')) {
    const parts: string[] = [];
    splitList(line, parts);
    for (const part of parts) {
      const na = parseNameAddr(part);
      if (!na.ok) return undefined;
      if (na.value.wildcard) {
        wildcard = true;
        continue;
      }
      const expires = na.value.params.get('expires');
      if (expires !== undefined && (expires === null || !/^\d{1,10}$/.test(expires))) return undefined;
      const instance = na.value.params.get('+sip.instance');
      const regId = na.value.params.get('reg-id');
      out.push({
        uri: detach(na.value.uri),
        expires: expires === undefined ? undefined : Number(expires),
        instance: instance === undefined || instance === null ? undefined : detach(instance),
        regId: regId === undefined || regId === null ? undefined : detach(regId),
      });
    }
  }
  if (wildcard) return out.length === 0 ? '*' : undefined;
  return out;
}

function detachOptional(s: string | undefined): string | undefined {
  return s === undefined ? undefined : detach(s);
}
