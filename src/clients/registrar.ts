/**
 * The registrar of clients (RFC 3261 §10.3, RFC 5626 flows; SPEC §10): the
 * bindings of each identity (`sip:<identity>@<account>.<clientDomainSuffix>`)
 * to the contacts its devices registered, with their expiry, and whether an
 * identity is in a call (a client in a call is busy: 486).
 *
 * Pure state and rules, with time passed in: the SIP side (client-domain.ts)
 * reads the REGISTER, authenticates it and answers; tests drive expiry with
 * a fake clock. A binding remembers the flow its REGISTER came on: requests
 * to the client go back over that flow (a WebSocket client cannot be reached
 * any other way), and the binding is dropped when the flow closes.
 */
import { EventEmitter } from 'node:events';
import type { TransportName } from '../sip/message/index.js';
import type { Destination } from '../sip/transport/index.js';

/** A contact as the REGISTER carried it. */
export interface ContactRequest {
  /** The URI inside `<…>`, as written. */
  uri: string;
  /** Its `expires` parameter, if any. */
  expires: number | undefined;
  /** RFC 5626: `+sip.instance` and `reg-id`, when the client uses outbound. */
  instance: string | undefined;
  regId: string | undefined;
}

export interface RegisterRequest {
  account: string;
  identity: string;
  /** The contacts, or `*` (remove every binding: only with Expires 0). */
  contacts: ContactRequest[] | '*';
  /** The Expires header, if any. */
  expiresHeader: number | undefined;
  callId: string;
  cseq: number;
  /** The flow the REGISTER came on: where requests to the client go. */
  flow: Destination;
  userAgent: string | undefined;
}

export interface RegistrarPolicy {
  minExpiresSeconds: number;
  maxExpiresSeconds: number;
  maxBindingsPerIdentity: number;
}

export interface Binding {
  readonly account: string;
  readonly identity: string;
  /** The registered contact URI: the Request-URI of requests to the client. */
  readonly contact: string;
  readonly instance: string | undefined;
  readonly regId: string | undefined;
  flow: Destination;
  callId: string;
  cseq: number;
  userAgent: string | undefined;
  /** ms, the registrar's clock. */
  registeredAt: number;
  expiresAt: number;
}

export type RemovalReason = 'unregistered' | 'expired' | 'flow-closed' | 'replaced' | 'removed';
export const REMOVAL_REASONS: readonly RemovalReason[] = ['unregistered', 'expired', 'flow-closed', 'replaced', 'removed'];

export type RegisterOutcome =
  | { ok: true; bindings: readonly Binding[]; added: readonly Binding[]; outbound: boolean }
  | { ok: false; status: 400 | 423 | 500; reason: string; headers: Array<readonly [string, string]> };

export interface RegistrarEventMap {
  added: [binding: Binding];
  refreshed: [binding: Binding];
  removed: [binding: Binding, reason: RemovalReason];
}

/** The default expiry of a contact that states none (RFC 3261 §10.2.1.1: 3600 s). */
export const DEFAULT_EXPIRES_SECONDS = 3600;

function keyOf(account: string, identity: string): string {
  return `${account}\u0000${identity}`;
}

/**
 * RFC 3261 §19.1.4, for what matters here: scheme and host compare without
 * case, the user part as written; parameters are ignored.
 */
export function sameContact(a: string, b: string): boolean {
  const norm = (u: string): string => {
    const semi = u.indexOf(';');
    const base = semi === -1 ? u : u.slice(0, semi);
    const at = base.lastIndexOf('@');
    if (at === -1) return base.toLowerCase();
    const colon = base.indexOf(':');
    return `${base.slice(0, colon + 1).toLowerCase()}${base.slice(colon + 1, at)}${base.slice(at).toLowerCase()}`;
  };
  return norm(a) === norm(b);
}

