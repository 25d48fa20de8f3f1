/**
 * Dialogs (RFC 3261 §12): identity, route set, remote target and CSeq state,
 * and construction of in-dialog requests.
 */
import { isIP } from 'node:net';
import {
  type SipRequest,
  type SipResponse,
  SipHeaders,
  SipRequest as Request,
  bareHost,
  detach,
  parseNameAddr,
  parseUri,
  splitList,
} from '../message/index.js';
import type { Destination } from '../transport/sip-transport.js';
import { DEFAULT_PORT, TRANSPORT_NAMES, type TransportName } from '../transport/listen-url.js';

export type DialogRole = 'uac' | 'uas';
export type DialogState = 'early' | 'confirmed' | 'terminated';

/** The key a dialog is found by: Call-ID, local tag, remote tag. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return callId + '\u0000' + localTag + '\u0000' + remoteTag;
}

export class Dialog {
  state: DialogState = 'early';
  localSeq: number;
  remoteSeq: number;
  /** Remote target: the URI of the peer's Contact. */
  remoteTarget: string;

  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our From (UAC) or To (UAS) header value, with our tag. */
  readonly localHeader: string;
  /** The peer's header value, with its tag. */
  readonly remoteHeader: string;
  /** Route set as URIs with their brackets, in the order requests carry them. */
  readonly routeSet: string[];

  private constructor(
    readonly role: DialogRole,
    callId: string,
    localTag: string,
    remoteTag: string,
    localHeader: string,
    remoteHeader: string,
    routeSet: string[],
    remoteTarget: string,
    /** Our Contact header value. */
    readonly localContact: string,
    /** The flow the dialog was set up on: in-dialog requests fall back to it. */
    readonly peer: Destination,
    localSeq: number,
    remoteSeq: number,
  ) {
    // copies: the dialog outlives the message these strings were sliced from
    this.callId = detach(callId);
    this.localTag = detach(localTag);
    this.remoteTag = detach(remoteTag);
    this.localHeader = detach(localHeader);
    this.remoteHeader = detach(remoteHeader);
    this.routeSet = routeSet.map(detach);
    this.remoteTarget = detach(remoteTarget);
    this.localSeq = localSeq;
    this.remoteSeq = remoteSeq;
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /** UAS side (§12.1.1): from the request and the tag our responses carry. */
  static asUas(req: SipRequest, localTag: string, localContact: string): Dialog {
    const source = req.source;
    if (source === undefined) throw new Error('a UAS dialog needs a received request');
    const toValue = req.headers.get('to') ?? '';
    const localHeader = req.toTag === undefined ? `${toValue};tag=${localTag}` : toValue;
    const routeSet = req.headers.getAll('record-route');
    return new Dialog(
      'uas',
      req.callId,
      localTag,
      req.fromTag ?? '',
      localHeader,
      req.headers.get('from') ?? '',
      routeSet,
      contactUri(req.headers.get('contact')) ?? req.uri,
      localContact,
      { transport: source.transport, address: source.address, port: source.port, connectionId: source.connectionId },
      0,
      req.cseq?.seq ?? 0,
    );
  }

  /** UAC side (§12.1.2): from the request we sent and a response with a To tag. */
  static asUac(req: SipRequest, res: SipResponse, localContact: string, peer: Destination): Dialog {
    const routeSet = res.headers.getAll('record-route').reverse();
    return new Dialog(
      'uac',
      req.callId,
      req.fromTag ?? '',
      res.toTag ?? '',
      req.headers.get('from') ?? '',
      res.headers.get('to') ?? '',
      routeSet,
      contactUri(res.headers.get('contact')) ?? req.uri,
      localContact,
      peer,
      req.cseq?.seq ?? 1,
      0,
    );
  }

  /** Update the remote target from a target-refresh request or its 2xx (§12.2). */
  refreshTarget(msg: SipRequest | SipResponse): void {
    const uri = contactUri(msg.headers.get('contact'));
    if (uri !== undefined) this.remoteTarget = detach(uri);
  }

  /**
   * Check and record the CSeq of an in-dialog request (§12.2.2). Returns
   * false when it is lower than one already seen (answer 500).
   */
  acceptRemoteSeq(req: SipRequest): boolean {
    const seq = req.cseq?.seq ?? 0;
    if (req.method === 'ACK' || req.method === 'CANCEL') return true;
    if (seq < this.remoteSeq && this.remoteSeq !== 0) return false;
    this.remoteSeq = seq;
    return true;
  }

  /**
   * A new in-dialog request (§12.2.1.1): Request-URI the remote target (loose
   * routing), Route from the route set, our tags, the next CSeq.
   */
  createRequest(method: string, extraHeaders?: ReadonlyArray<readonly [string, string]>, body?: Buffer, seq?: number): SipRequest {
    const h = new SipHeaders();
    let uri = this.remoteTarget;
    const routes = this.routeSet;
    const first = routes[0];
    let routeStart = 0;
    if (first !== undefined && !isLooseRoute(first)) {
      // strict routing (§12.2.1.1): the first route becomes the Request-URI
      uri = stripBrackets(first);
      routeStart = 1;
    }
    for (let i = routeStart; i < routes.length; i++) h.append('Route', routes[i] as string);
    if (routeStart === 1) h.append('Route', `<${this.remoteTarget}>`);
    h.append('Max-Forwards', '70');
    h.append('From', this.localHeader);
    h.append('To', this.remoteHeader);
    h.append('Call-ID', this.callId);
    const cseq = seq ?? (method === 'ACK' ? this.localSeq : ++this.localSeq);
    h.append('CSeq', `${cseq} ${method}`);
    if (method === 'INVITE' || method === 'UPDATE') h.append('Contact', this.localContact);
    if (extraHeaders !== undefined) for (const [n, v] of extraHeaders) h.append(n, v);
    return new Request(method, uri, h, body);
  }

  /** The ACK for a 2xx to the INVITE with CSeq `inviteSeq` (§13.2.2.4), with the answer to a late offer if any. */
  createAck(inviteSeq: number, body?: Buffer, contentType?: string): SipRequest {
    const headers: Array<readonly [string, string]> | undefined = body !== undefined && contentType !== undefined ? [['Content-Type', contentType]] : undefined;
    return this.createRequest('ACK', headers, body, inviteSeq);
  }

  /**
   * Where in-dialog requests go: the first Route if any, else the remote
   * target, when it names an IP address; otherwise back along the flow the
   * dialog came on.
   */
  get destination(): Destination {
    const target = this.routeSet[0] !== undefined ? stripBrackets(this.routeSet[0]) : this.remoteTarget;
    return uriDestination(target) ?? this.peer;
  }
}

