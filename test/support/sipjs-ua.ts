/**
 * SIP.js (0.21) user agents in Node for client tests over SIP-over-WebSocket (RFC 7118).
 *
 * - WebSocket: SIP.js's `Web.Transport` calls the global `new WebSocket(server, "sip")` and has no
 *   option to inject a constructor; Node 20 has no global WebSocket without `--experimental-websocket`.
 *   `installWebSocket()` puts the `ws` package's WebSocket on `globalThis` (only if none is there). It
 *   matters only inside the test process (vitest's forks pool gives every file its own process).
 * - Media: there is no WebRTC in Node, so `cannedSdhFactory()` gives SIP.js a SessionDescriptionHandler
 *   that offers/answers a fixed PCMU SDP and records the remote SDP. Signalling only; no RTP is sent.
 * - Every wait has a deadline; nothing sleeps a fixed time.
 */
import {
  type Core,
  Invitation,
  Inviter,
  Registerer,
  RegistererState,
  SessionState,
  UserAgent,
  type BodyAndContentType,
  type Session,
  type RegistererRegisterOptions,
  type SessionDescriptionHandler,
  type SessionDescriptionHandlerFactory,
  type UserAgentOptions,
} from 'sip.js';
import { WebSocket as WsWebSocket } from 'ws';

type IncomingResponse = Core.IncomingResponse;

// ---------------------------------------------------------------------------------------------------------------------
// WebSocket for SIP.js

/** Make `globalThis.WebSocket` the `ws` package's class when the runtime has none. Idempotent. */
export function installWebSocket(): void {
  const g = globalThis as { WebSocket?: unknown };
  if (g.WebSocket === undefined) g.WebSocket = WsWebSocket;
}

// ---------------------------------------------------------------------------------------------------------------------
// Deadlines

/** `promise`, or a rejection naming `what` after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve/reject exposed (Promise.withResolvers is Node 22+). */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a rejection nobody awaits is not an unhandled rejection
  return { promise, resolve, reject };
}

// ---------------------------------------------------------------------------------------------------------------------
// Canned session descriptions

export interface CannedSdpOptions {
  /** Address in c= and o= (default 127.0.0.1). */
  address?: string;
  /** RTP port in m= (default 40000 + a small counter; nothing listens there). */
  port?: number;
}

let nextPort = 40_000;

