/**
 * Programmable Voice (SPEC §10): the Calls resource behind the REST API —
 * create, list, fetch, update, delete — with each account's CPS queue, its
 * voice concurrency leases, and the calls it places (call-run.ts). The HTTP
 * side (src/http/voice-api.ts) only reads requests and writes responses;
 * everything the provider decides is decided here, as values.
 */
import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AlertLog } from '../alerts/alert-log.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../limits/clock.js';
import type { ClientAccount } from '../clients/client-directory.js';
import type { ClientCallHandler } from '../clients/client-domain.js';
import type { Registrar } from '../clients/registrar.js';
import { Conferences } from '../conference/conferences.js';
import type { ConcurrencyTracker, ReleaseReason } from '../limits/concurrency.js';
import type { InviteServerTransaction } from '../sip/transaction/index.js';
import { maxCallDurationMs } from '../termination/directory.js';
import { type CreateRequest, type FormParams, type ListRequest, readCreate, readList, readUpdate } from './api-params.js';
import { clientReacher } from './client-reach.js';
import { ConferenceApi } from './conference-api.js';
import { InboundLeg } from './inbound-leg.js';
import { QueueDriver } from './call-queue.js';
import { CallRun } from './call-run.js';
import type { FarLegParts } from './far-leg.js';
import { type ApiOutcome, type ApiResult, type ProviderError, providerError } from './provider-errors.js';
import type { RunContext } from './run-context.js';
import { StatusCallbacks } from './status-callbacks.js';
import { type VoiceAccount, VoiceAccounts } from './voice-accounts.js';
import { type CallDirection, type CallStatus, type CallTarget, VoiceCall, callResource } from './voice-call.js';
import { WebhookClient } from './webhooks.js';

export type ApiOperation = 'create' | 'list' | 'fetch' | 'update' | 'delete';
export const API_OPERATIONS: readonly ApiOperation[] = ['create', 'list', 'fetch', 'update', 'delete'];

export interface VoiceEventMap {
  /** Every authenticated or refused API request, by outcome (metrics). */
  apiRequest: [operation: ApiOperation | 'auth', outcome: ApiOutcome | 'success'];
  /** A queued call was placed after waiting `queueSeconds`. */
  placed: [account: string, queueSeconds: number];
  /** A call (API or `<Dial>` leg) ended. */
  ended: [account: string, status: CallStatus, direction: CallDirection];
}

export interface VoiceEngineOptions {
  config: Config;
  clock: Clock;
  alerts: AlertLog;
  tracker: ConcurrencyTracker;
  parts: FarLegParts;
  logger: Logger;
  /** The User-Agent of webhook requests. */
  userAgent: string;
  /** The clients' registrar: `<Dial><Client>` and `client:NAME` ring its bindings (none: no client is ever registered). */
  registrar?: Registrar | undefined;
}

export interface QueueView {
  account: string;
  accountSid: string;
  voiceCps: number;
  algorithm: string;
  depth: number;
  /** The most calls the queue takes (voice.queueMaxWaitSeconds × voiceCps). */
  capacity: number;
  queueMaxWaitSeconds: number;
  /** The estimated wait of a call created now (ms). */
  nextQueueTimeMs: number | null;
  oldestQueuedAt: string | null;
  /** The head waits because the account is at its voice concurrency cap. */
  waitingForConcurrency: boolean;
  concurrency: { active: number; cap: number | null };
  placed: number;
  expired: number;
  refused: number;
  canceled: number;
}

export interface QueuedCallView {
  sid: string;
  position: number;
  to: string;
  from: string;
  queuedAt: string;
  /** Expected total wait, as `queue_time` reports it (ms). */
  queueTimeMs: number;
}

type Resource = Record<string, unknown>;

/** An inbound call for the engine to run (SPEC §10, §11): a number's voice URL, or a trunk's disaster-recovery URL. */
export interface InboundVoiceRequest {
  /** The account's name. */
  account: string;
  /** The caller (E.164). */
  from: string;
  /** The number dialled. */
  to: string;
  url: string;
  method: 'GET' | 'POST';
  /**
   * Take a lease in the account's voice concurrency (a number's voice URL);
   * false when the call already holds one (a trunk's call sent to its
   * disaster-recovery URL keeps its trunk lease).
   */
  takeLease: boolean;
  /** The call's SID (CA…), when it has one already. */
  sid?: string;
  /** Called once, when the call ends (its TwiML hung up, or `hangup()`). */
  onEnded(status: CallStatus): void;
}