export class Registrar {
  readonly events = new EventEmitter<RegistrarEventMap>();
  /** By account and identity: the bindings, oldest first. */
  private readonly bindings = new Map<string, Binding[]>();
  /** By connection id: the bindings registered over that flow. */
  private readonly byConnection = new Map<number, Set<Binding>>();
  /** Calls each identity is in (ringing or answered): more than 0 is busy. */
  private readonly calls = new Map<string, number>();
  private total = 0;

  constructor(private policy: RegistrarPolicy) {
    this.events.setMaxListeners(0);
  }

  configure(policy: RegistrarPolicy): void {
    this.policy = policy;
  }

  /** Registered bindings, every identity together (expired ones count until swept). */
  get count(): number {
    return this.total;
  }

  /**
   * A REGISTER that passed authentication (RFC 3261 §10.3 steps 6-8): add,
   * refresh or remove its contacts, and return every binding of the
   * identity for the 200's Contact list.
   */
  register(r: RegisterRequest, now: number): RegisterOutcome {
    this.sweepIdentity(r.account, r.identity, now);
    const key = keyOf(r.account, r.identity);
    const list = this.bindings.get(key) ?? [];
    const p = this.policy;
    if (r.contacts === '*') {
      if (r.expiresHeader !== 0) return { ok: false, status: 400, reason: 'Bad Request', headers: [['Warning', '399 trunkgate "Contact: * needs Expires: 0"']] };
      for (const b of [...list]) this.remove(b, 'unregistered');
      return { ok: true, bindings: [], added: [], outbound: false };
    }
    // check every contact first: a refused REGISTER changes nothing (§10.3 step 7)
    const planned: Array<{ c: ContactRequest; seconds: number; existing: Binding | undefined }> = [];
    for (const c of r.contacts) {
      const asked = c.expires ?? r.expiresHeader ?? DEFAULT_EXPIRES_SECONDS;
      if (asked !== 0 && asked < p.minExpiresSeconds) {
        return { ok: false, status: 423, reason: 'Interval Too Brief', headers: [['Min-Expires', String(p.minExpiresSeconds)]] };
      }
      const existing = list.find((b) => (c.instance !== undefined && c.regId !== undefined && b.instance === c.instance && b.regId === c.regId) || sameContact(b.contact, c.uri));
      if (existing !== undefined && existing.callId === r.callId && r.cseq <= existing.cseq) {
        return { ok: false, status: 500, reason: 'Server Internal Error', headers: [['Warning', '399 trunkgate "CSeq is not above the last REGISTER of this Call-ID"']] };
      }
      planned.push({ c, seconds: Math.min(asked, p.maxExpiresSeconds), existing });
    }
    const added: Binding[] = [];
    let outbound = false;
    for (const { c, seconds, existing } of planned) {
      if (c.instance !== undefined && c.regId !== undefined) outbound = true;
      if (seconds === 0) {
        if (existing !== undefined) this.remove(existing, 'unregistered');
        continue;
      }
      if (existing !== undefined && sameContact(existing.contact, c.uri)) {
        this.moveFlow(existing, r.flow);
        existing.callId = r.callId;
        existing.cseq = r.cseq;
        existing.userAgent = r.userAgent;
        existing.expiresAt = now + seconds * 1000;
        this.events.emit('refreshed', existing);
        continue;
      }
      // a new contact for this instance and reg-id (a reconnect, RFC 5626 §6) replaces the old flow's
      if (existing !== undefined) this.remove(existing, 'replaced');
      const binding: Binding = {
        account: r.account,
        identity: r.identity,
        contact: c.uri,
        instance: c.instance,
        regId: c.regId,
        flow: r.flow,
        callId: r.callId,
        cseq: r.cseq,
        userAgent: r.userAgent,
        registeredAt: now,
        expiresAt: now + seconds * 1000,
      };
      this.add(key, binding);
      added.push(binding);
      const mine = this.bindings.get(key) ?? [];
      while (mine.length > p.maxBindingsPerIdentity) this.remove(mine[0] as Binding, 'replaced');
    }
    return { ok: true, bindings: [...(this.bindings.get(key) ?? [])], added, outbound };
  }