/** The URI inside a Contact header value, or undefined. */
export function contactUri(contact: string | undefined): string | undefined {
  if (contact === undefined) return undefined;
  const parts: string[] = [];
  splitList(contact, parts);
  const first = parts[0];
  if (first === undefined) return undefined;
  const na = parseNameAddr(first);
  return na.ok && !na.value.wildcard ? na.value.uri : undefined;
}

function stripBrackets(route: string): string {
  const na = parseNameAddr(route);
  return na.ok ? na.value.uri : route.replace(/^<|>$/g, '');
}

function isLooseRoute(route: string): boolean {
  const uri = parseUri(stripBrackets(route));
  return uri.ok && uri.uri.params.has('lr');
}

/** A SIP URI naming an IP address, as a destination (transport from `;transport=`); never a WebSocket one. */
export function uriDestination(uriText: string): Destination | undefined {
  const r = parseUri(uriText);
  if (!r.ok || (r.uri.scheme !== 'sip' && r.uri.scheme !== 'sips')) return undefined;
  const uri = r.uri;
  const maddr = uri.params.get('maddr');
  const host = bareHost(maddr ?? uri.host);
  const address = host === 'localhost' ? '127.0.0.1' : host;
  if (isIP(address) === 0) return undefined;
  // a SIPS URI is reached over TLS (RFC 3261 §26.2.2), default port 5061
  const t = uri.scheme === 'sips' ? 'tls' : (uri.params.get('transport') ?? 'udp').toLowerCase();
  const transport: TransportName = (TRANSPORT_NAMES as readonly string[]).includes(t) ? (t as TransportName) : 'udp';
  // a WebSocket client is reached only over its own connection (RFC 7118 §5): the dialog's flow
  if (transport === 'ws' || transport === 'wss') return undefined;
  return { transport, address, port: uri.port ?? DEFAULT_PORT[transport] };
}