export type InboundVoiceResult = { ok: true; sid: string; hangup(): void } | { ok: false; reason: 'concurrency' | 'no-account' | 'stopped' };

function secretMatches(given: string, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Lease release reasons by how an API call ended. */
function releaseReason(status: CallStatus): ReleaseReason {
  switch (status) {
    case 'completed':
      return 'bye-callee';
    case 'canceled':
      return 'canceled';
    default:
      return 'rejected';
  }
}

export class VoiceEngine implements ClientCallHandler {
  readonly events = new EventEmitter<VoiceEventMap>();
  /** Every account's conference rooms (`<Dial><Conference>`, the Conferences and Participants resources). */
  readonly conferences: Conferences;
  /** The Conferences and Participants resources of the REST API. */
  readonly conferenceApi: ConferenceApi;
  /** Inbound calls (clients' INVITEs) by their INVITE transaction, for a CANCEL. */
  private readonly clientCalls = new WeakMap<InviteServerTransaction, CallRun>();
  readonly webhooks: WebhookClient;
  readonly callbacks: StatusCallbacks;
  private accounts: VoiceAccounts;
  private config: Config;
  /** Every call record by SID (API calls and `<Dial>` legs), until forgotten. */
  private readonly calls = new Map<string, VoiceCall>();
  /** Per account name: its records in creation order. */
  private readonly byAccount = new Map<string, Map<string, VoiceCall>>();
  /** Per account name: ended records, oldest first (forgotten past `voice.maxEndedCallsPerAccount`). */
  private readonly endedOrder = new Map<string, VoiceCall[]>();
  private readonly runs = new Map<VoiceCall, CallRun>();
  private readonly drivers = new Map<VoiceAccount['queue'], QueueDriver<VoiceCall>>();
  private readonly ctx: RunContext;
  private stopped = false;
  /** Inbound calls' end listeners. */
  private readonly inboundEnded = new Map<VoiceCall, (status: CallStatus) => void>();
  /** Counters for the /v1 view: calls cancelled through the API while queued. */
  readonly stats = { created: 0, placed: 0, ended: 0 };

  constructor(private readonly options: VoiceEngineOptions) {
    this.config = options.config;
    this.accounts = new VoiceAccounts(options.config);
    this.webhooks = new WebhookClient(() => this.config.voice.webhookTimeoutMs, options.userAgent);
    this.callbacks = new StatusCallbacks(this.webhooks, options.alerts, options.clock, (call) => this.authToken(call));
    this.conferences = new Conferences(options.config.voice.maxEndedConferencesPerAccount);
    this.ctx = {
      clients: clientReacher(options.registrar, options.clock, (account) => `${account}.${this.config.sip.clientDomainSuffix}`.toLowerCase()),
      conferences: this.conferences,
      parts: options.parts,
      clock: options.clock,
      alerts: options.alerts,
      webhooks: this.webhooks,
      callbacks: this.callbacks,
      log: options.logger,
      authToken: (call) => this.authToken(call),
      childCall: (parent, to, from, target) => this.childCall(parent, to, from, target),
      touched: (call) => {
        call.updatedAt = options.clock.now();
      },
      finished: (call) => this.finished(call),
    };
    this.conferenceApi = new ConferenceApi({
      clock: options.clock,
      conferences: this.conferences,
      config: () => this.config,
      place: (account, request, prepare) => this.placeOutbound(account, request, prepare),
      call: (account, sid) => this.find(account, sid),
      end: (call) => this.endCall(call),
    });
  }

  /** A reload: new credentials, CPS and caps at once; queues and leases carry over. */
  applyConfig(config: Config): void {
    this.config = config;
    this.conferences.configure(config.voice.maxEndedConferencesPerAccount);
    this.accounts = new VoiceAccounts(config, this.accounts);
    for (const account of this.accounts.all()) this.driverFor(account).kick();
  }

  /** The account's current auth token (webhook signatures). */
  private authToken(call: VoiceCall): string | undefined {
    return (this.accounts.byName.get(call.account.name) ?? call.account).config.authToken;
  }

  /** Calls placed and not ended. */
  get liveCalls(): number {
    return this.runs.size;
  }

  // ------------------------------------------------------------ authentication

  /**
   * HTTP Basic: the account SID and its auth token, or an API key SID and its
   * secret; the account in the path must be the credentials' account. Else
   * 20003 (401), or 20005 for an inactive account.
   */
  authenticate(accountSid: string, authorization: string | undefined): ApiResult<VoiceAccount> {
    const refuse = (e: ProviderError): ApiResult<VoiceAccount> => {
      this.events.emit('apiRequest', 'auth', e.outcome);
      return { ok: false, error: e };
    };
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    if (m === null) return refuse(providerError('AUTHENTICATE'));
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return refuse(providerError('AUTHENTICATE'));
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    let account: VoiceAccount | undefined;
    if (/^AC/i.test(user)) {
      const a = this.accounts.get(user);
      if (a !== undefined && secretMatches(password, a.config.authToken)) account = a;
    } else if (/^SK/i.test(user)) {
      const key = this.accounts.apiKeys.get(user.toLowerCase());
      if (key !== undefined && secretMatches(password, key.secret)) account = key.account;
    }
    if (account === undefined || account.sid.toLowerCase() !== accountSid.toLowerCase()) return refuse(providerError('AUTHENTICATE'));
    if (!account.config.active) return refuse(providerError('ACCOUNT_NOT_ACTIVE'));
    return { ok: true, value: account };
  }

  private result<T>(operation: ApiOperation, r: ApiResult<T>): ApiResult<T> {
    this.events.emit('apiRequest', operation, r.ok ? 'success' : r.error.outcome);
    return r;
  }

  // ------------------------------------------------------------ create

  create(account: VoiceAccount, form: FormParams): ApiResult<Resource> {
    const req = readCreate(form, account, this.config, maxCallDurationMs(account.config) / 1000);
    if (!req.ok) return this.result('create', req);
    const placed = this.placeOutbound(account, req.value);
    if (!placed.ok) return this.result('create', placed);
    return this.result('create', { ok: true, value: callResource(placed.value.call, placed.value.queueTimeMs) });
  }

  /**
   * Queue an API call (a created call, or a participant's) to be placed at
   * the account's CPS; `prepare` sees the call once it is queued. Refused
   * with 22005 when it would not be placed within voice.queueMaxWaitSeconds.
   */
  private placeOutbound(account: VoiceAccount, r: CreateRequest, prepare?: (call: VoiceCall) => void): ApiResult<{ call: VoiceCall; queueTimeMs: number }> {
    const now = this.options.clock.now();
    const call = new VoiceCall(account, r.to, r.from, r.target, r.options, 'outbound-api', undefined, now);
    if (!account.queue.offer(call)) {
      const q = account.queue;
      return {
        ok: false,
        error: providerError('QUEUE_FULL', `the call would not be placed within ${this.config.voice.queueMaxWaitSeconds} s (${q.depth} calls queued at ${q.settings.cps} CPS)`),
      };
    }
    if (r.twimlIgnored) this.options.alerts.raise(32019, { callId: call.sid });
    this.remember(call);
    this.stats.created++;
    const estimate = account.queue.estimateWaitMs(account.queue.depth - 1, now);
    prepare?.(call);
    if (!this.stopped) this.driverFor(account).kick();
    return { ok: true, value: { call, queueTimeMs: call.queueTimeMs ?? estimate } };
  }

  // ------------------------------------------------------------ clients' calls (inbound)

  /**
   * A client's authenticated INVITE (SPEC §10): an inbound call of its
   * account, counted in the account's voice concurrency (at the cap: 503),
   * that runs the account's client voice application. The calling client is
   * busy while it lasts.
   */
  clientInvite(tx: InviteServerTransaction, caller: { account: ClientAccount; identity: string }): void {
    const account = this.accounts.byName.get(caller.account.name);
    const url = caller.account.voiceUrl;
    if (account === undefined || url === null || this.stopped) {
      tx.reply(503, undefined, { headers: [['Retry-After', '30']] });
      return;
    }
    const acquired = this.options.tracker.tryAcquire([account.leaseScope]);
    if (!acquired.ok) {
      this.options.logger.info({ account: account.name, client: caller.identity, active: acquired.active }, 'client call refused: the account is at its voice concurrency cap');
      tx.reply(503, undefined, { headers: [['Retry-After', '5']] });
      return;
    }
    const now = this.options.clock.now();
    const req = tx.request;
    const options = {
      source: { kind: 'url' as const, url, method: caller.account.voiceMethod },
      fallbackUrl: undefined,
      fallbackMethod: 'POST' as const,
      statusCallback: undefined,
      statusCallbackMethod: 'POST' as const,
      statusCallbackEvents: new Set<never>(),
      timeoutSeconds: 60,
      timeLimitSeconds: maxCallDurationMs(account.config) / 1000,
    };
    const call = new VoiceCall(account, req.requestUri?.user ?? '', `client:${caller.identity}`, { kind: 'client', identity: caller.identity }, options, 'inbound', undefined, now);
    call.dequeued = true;
    call.queueTimeMs = 0;
    call.lease = acquired.lease;
    this.remember(call);
    const run = new CallRun(this.ctx, call);
    this.runs.set(call, run);
    this.clientCalls.set(tx, run);
    run.startInbound(new InboundLeg(this.options.parts.core, this.options.parts.emulator, tx), this.ctx.clients.occupy(account.name, caller.identity));
  }

  clientCancel(tx: InviteServerTransaction): void {
    this.clientCalls.get(tx)?.callerCancelled();
  }

  /** End a call whatever its state (a participant removed through the API): queued ones leave the queue, others hang up. */
  private endCall(call: VoiceCall): void {
    if (call.ended) return;
    const run = this.runs.get(call);
    if (run !== undefined) {
      run.complete();
      return;
    }
    if (call.account.queue.remove(call)) {
      call.dequeued = true;
      call.status = 'canceled';
      call.updatedAt = this.options.clock.now();
      this.finished(call);
    }
  }

  private remember(call: VoiceCall): void {
    this.calls.set(call.sid, call);
    let mine = this.byAccount.get(call.account.name);
    if (mine === undefined) this.byAccount.set(call.account.name, (mine = new Map<string, VoiceCall>()));
    mine.set(call.sid, call);
  }

  private childCall(parent: VoiceCall, to: string, from: string, target: CallTarget): VoiceCall {
    const now = this.options.clock.now();
    const options = { ...parent.options, statusCallback: undefined, statusCallbackEvents: new Set<never>() };
    const child = new VoiceCall(parent.account, to, from, target, options, 'outbound-dial', parent.sid, now);
    child.dequeued = true;
    child.queueTimeMs = 0;
    this.remember(child);
    return child;
  }

  // ------------------------------------------------------------ inbound calls

  /**
   * Answer an inbound call with its TwiML (SPEC §10: each inbound call is a
   * webhook): not queued, not CPS-limited; it counts in the account's voice
   * concurrency when `takeLease` (refused at the cap: not delivered).
   */
  inbound(r: InboundVoiceRequest): InboundVoiceResult {
    if (this.stopped) return { ok: false, reason: 'stopped' };
    const account = this.accounts.byName.get(r.account);
    if (account === undefined) return { ok: false, reason: 'no-account' };
    const now = this.options.clock.now();
    const options = {
      source: { kind: 'url' as const, url: r.url, method: r.method },
      fallbackUrl: undefined,
      fallbackMethod: 'POST' as const,
      statusCallback: undefined,
      statusCallbackMethod: 'POST' as const,
      statusCallbackEvents: new Set<never>(),
      timeoutSeconds: 60,
      timeLimitSeconds: maxCallDurationMs(account.config) / 1000,
    };
    const call = new VoiceCall(account, r.to, r.from, { kind: 'pstn', number: r.from }, options, 'inbound', undefined, now, r.sid);
    if (r.takeLease) {
      const acquired = this.options.tracker.tryAcquire([account.leaseScope]);
      if (!acquired.ok) return { ok: false, reason: 'concurrency' };
      call.lease = acquired.lease;
    }
    call.dequeued = true;
    call.queueTimeMs = 0;
    this.remember(call);
    this.inboundEnded.set(call, (status) => r.onEnded(status));
    const run = new CallRun(this.ctx, call);
    this.runs.set(call, run);
    run.startInboundNumber();
    return { ok: true, sid: call.sid, hangup: () => run.complete() };
  }

  // ------------------------------------------------------------ the queue

  private driverFor(account: VoiceAccount): QueueDriver<VoiceCall> {
    let driver = this.drivers.get(account.queue);
    if (driver !== undefined) return driver;
    const scope = account.leaseScope;
    driver = new QueueDriver(account.queue, this.options.clock, {
      canPlace: () => scope.cap === null || scope.active < scope.cap,
      place: (call) => this.place(call),
      expire: (call) => this.expire(call),
    });
    this.drivers.set(account.queue, driver);
    return driver;
  }

  private place(call: VoiceCall): void {
    const now = this.options.clock.now();
    call.dequeued = true;
    const acquired = this.options.tracker.tryAcquire([call.account.leaseScope]);
    if (!acquired.ok) throw new Error(`voice lease refused after canPlace() for ${call.account.name}: a bug`);
    call.lease = acquired.lease;
    call.queueTimeMs = now - call.queuedAt;
    this.stats.placed++;
    this.events.emit('placed', call.account.name, call.queueTimeMs / 1000);
    const run = new CallRun(this.ctx, call);
    this.runs.set(call, run);
    run.start();
  }

  /** Queued longer than `voice.queueMaxWaitSeconds`: cancelled, no callbacks (SPEC §10). */
  private expire(call: VoiceCall): void {
    call.dequeued = true;
    call.status = 'canceled';
    call.updatedAt = this.options.clock.now();
    this.options.logger.info({ call: call.sid, account: call.account.name, queuedSeconds: (call.updatedAt - call.queuedAt) / 1000 }, 'queued call cancelled: it waited longer than voice.queueMaxWaitSeconds');
    this.finished(call);
  }

  /** Every ending comes here once: the lease goes back, the record is kept (bounded), the queue moves. */
  private finished(call: VoiceCall): void {
    call.lease?.release(releaseReason(call.status));
    // a participant whose call ended before it joined its room: the room hears it never came
    const planned = call.conference;
    if (planned !== undefined) this.conferences.abandon(planned.room, call.sid, this.options.clock.now());
    this.runs.delete(call);
    const inbound = this.inboundEnded.get(call);
    if (inbound !== undefined) {
      this.inboundEnded.delete(call);
      inbound(call.status);
    }
    this.stats.ended++;
    this.events.emit('ended', call.account.name, call.status, call.direction);
    let ended = this.endedOrder.get(call.account.name);
    if (ended === undefined) this.endedOrder.set(call.account.name, (ended = []));
    ended.push(call);
    const max = this.config.voice.maxEndedCallsPerAccount;
    while (ended.length > max) {
      const old = ended.shift() as VoiceCall;
      this.forget(old);
    }
    if (call.lease !== undefined && !this.stopped) {
      const driver = this.drivers.get(call.account.queue);
      if (driver !== undefined) setImmediate(() => driver.kick());
    }
  }

  private forget(call: VoiceCall): void {
    this.calls.delete(call.sid);
    this.byAccount.get(call.account.name)?.delete(call.sid);
  }

  /** `queue_time` for a call: what it waited once placed; for a queued call, its wait so far plus the estimate. */
  private queueTimeOf(call: VoiceCall, now: number): number {
    if (call.queueTimeMs !== undefined) return call.queueTimeMs;
    if (call.dequeued) return call.updatedAt - call.queuedAt;
    const q = call.account.queue;
    const position = q.position(call);
    return now - call.queuedAt + (position < 0 ? 0 : q.estimateWaitMs(position, now));
  }

  private resource(call: VoiceCall, now: number): Resource {
    return callResource(call, this.queueTimeOf(call, now));
  }

  // ------------------------------------------------------------ fetch, list, update, delete

  private find(account: VoiceAccount, sid: string): VoiceCall | undefined {
    const call = this.calls.get(sid);
    return call !== undefined && call.account.name === account.name ? call : undefined;
  }

  private notFound(account: VoiceAccount, sid: string): ProviderError {
    return providerError('NOT_FOUND', `/2010-04-01/Accounts/${account.sid}/Calls/${sid}.json`);
  }

  fetch(account: VoiceAccount, sid: string): ApiResult<Resource> {
    const call = this.find(account, sid);
    if (call === undefined) return this.result('fetch', { ok: false, error: this.notFound(account, sid) });
    return this.result('fetch', { ok: true, value: this.resource(call, this.options.clock.now()) });
  }

  list(account: VoiceAccount, form: FormParams): ApiResult<Resource> {
    const req = readList(form);
    if (!req.ok) return this.result('list', req);
    const q = req.value;
    const now = this.options.clock.now();
    const all = [...(this.byAccount.get(account.name)?.values() ?? [])].reverse().filter((c) => matches(c, q));
    let start = q.page * q.pageSize;
    if (q.pageToken !== undefined) {
      const after = all.findIndex((c) => `PA${c.sid}` === q.pageToken);
      start = after === -1 ? all.length : after + 1;
    }
    const page = all.slice(start, start + q.pageSize);
    const base = `/2010-04-01/Accounts/${account.sid}/Calls.json`;
    const filters = new URLSearchParams();
    for (const [k, v] of form) if (k !== 'Page' && k !== 'PageSize' && k !== 'PageToken') filters.append(k, v);
    const uriFor = (extra: Record<string, string>): string => {
      const p = new URLSearchParams(filters);
      p.set('PageSize', String(q.pageSize));
      for (const [k, v] of Object.entries(extra)) p.set(k, v);
      return `${base}?${p.toString()}`;
    };
    const last = page[page.length - 1];
    const hasMore = last !== undefined && start + page.length < all.length;
    const self = new URLSearchParams(form);
    return this.result('list', {
      ok: true,
      value: {
        calls: page.map((c) => this.resource(c, now)),
        end: start + Math.max(page.length, 1) - 1,
        first_page_uri: uriFor({ Page: '0' }),
        next_page_uri: hasMore ? uriFor({ Page: String(q.page + 1), PageToken: `PA${last.sid}` }) : null,
        page: q.page,
        page_size: q.pageSize,
        previous_page_uri: q.page > 0 ? uriFor({ Page: String(q.page - 1) }) : null,
        start,
        uri: self.size === 0 ? base : `${base}?${self.toString()}`,
      },
    });
  }

  /**
   * Update (research §1.5): `Status=canceled` ends a queued or ringing call
   * (a call in progress is left alone); `Status=completed` ends it whatever
   * its state. A queued call removed this way ends `canceled` with no
   * callbacks. `Url`/`Twiml` redirect a call in progress at once; on a call
   * not yet answered they replace the TwiML it will run *(ours)*. A call that
   * has ended: 21220.
   */
  update(account: VoiceAccount, sid: string, form: FormParams): ApiResult<Resource> {
    const call = this.find(account, sid);
    if (call === undefined) return this.result('update', { ok: false, error: this.notFound(account, sid) });
    const req = readUpdate(form, maxCallDurationMs(account.config) / 1000);
    if (!req.ok) return this.result('update', req);
    const u = req.value;
    if (call.ended || call.direction === 'outbound-dial') {
      return this.result('update', { ok: false, error: providerError('INVALID_CALL_STATE', call.ended ? `the call is ${call.status}` : 'a <Dial> leg is ended through its parent call') });
    }
    const now = this.options.clock.now();
    if (u.twimlIgnored) this.options.alerts.raise(32019, { callId: call.sid });
    const o = u.options;
    call.options = {
      ...call.options,
      ...(o.fallbackUrl !== undefined ? { fallbackUrl: o.fallbackUrl } : {}),
      ...(o.fallbackMethod !== undefined ? { fallbackMethod: o.fallbackMethod } : {}),
      ...(o.statusCallback !== undefined ? { statusCallback: o.statusCallback } : {}),
      ...(o.statusCallbackMethod !== undefined ? { statusCallbackMethod: o.statusCallbackMethod } : {}),
    };
    const run = this.runs.get(call);
    if (u.status !== undefined) {
      if (run === undefined) {
        // still queued: removed, no callbacks
        if (call.account.queue.remove(call)) {
          call.dequeued = true;
          call.status = 'canceled';
          call.updatedAt = now;
          this.finished(call);
        }
      } else if (u.status === 'canceled') run.cancel();
      else run.complete();
    }
    if (!call.ended) {
      if (u.source !== undefined) {
        if (run === undefined) call.options = { ...call.options, source: u.source };
        else run.redirect(u.source);
      }
      if (u.timeLimitSeconds !== undefined) {
        if (run === undefined) call.options = { ...call.options, timeLimitSeconds: u.timeLimitSeconds };
        else run.setTimeLimit(u.timeLimitSeconds);
      }
    }
    call.updatedAt = now;
    return this.result('update', { ok: true, value: this.resource(call, now) });
  }

  /** Delete an ended call's record (204). A live call is refused with 21220 *(ours)*: end it first. */
  remove(account: VoiceAccount, sid: string): ApiResult<null> {
    const call = this.find(account, sid);
    if (call === undefined) return this.result('delete', { ok: false, error: this.notFound(account, sid) });
    if (!call.ended) return this.result('delete', { ok: false, error: providerError('INVALID_CALL_STATE', `the call is ${call.status}; end it with Status=completed before deleting it`) });
    this.forget(call);
    const ended = this.endedOrder.get(account.name);
    const i = ended?.indexOf(call) ?? -1;
    if (i >= 0) ended?.splice(i, 1);
    return this.result('delete', { ok: true, value: null });
  }

  // ------------------------------------------------------------ views, shutdown

  queueViews(): QueueView[] {
    const now = this.options.clock.now();
    return this.accounts.all().map((a) => {
      const q = a.queue;
      const head = q.peek();
      const next = q.depth < q.capacity ? q.estimateWaitMs(q.depth, now) : null;
      return {
        account: a.name,
        accountSid: a.sid,
        voiceCps: q.settings.cps,
        algorithm: q.settings.algorithm,
        depth: q.depth,
        capacity: q.capacity,
        queueMaxWaitSeconds: q.settings.maxWaitMs / 1000,
        nextQueueTimeMs: next === null || !Number.isFinite(next) ? null : next,
        oldestQueuedAt: head === undefined ? null : new Date(head.queuedAt).toISOString(),
        waitingForConcurrency: q.blockedByConcurrency,
        concurrency: { active: a.leaseScope.active, cap: a.leaseScope.cap },
        placed: q.stats.placed,
        expired: q.stats.expired,
        refused: q.stats.refused,
        canceled: q.stats.removed,
      };
    });
  }

  queuedCalls(accountName: string): QueuedCallView[] | undefined {
    const a = this.accounts.all().find((x) => x.name === accountName);
    if (a === undefined) return undefined;
    const now = this.options.clock.now();
    let position = 0;
    const out: QueuedCallView[] = [];
    for (const call of a.queue.queued()) {
      out.push({
        sid: call.sid,
        position,
        to: call.to,
        from: call.from,
        queuedAt: new Date(call.queuedAt).toISOString(),
        queueTimeMs: now - call.queuedAt + a.queue.estimateWaitMs(position, now),
      });
      position++;
    }
    return out;
  }

  /** Queue depth and the estimated wait of the last queued call, per account (metrics). */
  queueState(): Array<{ account: string; depth: number; tailWaitSeconds: number; active: number; cap: number | null }> {
    const now = this.options.clock.now();
    return this.accounts.all().map((a) => ({
      account: a.name,
      depth: a.queue.depth,
      tailWaitSeconds: a.queue.depth === 0 ? 0 : a.queue.estimateWaitMs(a.queue.depth - 1, now) / 1000,
      active: a.leaseScope.active,
      cap: a.leaseScope.cap,
    }));
  }

  /** Stop placing calls (draining): what is queued stays queued. */
  drain(): void {
    this.stopped = true;
    for (const d of this.drivers.values()) d.stop();
  }

  /**
   * Shutdown: calls still queued are reported in the log with their SIDs
   * (nothing is dropped silently); calls in progress are hung up.
   */
  stop(): void {
    this.drain();
    for (const a of this.accounts.all()) {
      if (a.queue.depth === 0) continue;
      const sids = [...a.queue.queued()].map((c) => c.sid);
      this.options.logger.warn({ account: a.name, queued: sids.length, sids }, 'shutdown: these queued calls were never placed');
    }
    for (const run of [...this.runs.values()]) run.shutdown();
  }
}

function matches(c: VoiceCall, q: ListRequest): boolean {
  if (q.to !== undefined && c.to !== q.to) return false;
  if (q.from !== undefined && c.from !== q.from) return false;
  if (q.parentCallSid !== undefined && c.parentCallSid !== q.parentCallSid) return false;
  if (q.status !== undefined && c.status !== q.status) return false;
  if (!inRange(c.startTime, q.startTime)) return false;
  if (!inRange(c.endTime, q.endTime)) return false;
  return true;
}

function inRange(t: number | undefined, r: { after?: number; before?: number }): boolean {
  if (r.after === undefined && r.before === undefined) return true;
  if (t === undefined) return false;
  return (r.after === undefined || t >= r.after) && (r.before === undefined || t < r.before);
}