  private add(key: string, b: Binding): void {
    let list = this.bindings.get(key);
    if (list === undefined) this.bindings.set(key, (list = []));
    list.push(b);
    this.total++;
    this.index(b);
    this.events.emit('added', b);
  }

  private index(b: Binding): void {
    const id = b.flow.connectionId;
    if (id === undefined) return;
    let set = this.byConnection.get(id);
    if (set === undefined) this.byConnection.set(id, (set = new Set()));
    set.add(b);
  }

  private unindex(b: Binding): void {
    const id = b.flow.connectionId;
    if (id === undefined) return;
    const set = this.byConnection.get(id);
    set?.delete(b);
    if (set?.size === 0) this.byConnection.delete(id);
  }

  private moveFlow(b: Binding, flow: Destination): void {
    this.unindex(b);
    b.flow = flow;
    this.index(b);
  }

  private remove(b: Binding, reason: RemovalReason): void {
    const key = keyOf(b.account, b.identity);
    const list = this.bindings.get(key);
    const i = list?.indexOf(b) ?? -1;
    if (list === undefined || i === -1) return;
    list.splice(i, 1);
    if (list.length === 0) this.bindings.delete(key);
    this.total--;
    this.unindex(b);
    this.events.emit('removed', b, reason);
  }

  private sweepIdentity(account: string, identity: string, now: number): void {
    const list = this.bindings.get(keyOf(account, identity));
    if (list === undefined) return;
    for (const b of [...list]) if (b.expiresAt <= now) this.remove(b, 'expired');
  }

  /** Drop every binding that has expired; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const list of [...this.bindings.values()]) {
      for (const b of [...list]) {
        if (b.expiresAt > now) continue;
        this.remove(b, 'expired');
        n++;
      }
    }
    return n;
  }

  /** A flow closed (its WebSocket or TCP connection): its bindings go (RFC 5626 §5.2). Returns how many. */
  flowClosed(connectionId: number): number {
    const set = this.byConnection.get(connectionId);
    if (set === undefined) return 0;
    const doomed = [...set];
    for (const b of doomed) this.remove(b, 'flow-closed');
    return doomed.length;
  }

  /** Drop the bindings of identities no longer configured (a reload). */
  retain(keep: (account: string, identity: string) => boolean): number {
    let n = 0;
    for (const list of [...this.bindings.values()]) {
      for (const b of [...list]) {
        if (keep(b.account, b.identity)) continue;
        this.remove(b, 'removed');
        n++;
      }
    }
    return n;
  }

  /** The identity's live bindings, newest registration last. */
  bindingsOf(account: string, identity: string, now: number): readonly Binding[] {
    this.sweepIdentity(account, identity, now);
    return this.bindings.get(keyOf(account, identity)) ?? [];
  }

  /** The binding a call to the identity rings: the most recently registered live one. */
  lookup(account: string, identity: string, now: number): Binding | undefined {
    const list = this.bindingsOf(account, identity, now);
    let newest: Binding | undefined;
    for (const b of list) if (newest === undefined || b.registeredAt >= newest.registeredAt) newest = b;
    return newest;
  }

  /** Every live binding. */
  list(now: number): Binding[] {
    this.sweep(now);
    return [...this.bindings.values()].flat();
  }

  // ------------------------------------------------------------ busy

  /** Whether the identity is in a call (ringing or answered). */
  isBusy(account: string, identity: string): boolean {
    return (this.calls.get(keyOf(account, identity)) ?? 0) > 0;
  }

  /** Calls in progress across every identity. */
  get callsInProgress(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c;
    return n;
  }

  /** The identity is in a call until the returned function is called (once; later calls do nothing). */
  occupy(account: string, identity: string): () => void {
    const key = keyOf(account, identity);
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.calls.get(key) ?? 1) - 1;
      if (n <= 0) this.calls.delete(key);
      else this.calls.set(key, n);
    };
  }
}

/** The transport a binding's flow uses (for views and metrics). */
export function bindingTransport(b: Binding): TransportName {
  return b.flow.transport;
}