/** An SDP offering/answering PCMU (0) plus telephone-event (101), plain RTP/AVP. */
export function pcmuSdp(options: CannedSdpOptions = {}, version = 1): string {
  const address = options.address ?? '127.0.0.1';
  const port = options.port ?? (nextPort += 2);
  const sessionId = Math.floor(Math.random() * 1e9);
  return [
    'v=0',
    `o=- ${sessionId} ${version} IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** A SessionDescriptionHandler without media: fixed local SDP, records the remote one. */
export class CannedSessionDescriptionHandler implements SessionDescriptionHandler {
  readonly localSdp: string;
  /** Remote SDPs in the order SIP.js handed them over (offer or answer). */
  readonly remoteSdps: string[] = [];
  /** DTMF that SIP.js asked us to send (we only record it). */
  readonly dtmf: string[] = [];
  closed = false;

  constructor(options: CannedSdpOptions = {}) {
    this.localSdp = pcmuSdp(options);
  }

  get remoteSdp(): string | undefined {
    return this.remoteSdps.at(-1);
  }

  getDescription(): Promise<BodyAndContentType> {
    if (this.closed) return Promise.reject(new Error('session description handler closed'));
    return Promise.resolve({ body: this.localSdp, contentType: 'application/sdp' });
  }

  hasDescription(contentType: string): boolean {
    return contentType.toLowerCase() === 'application/sdp';
  }

  setDescription(sdp: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('session description handler closed'));
    if (!/^v=0/m.test(sdp) || !/^m=audio /m.test(sdp)) return Promise.reject(new Error('not an audio SDP'));
    this.remoteSdps.push(sdp);
    return Promise.resolve();
  }

  rollbackDescription(): Promise<void> {
    return Promise.resolve();
  }

  sendDtmf(tones: string): boolean {
    this.dtmf.push(tones);
    return true;
  }

  close(): void {
    this.closed = true;
  }
}

/** A factory for `UserAgentOptions.sessionDescriptionHandlerFactory`. */
export function cannedSdhFactory(options: CannedSdpOptions = {}): SessionDescriptionHandlerFactory {
  return () => new CannedSessionDescriptionHandler(options);
}

/** The canned handler of a session (after SIP.js created it: on invite() for an Inviter, on accept for an Invitation). */
export function sdhOf(session: Session): CannedSessionDescriptionHandler | undefined {
  const sdh = session.sessionDescriptionHandler;
  return sdh instanceof CannedSessionDescriptionHandler ? sdh : undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Session state waits

/** Resolve when `session` reaches `state`; reject if it terminates first (unless waiting for Terminated). */
export function waitForSessionState(session: Session, state: SessionState, ms: number): Promise<void> {
  if (session.state === state) return Promise.resolve();
  if (session.state === SessionState.Terminated) return Promise.reject(new Error(`session terminated before ${state}`));
  const d = deferred<void>();
  const listener = (s: SessionState): void => {
    if (s === state) d.resolve();
    else if (s === SessionState.Terminated) d.reject(new Error(`session terminated before ${state}`));
  };
  session.stateChange.addListener(listener);
  return withDeadline(d.promise, ms, `session ${state}`).finally(() => session.stateChange.removeListener(listener));
}

/** Hang up whatever the session's state: CANCEL (early outgoing), 486/480 reject (early incoming), BYE (established). */
export async function hangup(session: Session, rejectCode = 480): Promise<void> {
  switch (session.state) {
    case SessionState.Initial:
    case SessionState.Establishing:
      if (session instanceof Inviter) await session.cancel();
      else if (session instanceof Invitation) await session.reject({ statusCode: rejectCode });
      return;
    case SessionState.Established:
      await session.bye();
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The user agent

/** What to do with an incoming INVITE: answer it, reject it with a code, or let the test decide (`ring`). */
export type IncomingPolicy = 'answer' | 'ring' | { reject: number };

export interface SipJsUaOptions {
  /** User part of the AoR (`alice` in sip:alice@domain). */
  identity: string;
  /** Host part of the AoR: the client domain. */
  domain: string;
  /** `ws://host:port` (or wss://). */
  server: string;
  /** Digest credentials (username defaults to the identity). */
  password?: string;
  authorizationUsername?: string;
  displayName?: string;
  /** Registration Expires (default 600). */
  expires?: number;
  /** Default 'answer'. Incoming calls always appear in `incoming` / `nextIncoming()`. */
  incoming?: IncomingPolicy;
  /** Default deadline for the waits of this UA, in ms (default 5000). */
  deadlineMs?: number;
  /** Seconds before SIP.js itself answers 480 to an unanswered INVITE (SIP.js default 60). */
  noAnswerTimeout?: number;
  /** Keep SIP.js's log lines in `logs` (traceSip adds every message sent and received). */
  traceSip?: boolean;
  /** Extra SIP.js options (override ours). */
  userAgentOptions?: Partial<UserAgentOptions>;
}

/** An outgoing call placed by `SipJsUa.call()`. */
export interface OutgoingCall {
  inviter: Inviter;
  /** Status codes of provisional responses, in order. */
  provisional: number[];
  /** The final response's status code (2xx when answered); rejects on deadline or transport failure. */
  final(ms?: number): Promise<number>;
  /** Resolves when the call is answered (2xx + ACK), rejects if it ends first. */
  established(ms?: number): Promise<void>;
  /** Resolves when the session has ended (BYE either way, CANCEL, rejection). */
  terminated(ms?: number): Promise<void>;
  /** CANCEL or BYE, whichever fits. */
  hangup(): Promise<void>;
  /** The remote (answer) SDP, once there is one. */
  remoteSdp(): string | undefined;
}

/** An incoming call as the UA saw it. */
export interface IncomingCall {
  invitation: Invitation;
  /** `From` / `To` URIs as strings, and the Request-URI. */
  from: string;
  to: string;
  requestUri: string;
  /** The raw INVITE header value, e.g. `header('X-Foo')`. */
  header(name: string): string | undefined;
  accept(): Promise<void>;
  reject(statusCode?: number): Promise<void>;
  established(ms?: number): Promise<void>;
  terminated(ms?: number): Promise<void>;
  hangup(): Promise<void>;
  remoteSdp(): string | undefined;
}

export class SipJsUa {
  readonly options: SipJsUaOptions;
  readonly userAgent: UserAgent;
  readonly registerer: Registerer;
  readonly aor: string;
  readonly incoming: IncomingCall[] = [];
  readonly logs: string[] = [];
  /** Status codes of the final responses to this UA's REGISTERs, in order (after digest retries). */
  readonly registerResponses: number[] = [];
  private readonly incomingWaiters: Array<(c: IncomingCall) => void> = [];
  private incomingPolicy: IncomingPolicy;

  constructor(options: SipJsUaOptions) {
    installWebSocket();
    this.options = options;
    this.incomingPolicy = options.incoming ?? 'answer';
    this.aor = `sip:${options.identity}@${options.domain}`;
    const uri = UserAgent.makeURI(this.aor);
    if (!uri) throw new Error(`bad AoR ${this.aor}`);
    this.userAgent = new UserAgent({
      uri,
      transportOptions: { server: options.server, traceSip: options.traceSip ?? false, connectionTimeout: 5 },
      ...(options.password !== undefined
        ? { authorizationUsername: options.authorizationUsername ?? options.identity, authorizationPassword: options.password }
        : {}),
      ...(options.displayName !== undefined ? { displayName: options.displayName } : {}),
      sessionDescriptionHandlerFactory: cannedSdhFactory(),
      noAnswerTimeout: options.noAnswerTimeout ?? 60,
      logBuiltinEnabled: false,
      logLevel: options.traceSip ? 'log' : 'warn',
      logConnector: (level, category, label, content) => {
        this.logs.push(`${level} ${category}${label ? `(${label})` : ''}: ${content}`);
      },
      reconnectionAttempts: 0,
      delegate: { onInvite: (invitation) => this.onInvite(invitation) },
      ...options.userAgentOptions,
    });
    this.registerer = new Registerer(this.userAgent, { expires: options.expires ?? 600 });
  }

  private get deadline(): number {
    return this.options.deadlineMs ?? 5000;
  }

  /** Open the WebSocket (rejects if the server does not accept it). */
  async start(): Promise<void> {
    await withDeadline(this.userAgent.start(), this.deadline, `WebSocket connect to ${this.options.server}`);
  }

  /** REGISTER (with digest if challenged); resolves on 2xx, rejects with the final status otherwise. */
  register(ms = this.deadline): Promise<void> {
    return this.sendRegister((options) => this.registerer.register(options), ms);
  }

  /** REGISTER with Expires 0 for our contact. */
  unregister(ms = this.deadline): Promise<void> {
    return this.sendRegister((options) => this.registerer.unregister(options), ms);
  }

  private async sendRegister(send: (options: RegistererRegisterOptions) => Promise<unknown>, ms: number): Promise<void> {
    const d = deferred<void>();
    const final = (r: IncomingResponse): number => {
      const code = r.message.statusCode ?? 0;
      this.registerResponses.push(code);
      return code;
    };
    await send({
      requestDelegate: {
        onAccept: (r) => {
          final(r);
          d.resolve();
        },
        onReject: (r) => {
          const code = final(r);
          d.reject(Object.assign(new Error(`REGISTER rejected: ${code} ${r.message.reasonPhrase ?? ''}`), { statusCode: code }));
        },
      },
    });
    await withDeadline(d.promise, ms, `REGISTER response for ${this.aor}`);
  }

  /** Change what happens to the next incoming INVITEs. */
  setIncomingPolicy(policy: IncomingPolicy): void {
    this.incomingPolicy = policy;
  }

  /** The next incoming call not yet taken by an earlier call of this method (or one already queued). */
  private taken = 0;
  nextIncoming(ms = this.deadline): Promise<IncomingCall> {
    const ready = this.incoming[this.taken];
    if (ready) {
      this.taken++;
      return Promise.resolve(ready);
    }
    const d = deferred<IncomingCall>();
    const waiter = (c: IncomingCall): void => {
      this.taken++;
      d.resolve(c);
    };
    this.incomingWaiters.push(waiter);
    return withDeadline(d.promise, ms, `an INVITE to ${this.aor}`).catch((e: Error) => {
      const i = this.incomingWaiters.indexOf(waiter);
      if (i >= 0) this.incomingWaiters.splice(i, 1);
      throw e;
    });
  }

  private onInvite(invitation: Invitation): void {
    const call = this.wrapIncoming(invitation);
    this.incoming.push(call);
    const waiter = this.incomingWaiters.shift();
    if (waiter) waiter(call);
    const policy = this.incomingPolicy;
    if (policy === 'answer') call.accept().catch((e: Error) => this.logs.push(`error accept: ${e.message}`));
    else if (policy !== 'ring') call.reject(policy.reject).catch((e: Error) => this.logs.push(`error reject: ${e.message}`));
  }

  private wrapIncoming(invitation: Invitation): IncomingCall {
    const req = invitation.request;
    return {
      invitation,
      from: req.from.uri.toString(),
      to: req.to.uri.toString(),
      requestUri: req.ruri?.toString() ?? '',
      header: (name) => req.getHeader(name),
      accept: () => invitation.accept(),
      reject: (statusCode = 486) => invitation.reject({ statusCode }),
      established: (ms = this.deadline) => waitForSessionState(invitation, SessionState.Established, ms),
      terminated: (ms = this.deadline) => waitForSessionState(invitation, SessionState.Terminated, ms),
      hangup: () => hangup(invitation),
      remoteSdp: () => sdhOf(invitation)?.remoteSdp,
    };
  }

  /** Send an INVITE to `target` (a full URI, or a user part that gets `@domain`). */
  async call(target: string, options: { extraHeaders?: string[]; withoutSdp?: boolean } = {}): Promise<OutgoingCall> {
    const uri = UserAgent.makeURI(target.includes(':') ? target : `sip:${target}@${this.options.domain}`);
    if (!uri) throw new Error(`bad target ${target}`);
    const inviter = new Inviter(this.userAgent, uri, {
      ...(options.extraHeaders ? { extraHeaders: options.extraHeaders } : {}),
      ...(options.withoutSdp ? { inviteWithoutSdp: true } : {}),
    });
    const provisional: number[] = [];
    const final = deferred<number>();
    await inviter.invite({
      requestDelegate: {
        onProgress: (r) => provisional.push(r.message.statusCode ?? 0),
        onAccept: (r) => final.resolve(r.message.statusCode ?? 0),
        onReject: (r) => final.resolve(r.message.statusCode ?? 0),
        onRedirect: (r) => final.resolve(r.message.statusCode ?? 0),
      },
    });
    // A transport error or timeout ends the session without a final response: fail `final` then.
    // SIP.js moves the Inviter to Terminated *before* it calls requestDelegate.onReject, so look a tick later.
    inviter.stateChange.addListener((s) => {
      if (s === SessionState.Terminated) setImmediate(() => final.reject(new Error('session terminated without a final response')));
    });
    return {
      inviter,
      provisional,
      final: (ms = this.deadline) => withDeadline(final.promise, ms, `final response to INVITE ${target}`),
      established: (ms = this.deadline) => waitForSessionState(inviter, SessionState.Established, ms),
      terminated: (ms = this.deadline) => waitForSessionState(inviter, SessionState.Terminated, ms),
      hangup: () => hangup(inviter),
      remoteSdp: () => sdhOf(inviter)?.remoteSdp,
    };
  }

  /** Unregister if registered, end sessions, close the WebSocket. */
  async stop(): Promise<void> {
    if (this.registerer.state === RegistererState.Registered) {
      await this.unregister().catch(() => undefined);
    }
    await this.registerer.dispose().catch(() => undefined);
    await withDeadline(this.userAgent.stop(), this.deadline, `stop ${this.aor}`);
  }
}

/** Build and start a UA, and register it unless `register: false`. */
export async function startSipJsUa(options: SipJsUaOptions & { register?: boolean }): Promise<SipJsUa> {
  const ua = new SipJsUa(options);
  await ua.start();
  if (options.register !== false) {
    try {
      await ua.register();
    } catch (e) {
      await ua.stop().catch(() => undefined);
      throw e;
    }
  }
  return ua;
}
